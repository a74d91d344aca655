"""CSV as certdesk exports it: formula injection guarded, written a line at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from certificates.csv_format import BOM, csv_lines, safe_cell


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(dangerous: str) -> None:
    """= + - @ (and a tab or carriage return before one): prefixed with an apostrophe."""
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("acme.com", "acme.com"),
        ("Île-de-France", "Île-de-France"),
        ("a=b", "a=b"),
        (42, "42"),
        (None, ""),
        ("", ""),
    ],
)
def test_other_cells_are_written_as_they_are(value: object, written: str) -> None:
    assert safe_cell(value) == written


def test_lines_come_one_at_a_time_quoted_as_csv_with_a_bom_first() -> None:
    """The header carries the BOM (Excel then reads UTF-8); commas and quotes are quoted; a row
    is read from its source only when its line is asked for (a large export streams)."""
    read = []

    def rows() -> Iterator[list[str]]:
        for index in range(3):
            read.append(index)
            yield [f"row {index}", 'say "hi", then =bye', "=1"]

    lines = csv_lines(["Name", "Text", "Formula"], rows())
    assert next(lines) == BOM + "Name,Text,Formula\r\n"
    assert read == []
    assert next(lines) == 'row 0,"say ""hi"", then =bye",\'=1\r\n'
    assert read == [0]
    rest = list(lines)
    assert len(rest) == 2
    parsed = list(csv.reader(io.StringIO("".join(rest))))
    assert parsed[1] == ["row 2", 'say "hi", then =bye', "'=1"]
