"""CSV as certdesk exports it (the certificate list, the audit log): pure, no Django.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and some a
tab or carriage return before one): an exported subject, note or user name could then call out
or run a command on the reader's machine (CSV injection). Such a cell is written with a leading
apostrophe, which spreadsheets show as text. Rows are written one at a time, so a large export
streams instead of being held in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Excel reads a UTF-8 file correctly when it starts with a byte-order mark.
BOM = "\ufeff"


def safe_cell(value: object) -> str:
    """``value`` as CSV text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, one line at a time (the first with a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[object]) -> str:
        writer.writerow([safe_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield BOM + line(header)
    for row in rows:
        yield line(row)
