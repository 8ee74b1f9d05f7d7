"""Guardians: a link for each, and what the worker chose to share with them.

The worker is an adult and decides: nothing is shared until they choose a level, they can see
exactly what is shared, and they can stop at any time. Each guardian row belongs to one
worker, so a guardian can only ever hear about that worker, at the level the worker chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from tasks.errors import InvalidInput
from tasks.model import Worker
from tasks.schedule import next_local

SEND_AT = time(18, 0)  # summaries (and alerts) go out at this local time of the guardian
SUMMARY_WEEKDAY = 6  # Sunday: the weekly summary
MISSED_DAYS = 3  # an alert after this many scheduled working days missed in a row
LATE = timedelta(hours=12)  # a summary that could not go out on time still goes this late


class Share(StrEnum):
    """How much a worker shares with a guardian."""

    DAYS = "days"  # the days they worked (and a streak)
    AMOUNT = "amount"  # ... and how much: items done and time worked


class Every(StrEnum):
    WEEK = "week"
    DAY = "day"


@dataclass(frozen=True)
class Guardian:
    id: int
    worker_id: int
    name: str
    tg_user_id: int | None
    chat_id: int | None
    lang: str
    tz: str
    every: Every
    share: Share | None  # None: nothing is shared
    alerts: bool | None  # the worker agreed that missed days are told (None: not chosen)
    asked_at: datetime | None = None
    consent_at: datetime | None = None
    stopped_at: datetime | None = None
    unreachable_at: datetime | None = None
    next_at: datetime | None = None
    consent_seq: int = 0  # grows with each choice: buttons drawn before it are stale
    shared_since: datetime | None = None  # nothing from before this is shown

    @property
    def joined(self) -> bool:
        return self.tg_user_id is not None


class FamilyRepository(Protocol):
    async def worker(self, worker_id: int) -> Worker: ...
    async def worker_by_name(self, name: str) -> Worker | None: ...
    async def worker_by_tg(self, tg_user_id: int) -> Worker | None: ...
    async def guardian(self, guardian_id: int) -> Guardian | None: ...
    async def guardian_by_name(self, worker_id: int, name: str) -> Guardian | None: ...
    async def guardians_of(self, worker_id: int) -> list[Guardian]: ...
    async def guardians_by_tg(self, tg_user_id: int) -> list[Guardian]: ...
    async def create_guardian(
        self, worker_id: int, name: str, tz: str, every: Every, now: datetime
    ) -> Guardian: ...
    async def set_guardian_options(self, guardian_id: int, *, tz: str, every: Every) -> None: ...
    async def bind_guardian(
        self, guardian_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None: ...
    async def set_share(
        self, guardian_id: int, share: Share | None, alerts: bool | None, now: datetime
    ) -> None: ...
    async def set_asked(self, guardian_id: int, now: datetime) -> None: ...
    async def set_guardian_next(self, guardian_id: int, when: datetime | None) -> None: ...
    async def set_guardian_every(self, guardian_id: int, every: Every) -> None: ...


def next_send(guardian: Guardian, after: datetime) -> datetime:
    """The next local SEND_AT strictly after `after`, every day: alerts are looked at daily;
    a weekly guardian's summary goes on Sundays only."""
    return next_local(SEND_AT, guardian.tz, after)


def summary_due(guardian: Guardian, period: date) -> bool:
    """Whether the run of `period` (a local date of the guardian) brings a summary."""
    return guardian.every is Every.DAY or period.weekday() == SUMMARY_WEEKDAY


def period_days(every: Every, last: date) -> list[date]:
    """The local dates a summary covers: the week ending on `last`, or that day alone."""
    if every is Every.DAY:
        return [last]
    return [last - timedelta(days=n) for n in range(6, -1, -1)]


@dataclass(frozen=True)
class GuardianInvite:
    guardian: Guardian
    worker: Worker
    code: str
    replaces_phone: bool = False
    revoked: int = 0


def check_every(text: str) -> Every:
    try:
        return Every(text)
    except ValueError:
        raise InvalidInput(f'--every takes "week" or "day", not "{text}".') from None
