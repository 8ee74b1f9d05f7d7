"""The daily schedule as pure functions of `now`: working days, start times, local days, pace.

Times are stored in UTC; a worker's day, start and reminder are local to their time zone.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tasks.errors import InvalidInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KOREAN = ("월", "화", "수", "목", "금", "토", "일")
WEEKDAYS = frozenset(range(5))
DEFAULT_START = time(10, 0)
DEFAULT_TZ = "Asia/Seoul"
MAX_BATCH = 500
# A newcomer's pace, until they have answered enough for their own (UX.md: 20 in ~15 min).
DEFAULT_SECONDS_PER_ITEM = 45.0
PACE_SAMPLE = 50  # the worker's most recent answers that set their pace
PACE_MINIMUM = 10  # fewer answers than this: the default pace
# One answer's time counts between these bounds: a ☕ in the middle is not their pace.
_PACE_BOUNDS = (2.0, 300.0)


@dataclass(frozen=True)
class Schedule:
    days: frozenset[int]  # 0 = Monday
    start: time
    tz: str
    reminder: time | None = None


def _day(word: str) -> int:
    word = word.strip().lower()
    if not word:
        raise InvalidInput("A range of days needs a first and a last day, e.g. --days mon-fri.")
    for names in (DAY_NAMES, _FULL_NAMES, _KOREAN):
        if word in names:
            return names.index(word)
    if word.endswith("요일") and word[:-2] in _KOREAN:
        return _KOREAN.index(word[:-2])
    raise InvalidInput(
        f'"{word}" is not a day: use mon, tue, wed, thu, fri, sat, sun, e.g. --days mon-fri.'
    )


def parse_days(text: str) -> frozenset[int]:
    """ "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon" (wraps), "daily"."""
    words = text.strip().lower()
    if words in ("daily", "every day", "everyday", "all"):
        return frozenset(range(7))
    if words in ("weekdays",):
        return WEEKDAYS
    days: set[int] = set()
    for part in words.replace(" ", ",").split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
        else:
            days.add(_day(part))
    if not days:
        raise InvalidInput("Give at least one working day, e.g. --days mon-fri.")
    return frozenset(days)


def format_days(days: Iterable[int]) -> str:
    """The shortest way to say them: "mon-fri", "mon,wed,fri", "daily"."""
    ordered = sorted(set(days))
    if len(ordered) == 7:
        return "daily"
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" if len(r) > 2 else ",".join(DAY_NAMES[d] for d in r)
        for r in runs
    ]
    return ",".join(parts)


def encode_days(days: Iterable[int]) -> str:
    return ",".join(str(d) for d in sorted(set(days)))


def decode_days(text: str) -> frozenset[int]:
    return frozenset(int(d) for d in text.split(",") if d)


def parse_clock(text: str, option: str = "--at") -> time:
    """ "10:00", "9:30", "14:05"; not 25:00 or 10:60."""
    hours, sep, minutes = text.strip().partition(":")
    if (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2
            and int(hours) < 24 and int(minutes) < 60):
        return time(int(hours), int(minutes))
    raise InvalidInput(f'{option} "{text}" is not a time of day: use HH:MM from 00:00 to 23:59.')


def parse_reminder(text: str) -> time | None:
    if text.strip().lower() in ("off", "none", "no"):
        return None
    return parse_clock(text, "--reminder")


def format_clock(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else "off"


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f'"{name}" is not a time zone I know: use a name like Asia/Seoul or Europe/Berlin.'
        ) from None
    return name


def check_batch(size: int) -> int:
    if not 1 <= size <= MAX_BATCH:
        raise InvalidInput(f"A day's batch is 1 to {MAX_BATCH} items; got {size}.")
    return size


def check_reminder(schedule: Schedule) -> None:
    if schedule.reminder is not None and schedule.reminder <= schedule.start:
        raise InvalidInput(
            f"The reminder ({format_clock(schedule.reminder)}) must be later in the day than "
            f"the start ({format_clock(schedule.start)}), or off."
        )


def local_day(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def at(day: date, clock: time, tz: str) -> datetime:
    """The UTC instant of a local time on a local day."""
    return datetime.combine(day, clock, ZoneInfo(tz)).astimezone(UTC)


def day_end(day: date, tz: str) -> datetime:
    """When the local day is over (its next midnight), in UTC."""
    return at(day + timedelta(days=1), time(0, 0), tz)


def next_local(clock: time, tz: str, after: datetime) -> datetime:
    """The first local `clock` time strictly after `after` (today's, or tomorrow's)."""
    today = local_day(tz, after)
    when = at(today, clock, tz)
    return when if when > after else at(today + timedelta(days=1), clock, tz)


def next_start(schedule: Schedule, after: datetime, *, today_if_passed: bool) -> datetime | None:
    """The next batch's start: the first working day's start at or after `after`. With
    `today_if_passed`, today's start counts even if it has passed (the day is not over):
    a batch that was due while the bot was down goes out when it is back."""
    if not schedule.days:
        return None
    today = local_day(schedule.tz, after)
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        start = at(day, schedule.start, schedule.tz)
        if start >= after or (offset == 0 and today_if_passed):
            return start
    return None  # unreachable with at least one working day


def seconds_per_item(durations: Sequence[float]) -> float:
    """The worker's own pace: the median time from seeing an item to answering it."""
    if len(durations) < PACE_MINIMUM:
        return DEFAULT_SECONDS_PER_ITEM
    low, high = _PACE_BOUNDS
    return statistics.median(min(max(d, low), high) for d in durations)


def minutes_for(items: int, seconds: float = DEFAULT_SECONDS_PER_ITEM) -> int:
    """About how long a number of items takes, rounded to a friendly number of minutes."""
    minutes = items * seconds / 60
    return max(1, round(minutes / 5) * 5 if minutes >= 10 else round(minutes))
