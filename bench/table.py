"""The one table the bench prints: a row per figure, its reference, ratio, target and verdict."""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    what: str
    result: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: a figure without a target

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met else "NOT MET"


HEADER = ("measurement", "result", "reference", "ratio", "target", "met")


def markdown(rows: Sequence[Row]) -> str:
    """A Markdown table: readable in a terminal and pasted as is into docs/performance.md."""
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for row in rows:
        cells = (row.what, row.result, row.reference, row.ratio, row.target, row.verdict)
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def say(text: str = "") -> None:
    """Progress and results on stdout, flushed at once (the run takes minutes)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "n/a"


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds of one call, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def stopwatch(label: str) -> Iterator[None]:
    """Say how long a phase took, so a slow run shows where its time went."""
    start = time.perf_counter()
    say(f"… {label}")
    yield
    say(f"  done in {time.perf_counter() - start:.1f} s")
