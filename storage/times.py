"""How times are stored: UTC ISO-8601 text, which sorts and compares correctly as text."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
