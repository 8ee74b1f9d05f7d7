"""Hours worked, for hourly pay: honest time on the work, per worker and local day.

Time worked is read from moments of activity (an item shown, an answer given or changed, a
practice answer). Between two consecutive moments at most `IDLE` apart the worker was working,
and the whole gap counts; a longer gap counts nothing (they were away). A counted gap that
crosses local midnight is split between the two dates. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo

IDLE = timedelta(minutes=5)

_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class WorkerActivity:
    """One worker's activity moments in a span of time (what storage reads)."""

    worker_id: int
    name: str
    tz: str  # IANA zone name: the worker's local dates are read in it
    points: tuple[datetime, ...]  # every activity moment (aware), answers included
    answers: tuple[datetime, ...]  # when each real answer (not practice) was given


@dataclass(frozen=True)
class DayHours:
    """One row of the report: a worker's local day."""

    worker: str
    day: date
    worked: timedelta
    answers: int
    first: datetime | None  # first activity of the day, local time
    last: datetime | None  # last activity of the day, local time


@dataclass(frozen=True)
class WorkerHours:
    worker: str
    days: tuple[DayHours, ...]
    worked: timedelta
    answers: int


@dataclass(frozen=True)
class HoursReport:
    workers: tuple[WorkerHours, ...]  # only workers with activity in the range, by name
    worked: timedelta
    answers: int

    @property
    def rows(self) -> list[DayHours]:
        return [day for worker in self.workers for day in worker.days]


def _utc(points: Iterable[datetime]) -> list[datetime]:
    """Sorted, in UTC: aware datetimes in one zone compare and subtract by wall clock, which
    is wrong across a DST change; in UTC they are plain instants."""
    result = []
    for point in points:
        if point.tzinfo is None or point.utcoffset() is None:
            raise ValueError(f"activity moments must be aware datetimes, got {point!r}")
        result.append(point.astimezone(UTC))
    result.sort()
    return result


def _midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of a local date, in UTC. Where that midnight does not exist (clocks
    jump from 00:00 to 01:00), fold=0 puts it at the jump, which is that first instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


class _Calendar:
    """Local dates of UTC instants in one zone; the zone is consulted once per date, not per
    moment (a year of a worker's answers is hundreds of thousands of moments)."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._day = date.min
        self._start = self._end = datetime.min.replace(tzinfo=UTC)

    def day(self, moment: datetime) -> date:
        if not self._start <= moment < self._end:
            self._day = moment.astimezone(self.tz).date()
            self._start = _midnight(self._day, self.tz)
            self._end = _midnight(self._day + timedelta(days=1), self.tz)
        return self._day

    def end(self, moment: datetime) -> datetime:
        """The next local midnight after `moment` (in UTC)."""
        self.day(moment)
        return self._end


def _worked(moments: list[datetime], calendar: _Calendar, idle: timedelta,
            ) -> dict[date, timedelta]:
    """worked_per_day over moments already in UTC and in order."""
    worked: dict[date, timedelta] = {}
    for moment in moments:
        worked.setdefault(calendar.day(moment), timedelta(0))
    for start, end in pairwise(moments):
        if end - start > idle or end == start:
            continue
        cursor = start
        while cursor < end:  # more than once only when the gap crosses local midnight
            day = calendar.day(cursor)
            midnight = calendar.end(cursor)
            stop = end if midnight <= cursor or midnight >= end else midnight
            worked[day] = worked.get(day, timedelta(0)) + (stop - cursor)
            cursor = stop
    return dict(sorted(worked.items()))


def worked_per_day(
    points: Iterable[datetime], tz: tzinfo, idle: timedelta = IDLE
) -> dict[date, timedelta]:
    """Time worked per local date (in `tz`) from one worker's activity moments.

    Moments may come in any order and repeat. Each gap of at most `idle` between consecutive
    moments counts fully; a longer gap counts nothing. A counted gap crossing local midnight is
    split at that midnight. Every local date with a moment is in the result, with timedelta(0)
    when nothing on it was counted (one tap on a day still shows the day).
    """
    return _worked(_utc(points), _Calendar(tz), idle)


def hours_report(
    activity: Iterable[WorkerActivity], first_day: date, last_day: date, idle: timedelta = IDLE
) -> HoursReport:
    """Rows for every worker with activity on a local date from `first_day` to `last_day`
    (inclusive, each in the worker's own zone), by worker name then date, with totals.

    Give each worker's moments from a little before the first local midnight to a little after
    the last one (at least `idle` each side), so gaps across those midnights are counted.
    """
    workers = []
    for one in sorted(activity, key=lambda a: (a.name, a.worker_id)):
        tz = ZoneInfo(one.tz)
        calendar = _Calendar(tz)
        moments = _utc(one.points)
        worked = _worked(moments, calendar, idle)
        answers = Counter(calendar.day(moment) for moment in _utc(one.answers))
        first: dict[date, datetime] = {}
        last: dict[date, datetime] = {}
        for moment in moments:  # in time order, also through a repeated hour
            day = calendar.day(moment)
            first.setdefault(day, moment)
            last[day] = moment
        days = tuple(
            DayHours(
                worker=one.name, day=day, worked=spent, answers=answers.get(day, 0),
                first=first[day].astimezone(tz) if day in first else None,
                last=last[day].astimezone(tz) if day in last else None,
            )
            for day, spent in worked.items()
            if first_day <= day <= last_day
        )
        if days:
            workers.append(WorkerHours(
                worker=one.name, days=days, worked=sum((d.worked for d in days), timedelta(0)),
                answers=sum(d.answers for d in days),
            ))
    return HoursReport(
        workers=tuple(workers), worked=sum((w.worked for w in workers), timedelta(0)),
        answers=sum(w.answers for w in workers),
    )


def _micros(span: timedelta) -> int:
    value = span // timedelta(microseconds=1)
    if value < 0:
        raise ValueError(f"a time worked cannot be negative: {span}")
    return value


def whole_minutes(span: timedelta) -> int:
    """Minutes, rounded half up from the exact time (2 min 30 s is 3)."""
    return (_micros(span) + _US_PER_MINUTE // 2) // _US_PER_MINUTE


def format_clock(span: timedelta) -> str:
    """h:mm of the rounded minutes: 1 h 4 min 30 s is "1:05"."""
    hours, minutes = divmod(whole_minutes(span), 60)
    return f"{hours}:{minutes:02d}"


def format_hours(span: timedelta) -> str:
    """Decimal hours with 2 places, rounded half up from the exact time: 1:05 is "1.08"."""
    hundredths = (_micros(span) * 100 + _US_PER_HOUR // 2) // _US_PER_HOUR
    return f"{hundredths // 100}.{hundredths % 100:02d}"
