"""`haru status` and `haru backup`: where the work stands, and a safe copy of the database.

    haru status [PROJECT]
    haru backup PATH [--force]

"Today" in `haru status` is each worker's own day, from midnight in their time zone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.progress import table
from storage.backup import SIDE_FILES, TargetExists, backup
from storage.db import Database
from storage.repo import Store
from storage.status import ItemCounts, ProjectStatus, WorkerToday, total
from tasks.errors import InvalidInput, NotFound, TaskError

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]

HEADER = ("PROJECT", "ITEMS", "FINISHED", "DROPPED", "IN REVIEW", "OPEN", "DONE",
          "ANSWERS TODAY", "ACTIVE TODAY", "WORKERS")
NO_DATABASE = "No projects yet (there is no database at {path}). Create one with " \
              "`haru project create`."


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = sub.add_parser(
        "status", help="each project's progress, today's answers and workers",
        description="Per project: items finished, dropped, in review and open, answers today "
                    "and the workers who answered today (each in their own time zone's day).",
    )
    status.add_argument("project", nargs="?", help="only this project, with its workers")
    backup_parser = sub.add_parser(
        "backup", help="a consistent copy of the database, also while the bot runs",
        description="Copy the database (pictures included) as of one moment, check the copy "
                    "and put it in place whole. The bot can keep running.",
    )
    backup_parser.add_argument("path", type=Path, help="the file to write, e.g. "
                               "backups/haru-2026-11-23.db")
    backup_parser.add_argument("--force", action="store_true",
                               help="write over an existing file")


# --- haru status ---------------------------------------------------------------------------


def number(value: int) -> str:
    return f"{value:,}"


def percent(counts: ItemCounts) -> str:
    share = counts.percent_done
    return "-" if share is None else f"{share}%"


def ago(delta: timedelta) -> str:
    """How long, in the largest whole unit: "3 days", "5 hours", "12 minutes"."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def _row(name: str, counts: ItemCounts, answers: int, active: int, workers: int
         ) -> tuple[str, ...]:
    return (name, number(counts.items), number(counts.finished), number(counts.dropped),
            number(counts.review), number(counts.open), percent(counts), number(answers),
            number(active), number(workers))


