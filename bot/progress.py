"""What the terminal shows: `haru import`'s progress and summary, and plain tables."""

from __future__ import annotations

import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TextIO

from tasks.importing import ImportReport


class TerminalProgress:
    """A progress callback `(done, total)` for the terminal.

    On a TTY it redraws one bar in place, at most ~10 times a second. Anywhere else (a log file,
    cron mail) it writes a plain line at each 10% step, and nothing for fewer than 100 files, so
    logs stay short. Use it as a context manager so an aborted import still ends the bar's line.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        label: str = "Importing",
        width: int = 20,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._width = width
        self._interval = interval
        self._clock = clock
        self._tty = _is_tty(self._stream)
        self._last_draw: float | None = None
        self._last_step = 0
        self._line_open = False

    def __call__(self, done: int, total: int) -> None:
        if self._tty:
            self._draw(done, total)
        else:
            self._log(done, total)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line, so whatever is printed next starts on a line of its own."""
        if self._line_open:
            self._stream.write("\n")
            self._stream.flush()
            self._line_open = False

    def _draw(self, done: int, total: int) -> None:
        now = self._clock()
        finished = done >= total
        recent = self._last_draw is not None and now - self._last_draw < self._interval
        if recent and not finished:
            return
        self._last_draw = now
        filled = self._width * done // total if total else self._width
        bar = "#" * filled + "." * (self._width - filled)
        count = f"{done:>{len(str(total))}}/{total}"
        self._stream.write(f"\r{self._label}  [{bar}]  {count}")
        self._line_open = True
        if finished:
            self.close()
        else:
            self._stream.flush()

    def _log(self, done: int, total: int) -> None:
        if total < 100:
            return
        step = 10 * done // total
        if step > self._last_step:
            self._last_step = step
            self._stream.write(f"{self._label}: {done}/{total} ({10 * step}%)\n")
            self._stream.flush()


def format_report(report: ImportReport, project_name: str, role: str | None = None) -> str:
    """The summary every import ends with; the "Rejected:" line is always there for scripts."""
    noun = "item" if report.imported == 1 else "items"
    what = f"{role} {noun}" if role else noun
    lines = [
        f'Imported {report.imported} {what} into "{project_name}".',
        f"Duplicates skipped: {report.duplicates}",
        f"Rejected: {len(report.rejected)}",
    ]
    lines += [f"  - {r.source}: {r.reason}" for r in report.rejected]
    return "\n".join(lines)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream without a terminal
        return False


def _width(text: str) -> int:
    """Columns a string takes in a terminal: Korean and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain, aligned text table for the terminal."""
    widths = [max(_width(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
