"""What every benchmark section returns: figures with their floor, ratio, goal and verdict."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured figure. `floor` is measured in the same run, in the same unit, and
    `ratio` is how the goal reads it (value / floor unless the section says otherwise)."""

    name: str
    value: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    goal: str = ""  # e.g. "ratio <= 1.5"
    ok: bool | None = None  # None: reported, no goal

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else ("met" if self.ok else "MISSED")


@dataclass
class Section:
    key: str  # "tap", "calls", ...
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed below the table (query plans, ...)
    seconds: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        figures = [Figure(**f) for f in data.pop("figures")]
        return cls(figures=figures, **data)


def at_most(value: float, floor: float, limit: float) -> tuple[float, bool]:
    """(value / floor, whether that is <= limit)."""
    ratio = value / floor if floor else float("inf")
    return ratio, ratio <= limit


def at_least(value: float, floor: float, limit: float) -> tuple[float, bool]:
    """(value / floor, whether that is >= limit)."""
    ratio = value / floor if floor else 0.0
    return ratio, ratio >= limit


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import telegram

    return {
        "cpus": str(os.cpu_count()), "cpu": cpu, "platform": platform.platform(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "python-telegram-bot": telegram.__version__,
    }