def right_aligned(header: tuple[str, ...], rows: list[tuple[str, ...]],
                  first: int = 1) -> list[tuple[str, ...]]:
    """Numbers line up on the right: columns from `first` on, padded to the column's width
    (ASCII digits only, so padding by characters is exact)."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [tuple(cell.rjust(widths[i]) if i >= first else cell for i, cell in enumerate(row))
            for row in rows]


def status_table(projects: list[ProjectStatus], *, totals: bool = True) -> str:
    rows = [_row(p.name, p.counts, p.answers_today, p.active_today, p.workers)
            for p in projects]
    if totals and len(projects) > 1:
        rows.append(_row("total", total(projects), sum(p.answers_today for p in projects),
                         sum(p.active_today for p in projects),
                         sum(p.workers for p in projects)))
    return table(HEADER, right_aligned(HEADER, rows))


def review_line(projects: list[ProjectStatus], now: datetime) -> str:
    waiting = sum(p.counts.review for p in projects)
    if not waiting:
        return "Review queue: empty."
    oldest = min((p.review_since for p in projects if p.review_since is not None),
                 default=None)
    line = f"Review queue: {number(waiting)} item{'s' if waiting != 1 else ''} (/review in " \
           "Telegram)"
    if oldest is None:
        return line + "."
    local = oldest.astimezone()  # the server's time zone
    return (f"{line}; the oldest has waited since {local:%Y-%m-%d %H:%M %Z} "
            f"({ago(now - oldest)}).")


def worker_table(workers: list[WorkerToday]) -> str:
    rows = []
    for w in workers:
        joined = ("yes (blocked the bot)" if w.unreachable else "yes") if w.joined else "no"
        today = number(w.answers_today)
        if w.practice_today:
            today += f" (+{number(w.practice_today)} practice)"
        rows.append((w.name, joined, today, "yes" if w.paused else "no"))
    return table(("WORKER", "JOINED", "ANSWERED TODAY", "PAUSED"), rows)


def _no_project(name: str, names: list[str]) -> NotFound:
    known = ", ".join(names) if names else "none yet (`haru project create`)"
    return NotFound(f'There is no project called "{name}". Projects: {known}.')


async def cmd_status(args: argparse.Namespace, config: Config) -> int:
    if not config.db_path.exists():
        if args.project is not None:
            raise _no_project(args.project, [])
        print(NO_DATABASE.format(path=config.db_path))
        return 0
    now = datetime.now(UTC)
    store = Store(await Database.open(config.db_path))
    try:
        async with store.reader() as repo:
            projects = await repo.project_status(now)
            chosen = [p for p in projects if p.name == args.project]
            if args.project is not None and not chosen:
                raise _no_project(args.project, [p.name for p in projects])
            workers = await repo.workers_today(chosen[0].id, now) if chosen else []
    finally:
        await store.db.close()
    if not projects:
        print("No projects yet. Create one with `haru project create`.")
        return 0
    shown = chosen or projects
    print(status_table(shown))
    print(review_line(shown, now))
    print("Today is each worker's own day, from midnight in their time zone; active today: "
          "answered at least once (practice counts).")
    if chosen:
        print()
        if workers:
            print(worker_table(workers))
        else:
            print(f"No workers on {chosen[0].name} yet. Invite one with "
                  f"`haru invite worker NAME --project {chosen[0].name}`.")
    return 0


# --- haru backup ---------------------------------------------------------------------------


def size_text(size: int) -> str:
    if size >= 2**30:
        return f"{size / 2**30:,.1f} GB"
    if size >= 2**20:
        return f"{size / 2**20:,.1f} MB"
    return f"{max(1, round(size / 2**10)):,} KB"


def _is_database(path: Path, database: Path) -> bool:
    """The database itself, or one of its -wal/-shm/-journal files, by any name."""
    own = [database.resolve(), *(database.resolve().with_name(database.resolve().name + s)
                                 for s in SIDE_FILES)]
    if path.resolve() in own:
        return True
    return path.exists() and database.exists() and path.samefile(database)


def check_target(path: Path, database: Path, force: bool) -> None:
    """Refuse a place before anything is written, so a refusal leaves nothing behind."""
    if not database.exists():
        raise NotFound(f"There is no database at {database}: nothing to back up. (Set HARU_DB "
                       "if it is somewhere else.)")
    try:
        if path.is_dir():
            raise InvalidInput(f"{path} is a folder: give a file name, e.g. "
                               f"{path / 'haru-backup.db'}.")
        if not path.parent.is_dir():
            raise InvalidInput(f"Cannot write {path}: the folder {path.parent} does not exist.")
        if _is_database(path, database):
            raise InvalidInput(f"{path} is the database itself: back it up to another file.")
        if (path.exists() or path.is_symlink()) and not force:
            raise InvalidInput(f"{path} already exists: add --force to write over it.")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise TaskError(f"Cannot write {path}: no permission to write in {path.parent}.")
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None


async def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    database, path = config.db_path, args.path
    check_target(path, database, args.force)
    try:
        report = await asyncio.to_thread(backup, database, path, force=args.force)
    except TargetExists as exc:
        raise InvalidInput(str(exc)) from None
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None
    print(f"Backed up {database} to {path}: {size_text(report.bytes)}, integrity check ok.")
    print(f"It holds {number(report.projects)} projects, {number(report.items)} items and "
          f"{number(report.answers)} answers.")
    return 0


COMMANDS: dict[tuple[str, ...], Command] = {
    ("status",): cmd_status,
    ("backup",): cmd_backup,
}
