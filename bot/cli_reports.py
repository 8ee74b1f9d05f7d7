"""`haru report` commands: what coordinators need for pay.

    haru report hours --from DATE --to DATE [--worker NAME] [--csv PATH] [--force]

Hours worked per worker and local day, from their activity (review.hours): gaps of more than
5 minutes between two moments of activity count nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Config
from bot.progress import table
from review.hours import (
    IDLE,
    DayHours,
    HoursReport,
    WorkerActivity,
    format_clock,
    format_hours,
    hours_report,
    whole_minutes,
)
from storage.db import Database
from storage.files import put_in_place, temp_beside
from storage.hours import activity
from storage.repo import Store
from tasks.errors import InvalidInput, NotFound, TaskError

MAX_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Zones run from UTC-12 to UTC+14: two days either side hold every worker's local dates, and
# the moments just past their first and last midnight.
_MARGIN = timedelta(days=2)
CSV_HEADER = ("worker", "date", "minutes", "hours", "answers", "first", "last")

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="reports for coordinators: hours worked")
    rsub = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    hours = rsub.add_parser(
        "hours", help="time worked per worker and local day, for hourly pay",
        description="Time worked per worker and day, in each worker's own time zone. A gap of "
                    f"more than {whole_minutes(IDLE)} minutes between two moments of activity "
                    "(an item shown, an answer, a change, practice) counts as away.",
    )
    hours.add_argument("--from", dest="first", required=True, metavar="DATE",
                       help="first day, YYYY-MM-DD (each worker's local date)")
    hours.add_argument("--to", dest="last", required=True, metavar="DATE",
                       help="last day, YYYY-MM-DD, included")
    hours.add_argument("--worker", metavar="NAME", help="only this worker")
    hours.add_argument("--csv", type=Path, metavar="PATH",
                       help="also write worker,date,minutes,hours,answers,first,last")
    hours.add_argument("--force", action="store_true", help="write over an existing --csv file")


def _date(option: str, text: str) -> date:
    if not _DATE.match(text.strip()):
        raise InvalidInput(f'{option} "{text}" is not a date: use YYYY-MM-DD, e.g. 2026-11-23.')
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f'{option} "{text}" is not a real date.') from None


def _range(args: argparse.Namespace) -> tuple[date, date, datetime, datetime]:
    """The local dates asked for, and a span of UTC time that holds them in every zone."""
    first, last = _date("--from", args.first), _date("--to", args.last)
    if first > last:
        raise InvalidInput(f"--from {first} is after --to {last}.")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(f"From {first} to {last} is {days} days; a report covers at most "
                           f"{MAX_DAYS}.")
    try:
        since = datetime.combine(first, time(0), tzinfo=UTC) - _MARGIN
        until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC) + _MARGIN
    except OverflowError:
        raise InvalidInput(f"From {first} to {last} is out of the calendar's range.") from None
    return first, last, since, until


def _check_target(path: Path, force: bool, database: Path) -> None:
    """Refuse a --csv place before anything is read, so a refusal leaves nothing behind."""
    try:
        if path.is_dir():
            raise InvalidInput(f"--csv {path} is a folder: give a file name, "
                               f"e.g. {path / 'hours.csv'}.")
        if not path.parent.is_dir():
            raise InvalidInput(f"--csv {path}: the folder {path.parent} does not exist.")
        if path.exists() and database.exists() and path.samefile(database):
            raise InvalidInput(f"--csv {path} is the database itself: write the report "
                               "somewhere else.")
        if (path.exists() or path.is_symlink()) and not force:
            raise InvalidInput(f"--csv {path} already exists: add --force to write over it.")
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%H:%M") if moment is not None else ""


def _csv_row(day: DayHours) -> tuple[str, ...]:
    return (day.worker, day.day.isoformat(), str(whole_minutes(day.worked)),
            format_hours(day.worked), str(day.answers), _clock(day.first), _clock(day.last))


def write_csv(path: Path, rows: list[DayHours], *, force: bool) -> None:
    """The rows as CSV (UTF-8), whole or not at all: a temporary file beside it, renamed."""
    try:
        temp, descriptor = temp_beside(path)
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(_csv_row(day) for day in rows)
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not land before the data
        put_in_place(temp, path, force=force)
    except FileExistsError:
        raise InvalidInput(f"--csv {path} already exists: add --force to write over it.") from None
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):  # gone already once renamed into place
            temp.unlink(missing_ok=True)


def _check_zones(found: list[WorkerActivity]) -> None:
    for one in found:
        try:
            ZoneInfo(one.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise TaskError(f'{one.name}\'s time zone "{one.tz}" is not one I know: set it with '
                            f"`haru worker set {one.name} --tz Asia/Seoul` (or theirs).") from None


def _table(report: HoursReport) -> str:
    header = ("WORKER", "DATE", "WORKED", "HOURS", "ANSWERS", "FIRST", "LAST")
    rows: list[tuple[str, ...]] = []
    for worker in report.workers:
        rows += [(d.worker, d.day.isoformat(), format_clock(d.worked), format_hours(d.worked),
                  str(d.answers), _clock(d.first), _clock(d.last)) for d in worker.days]
        rows.append((worker.worker, "total", format_clock(worker.worked),
                     format_hours(worker.worked), str(worker.answers), "", ""))
    rows.append(("all workers", "total", format_clock(report.worked), format_hours(report.worked),
                 str(report.answers), "", ""))
    return table(header, rows)


async def cmd_report_hours(args: argparse.Namespace, config: Config) -> int:
    first, last, since, until = _range(args)
    if args.csv is not None:
        _check_target(args.csv, args.force, config.db_path)
    if not config.db_path.exists():
        raise NotFound("There are no workers yet. Invite one with `haru invite worker`.")
    store = Store(await Database.open(config.db_path))
    try:
        async with store.reader() as repo:
            worker = None
            if args.worker is not None:
                worker = await repo.worker_by_name(args.worker)
                if worker is None:
                    raise NotFound(f'There is no worker called "{args.worker}". '
                                   "See `haru worker list`.")
            elif not await repo.worker_names():
                raise NotFound("There are no workers yet. Invite one with `haru invite worker`.")
            found = await activity(repo.conn, since, until,
                                   worker.id if worker is not None else None)
    finally:
        await store.db.close()
    _check_zones(found)
    report = hours_report(found, first, last)
    span = f"{first}" if first == last else f"{first} to {last}"
    if not report.workers:
        who = f"{worker.name} did not work" if worker is not None else "Nobody worked"
        if args.csv is not None:
            write_csv(args.csv, [], force=args.force)
            print(f"{who} on {span}; {args.csv} has the header only.")
        else:
            print(f"{who} on {span}.")
        return 0
    if args.csv is not None:
        write_csv(args.csv, report.rows, force=args.force)
    print(f"Hours worked, {span} (each worker's local dates; a gap of more than "
          f"{whole_minutes(IDLE)} minutes between two moments of activity counts as away):")
    print(_table(report))
    if args.csv is not None:
        print(f"Wrote {len(report.rows)} rows to {args.csv}.")
    return 0


COMMANDS: dict[tuple[str, ...], Command] = {
    ("report", "hours"): cmd_report_hours,
}
