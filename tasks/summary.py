"""What a guardian hears: a summary of effort, at the level the worker chose, and alerts.

Only what the level allows is ever put into a `Summary`: at `Share.DAYS` it holds the days
worked and a streak, nothing about how much; at `Share.AMOUNT` also items done and minutes.
Never accuracy, speed, mistakes or comparisons: the words are drawn from these fields alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from review.hours import worked_per_day
from tasks.family import (
    LATE,
    MISSED_DAYS,
    SEND_AT,
    SUMMARY_WEEKDAY,
    Every,
    Guardian,
    Share,
    period_days,
    summary_due,
)
from tasks.model import ItemKind, Worker
from tasks.schedule import local_day

STREAK_LOOKBACK = 60  # days looked back for a streak
JUST_NOW = timedelta(seconds=1)  # an answer given this very moment counts too
CHEERS = 4  # encouragement lines in the catalogs: cheer_0 .. cheer_3


@dataclass(frozen=True)
class Day:
    """One local day of a worker."""

    day: date
    items: int = 0  # answers given (real work and practice)
    worked: timedelta = timedelta(0)  # time worked, idle gaps left out


@dataclass(frozen=True)
class Summary:
    worker: str
    every: Every
    share: Share
    days: tuple[date, ...]  # the period, oldest first (7 days, or 1 for a daily summary)
    worked_days: int  # in the period
    streak: int  # scheduled working days worked in a row, up to the period's end
    cheer: int  # which encouragement line
    week: tuple[date, ...]  # the chart's 7 days, ending with the period
    week_worked: tuple[bool, ...]
    kind: ItemKind | None = None  # what the items are (pictures, sentences)
    items: int | None = None  # AMOUNT only: in the period
    minutes: int | None = None  # AMOUNT only: in the period
    week_items: tuple[int, ...] | None = None  # AMOUNT only: per day of the chart

    @property
    def rested(self) -> bool:
        return self.worked_days == 0


def _minutes(worked: timedelta, items: int) -> int:
    minutes = round(worked.total_seconds() / 60)
    return max(minutes, 1) if items else minutes  # some work is never "0 minutes"


def streak(worker: Worker, active: set[date], last: date) -> int:
    """Working days (of the worker's schedule) worked in a row, ending at `last`. A day off
    does not break it, and neither does `last` itself when it is a working day not yet
    worked (the day is not over). Days off that were worked count too."""
    count, day = 0, last
    for _ in range(STREAK_LOOKBACK):
        if day in active:
            count += 1
        elif day.weekday() in worker.days and day != last:
            break
        day -= timedelta(days=1)
    return count


def build_summary(worker: Worker, share: Share, every: Every, last: date,
                  days: Mapping[date, Day], kind: ItemKind | None = None) -> Summary:
    """The summary of the period ending on `last`, from the worker's days (earlier ones in
    `days` only count for the streak)."""

    def of(day: date) -> Day:
        return days.get(day, Day(day))

    period = tuple(period_days(every, last))
    week = tuple(period_days(Every.WEEK, last))
    active = {d for d, a in days.items() if a.items > 0}
    digest = hashlib.sha256(f"{worker.id}:{last.isoformat()}".encode()).digest()
    summary = Summary(
        worker=worker.name, every=every, share=share, days=period,
        worked_days=sum(of(d).items > 0 for d in period), streak=streak(worker, active, last),
        cheer=digest[0] % CHEERS, week=week, week_worked=tuple(of(d).items > 0 for d in week),
    )
    if share is Share.DAYS:
        return summary
    items = sum(of(d).items for d in period)
    time = sum((of(d).worked for d in period), timedelta(0))
    return replace(summary, kind=kind, items=items, minutes=_minutes(time, items),
                   week_items=tuple(of(d).items for d in week))


def missed_run(worker: Worker, active: set[date], today: date, since: date) -> list[date]:
    """The scheduled working days missed in a row just before `today` (which is not over),
    not counting days before `since`; oldest first."""
    missed: list[date] = []
    day = today - timedelta(days=1)
    while day >= since and len(missed) < STREAK_LOOKBACK:
        if day in active:
            break
        if day.weekday() in worker.days:
            missed.append(day)
        day -= timedelta(days=1)
    return missed[::-1]


@dataclass(frozen=True)
class Outgoing:
    """One message owed to a guardian."""

    kind: str  # "summary" or "alert"
    guardian: Guardian
    period: str  # the local date it is about: the summary's last day, or the first missed
    summary: Summary | None = None
    missed: int = 0  # for an alert: working days missed in a row


class SummaryRepository(Protocol):
    async def worker(self, worker_id: int) -> Worker: ...
    async def answer_times(
        self, worker_id: int, since: datetime, until: datetime
    ) -> list[datetime]: ...
    async def activity_points(
        self, worker_id: int, since: datetime, until: datetime
    ) -> list[datetime]: ...
    async def project_kind(self, project_id: int) -> ItemKind | None: ...
    async def sent_periods(self, kind: str, guardian_id: int) -> set[str]: ...


def days_of(times: Iterable[datetime], tz: str, worked: Mapping[date, timedelta]) -> dict[
        date, Day]:
    """Answers per local day, with the time worked per day."""
    counts: dict[date, int] = {}
    for moment in times:
        day = local_day(tz, moment)
        counts[day] = counts.get(day, 0) + 1
    return {d: Day(d, n, worked.get(d, timedelta(0))) for d, n in counts.items()}


async def activity(repo: SummaryRepository, worker: Worker, until: datetime,
                   since: datetime | None = None) -> dict[date, Day]:
    """The worker's days up to `until`: from `since` (when sharing started: nothing before it
    is ever shown), and no further back than a streak needs."""
    start = until - timedelta(days=STREAK_LOOKBACK + 1)
    if since is not None:
        start = max(start, since)
    times = await repo.answer_times(worker.id, start, until)
    points = await repo.activity_points(worker.id, start, until)
    return days_of(times, worker.tz, worked_per_day(points, ZoneInfo(worker.tz)))


def period_end(guardian: Guardian, worker: Worker, when: datetime, *, due: bool) -> date:
    """The last day (the worker's local date) a summary covers.

    When one is due, it is the worker's day at that moment if their day has reached SEND_AT,
    else their day before (a guardian far ahead of the worker, e.g. in Seoul for a worker in
    New York, hears about the worker's finished day, not one that has not begun). Otherwise
    (the 👀 view, a preview) a weekly summary covers this Monday-to-Sunday week so far.
    """
    local = when.astimezone(ZoneInfo(worker.tz))
    day = local.date()
    if due:
        return day - timedelta(days=1) if local.time() < SEND_AT else day
    if guardian.every is Every.WEEK:
        day += timedelta(days=SUMMARY_WEEKDAY - day.weekday())
    return day


async def summary_for(repo: SummaryRepository, guardian: Guardian, when: datetime,
                      share: Share | None = None, *, due: bool = False,
                      now: datetime | None = None) -> Summary:
    """The summary this guardian gets (`due`: the one due at `when`), or would get if it
    were sent at `when`; at the worker's level, or at `share` for a preview. Only activity
    since the worker started sharing counts (a preview of a guardian who gets nothing yet
    shows everything, for the coordinator's eyes only)."""
    level = share or guardian.share
    assert level is not None
    worker = await repo.worker(guardian.worker_id)
    until = (now or when) + JUST_NOW
    days = await activity(repo, worker, until, guardian.shared_since)
    last = period_end(guardian, worker, when, due=due)
    kind = await repo.project_kind(worker.project_id)
    return build_summary(worker, level, guardian.every, last, days, kind)


def watched_since(guardian: Guardian, worker: Worker) -> datetime | None:
    """From when missed days count: sharing started, and the worker was not paused."""
    starts = [t for t in (guardian.shared_since, worker.resumed_at) if t is not None]
    return max(starts) if starts else None


def first_watched_day(worker: Worker, start: datetime) -> date:
    """The first day that can count as missed: the start's own day only if it began before
    the worker's start time."""
    local = start.astimezone(ZoneInfo(worker.tz))
    return local.date() + timedelta(days=int(local.time() > worker.start_at))


async def owed(repo: SummaryRepository, guardian: Guardian, due: datetime,
               now: datetime) -> list[Outgoing]:
    """What the run due at `due` owes the guardian: an alert (if the worker agreed and a new
    run of missed days reached MISSED_DAYS) and a summary (if one is due that day). Nothing
    when the worker shares nothing, or the run is too late to still make sense."""
    if guardian.share is None or guardian.chat_id is None or now - due > LATE:
        return []
    period = local_day(guardian.tz, due)
    out: list[Outgoing] = []
    worker = await repo.worker(guardian.worker_id)
    start = watched_since(guardian, worker)
    if guardian.alerts and not worker.paused and start is not None:
        days = await activity(repo, worker, now + JUST_NOW, start)
        today = local_day(worker.tz, now)
        run = missed_run(worker, set(days), today, first_watched_day(worker, start))
        if len(run) >= MISSED_DAYS:
            first = run[0].isoformat()
            if first not in await repo.sent_periods("alert", guardian.id):
                out.append(Outgoing("alert", guardian, first, missed=len(run)))
    if summary_due(guardian, period):
        summary = await summary_for(repo, guardian, due, due=True, now=now)
        out.append(Outgoing("summary", guardian, period.isoformat(), summary))
    return out
