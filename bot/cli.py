"""The `haru` command: run the bot, and the coordinator's tools (projects, import, invites)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import cli_data, cli_demo, cli_export, cli_family, cli_quality, cli_reports
from bot.config import BOT_USERNAME_KEY, Config, ConfigError
from bot.progress import table
from storage.db import Database
from storage.errors import StorageError
from storage.repo import SqlItemSink, SqlRepo, Store
from tasks.errors import InvalidInput, NotFound, TaskError
from tasks.known import KnownSpec
from tasks.model import Role, Worker
from tasks.projects import DEFAULT_OVERLAP, project_spec
from tasks.schedule import (
    DEFAULT_START,
    DEFAULT_TZ,
    check_batch,
    check_zone,
    format_clock,
    format_days,
    parse_clock,
    parse_days,
    parse_reminder,
)
from tasks.workers import (
    INVITE_DAYS,
    KEEP,
    ScheduleChange,
    change_schedule,
    invite_coordinator,
    invite_worker,
    pause_worker,
    resume_worker,
)

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="haru",
        description="Haru: calm, paid data-labeling micro-tasks on Telegram.",
        epilog="The database is haru.db in this folder; set HARU_DB to use another file.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="start the bot (long polling); needs TELEGRAM_BOT_TOKEN")

    project = sub.add_parser("project", help="create and list projects")
    psub = project.add_subparsers(dest="project_command", required=True, metavar="ACTION")
    create = psub.add_parser("create", help="create a project")
    create.add_argument("name")
    create.add_argument("--question", required=True, help="the one question workers answer")
    create.add_argument(
        "--choice", action="append", default=[], required=True,
        help='an answer button: one emoji and one or two words, e.g. "🐶 Dog" (2 to 4 times)',
    )
    create.add_argument(
        "--overlap", type=int, default=DEFAULT_OVERLAP,
        help=f"how many different workers answer each item (default {DEFAULT_OVERLAP})",
    )
    psub.add_parser("list", help="list projects with their number of items")

    imp = sub.add_parser("import", help="add pictures or sentences to a project")
    imp.add_argument("project")
    imp.add_argument("path", type=Path, help="a folder or .zip of images, or a .csv / .jsonl")
    known = imp.add_mutually_exclusive_group()
    known.add_argument("--gold", action="store_true",
                       help="items with a known answer (column answer), hidden among real work")
    known.add_argument("--practice", action="store_true",
                       help="practice items with their answer and a short reason (columns "
                            "answer, reason; level 1-5 optional)")

    invite = sub.add_parser("invite", help="make an invite link")
    isub = invite.add_subparsers(dest="role", required=True, metavar="ROLE")
    worker = isub.add_parser(
        "worker", help="invite a worker to a project (schedule options set their defaults)"
    )
    worker.add_argument("name")
    worker.add_argument("--project", required=True)
    _valid_days(worker)
    _schedule_options(worker)
    coordinator = isub.add_parser("coordinator", help="invite a coordinator (job coach)")
    coordinator.add_argument("name")
    _valid_days(coordinator)

    workers = sub.add_parser("worker", help="workers' schedules: set, list, pause, resume")
    wsub = workers.add_subparsers(dest="worker_command", required=True, metavar="ACTION")
    wset = wsub.add_parser("set", help="set a worker's schedule (any of the options)")
    wset.add_argument("name")
    _schedule_options(wset)
    wsub.add_parser("list", help="every worker with their schedule and status")
    for action, words in (("pause", "no batches or reminders (holidays, sickness)"),
                          ("resume", "batches again from the next start time")):
        wsub.add_parser(action, help=words).add_argument("name")
    cli_quality.add_commands(sub, psub, wsub)
    cli_family.add_commands(sub, isub)
    cli_reports.add_commands(sub)
    cli_export.add_commands(sub)
    cli_data.add_commands(sub)
    cli_demo.add_commands(sub)
    return parser


def _valid_days(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--valid-days", type=int, default=INVITE_DAYS, metavar="N",
        help=f"how many days the link works (default {INVITE_DAYS})",
    )


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", help="working days, e.g. mon-fri or mon,wed,fri "
                        "(default mon-fri)")
    parser.add_argument("--at", help="local time the day's batch goes out, HH:MM "
                        f"(default {format_clock(DEFAULT_START)})")
    parser.add_argument("--batch", help="items a day, 1 to 500 (default 20)")
    parser.add_argument("--tz", help=f"time zone, e.g. Asia/Seoul (default {DEFAULT_TZ})")
    parser.add_argument("--reminder", help="one reminder at HH:MM if the day's work was not "
                        "started, or off (default off)")


def _schedule_change(args: argparse.Namespace) -> ScheduleChange:
    """The schedule options given, checked; any bad one is one clear line and no change."""
    days = args.days
    if days is not None and days.strip().isdigit():
        raise InvalidInput(
            f"--days takes working days such as mon-fri; for how long the link works, use "
            f"--valid-days {days.strip()}."
        )
    batch = None
    if args.batch is not None:
        text = args.batch.strip()
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+", text):  # "10,000": a number, with separators
            text = text.replace(",", "")
        if not re.fullmatch(r"-?\d+", text):
            raise InvalidInput(f'--batch "{args.batch}" is not a number of items (1 to 500).')
        batch = check_batch(int(text))
    return ScheduleChange(
        days=parse_days(days) if days is not None else None,
        start=parse_clock(args.at) if args.at is not None else None,
        tz=check_zone(args.tz) if args.tz is not None else None,
        batch=batch,
        reminder=parse_reminder(args.reminder) if args.reminder is not None else KEEP,
    )


async def _open(config: Config, *, create: bool) -> Store | None:
    """The database; None when it does not exist yet and this command must not create it."""
    if not create and not config.db_path.exists():
        return None
    return Store(await Database.open(config.db_path))


async def cmd_project_create(args: argparse.Namespace, config: Config) -> int:
    spec = project_spec(args.name, args.question, args.choice, args.overlap)
    store = await _open(config, create=True)
    assert store is not None
    try:
        async with store.uow() as repo:
            if await repo.project_by_name(spec.name) is not None:
                raise TaskError(f'A project called "{spec.name}" already exists.')
            await repo.create_project(
                spec.name, spec.question, spec.choices, spec.overlap, datetime.now(UTC)
            )
    finally:
        await store.db.close()
    print(f'Created project "{spec.name}": {spec.question}')
    print(f"Choices: {' | '.join(spec.choices)}; each item is answered by {spec.overlap} workers.")
    return 0


async def cmd_project_list(args: argparse.Namespace, config: Config) -> int:
    store = await _open(config, create=False)
    if store is None:
        print("No projects yet. Create one with `haru project create`.")
        return 0
    try:
        async with store.db.read() as conn:
            # Items are the real work, as in `haru status`; gold and practice come beside.
            cursor = await conn.execute(
                "SELECT p.name, p.question, p.overlap,"
                " count(i.id) FILTER (WHERE i.role = 'work'),"
                " count(i.id) FILTER (WHERE i.role = 'gold'),"
                " count(i.id) FILTER (WHERE i.role = 'practice') FROM projects p"
                " LEFT JOIN items i ON i.project_id = p.id GROUP BY p.id ORDER BY p.name"
            )
            rows = list(await cursor.fetchall())
    finally:
        await store.db.close()
    if not rows:
        print("No projects yet. Create one with `haru project create`.")
    for name, question, overlap, items, gold, practice in rows:
        known = f" (+{gold} gold, {practice} practice)" if gold or practice else ""
        print(f"{name}\t{items} items{known}\toverlap {overlap}\t{question}")
    return 0


def _no_project(name: str) -> NotFound:
    return NotFound(f'There is no project called "{name}". See `haru project list`.')


async def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from bot.progress import TerminalProgress, format_report
    from tasks.importing import check_kind, import_path

    store = await _open(config, create=False)
    if store is None:
        raise _no_project(args.project)
    try:
        async with store.reader() as repo:
            project = await repo.project_by_name(args.project)
            if project is None:
                raise _no_project(args.project)
            check_kind(project.name, await repo.item_kinds(project.id), args.path)
        role = Role.GOLD if args.gold else Role.PRACTICE if args.practice else None
        known = KnownSpec(role, project.choices, project.question) if role else None
        with TerminalProgress(sys.stderr) as progress:
            report = await import_path(
                SqlItemSink(store), project.id, args.path, progress=progress, known=known
            )
    finally:
        await store.db.close()
    print(format_report(report, project.name, role))
    return 0


async def _username(config: Config, repo: SqlRepo) -> str:
    username = config.bot_username or await repo.get_meta(BOT_USERNAME_KEY)
    if username is None:
        raise TaskError(
            "I don't know the bot's username yet: run `haru run` once, or set HARU_BOT_USERNAME."
        )
    return username


async def cmd_invite_worker(args: argparse.Namespace, config: Config) -> int:
    change = _schedule_change(args)
    store = await _open(config, create=False)
    if store is None:
        raise _no_project(args.project)
    try:
        async with store.uow() as repo:
            if await repo.project_by_name(args.project) is None:
                raise _no_project(args.project)
            username = await _username(config, repo)
            invite = await invite_worker(
                repo, args.name, args.project, datetime.now(UTC), args.valid_days, change
            )
    finally:
        await store.db.close()
    print(f"https://t.me/{username}?start={invite.code}")
    name = invite.worker.name
    notes = [f"For {name}: one use, valid for {args.valid_days} days. "
             f"Open it on {name}'s phone.", f"Schedule: {describe(invite.worker)}."]
    if invite.moved_from:
        notes.append(f'{name} moved from project "{invite.moved_from}" to "{args.project}".')
    if invite.replaces_phone:
        notes.append(f"{name} has joined before: the phone that opens this link replaces theirs.")
    if invite.revoked:
        notes.append(f"{name}'s earlier unused link no longer works.")
    print("\n".join(notes), file=sys.stderr)
    return 0


async def cmd_invite_coordinator(args: argparse.Namespace, config: Config) -> int:
    store = await _open(config, create=True)
    assert store is not None
    try:
        async with store.uow() as repo:
            username = await _username(config, repo)
            invite = await invite_coordinator(repo, args.name, datetime.now(UTC),
                                              args.valid_days)
    finally:
        await store.db.close()
    print(f"https://t.me/{username}?start={invite.code}")
    name = invite.coordinator.name
    notes = [f"For coordinator {name}: one use, valid for {args.valid_days} days.",
             "In Telegram they can send /workers, /pause NAME, /resume NAME, /review, /stats, "
             "/status and /invite worker NAME PROJECT, and send work as a file captioned "
             "/import PROJECT; they hear when a worker cannot be reached or asks for help, and "
             "get a daily digest at 18:00 (change it with `haru coordinator set`)."]
    if invite.replaces_phone:
        notes.append(f"{name} has joined before: the phone that opens this link replaces theirs.")
    print("\n".join(notes), file=sys.stderr)
    return 0


def describe(worker: Worker) -> str:
    """A worker's schedule in one line, for coordinators."""
    reminder = f"reminder {format_clock(worker.reminder_at)}" if worker.reminder_at else (
        "no reminder")
    return (f"{format_days(worker.days)} at {format_clock(worker.start_at)} {worker.tz}, "
            f"{worker.batch_size} a day, {reminder}")


def _when(worker: Worker) -> str:
    if worker.next_due_at is None:
        return "-"
    local = worker.next_due_at.astimezone(ZoneInfo(worker.tz))
    return local.strftime("%a %Y-%m-%d %H:%M")


def _status(worker: Worker) -> str:
    if worker.tg_user_id is None:
        return "invited, not joined"
    if worker.unreachable_at is not None:
        return "unreachable (blocked the bot)"
    return "paused" if worker.paused else "active"


async def _store(config: Config) -> Store:
    store = await _open(config, create=False)
    if store is None:
        raise NotFound("There are no workers yet. Invite one with `haru invite worker`.")
    return store


async def cmd_worker_set(args: argparse.Namespace, config: Config) -> int:
    change = _schedule_change(args)
    if change.empty:
        raise InvalidInput("Nothing to change: give --days, --at, --batch, --tz or --reminder.")
    store = await _store(config)
    try:
        async with store.uow() as repo:
            worker = await change_schedule(repo, args.name, change, datetime.now(UTC))
    finally:
        await store.db.close()
    print(f"{worker.name}: {describe(worker)}.")
    print(f"Next batch: {_when(worker)}" + ("" if worker.next_due_at else
                                            f" ({_status(worker)})."))
    return 0


async def cmd_worker_list(args: argparse.Namespace, config: Config) -> int:
    store = await _open(config, create=False)
    workers: list[Worker] = []
    projects: dict[int, str] = {}
    if store is not None:
        try:
            async with store.reader() as repo:
                for name in await repo.worker_names():
                    found = await repo.worker_by_name(name)
                    if found is not None:
                        workers.append(found)
                        projects[found.project_id] = (await repo.project(found.project_id)).name
        finally:
            await store.db.close()
    if not workers:
        print("No workers yet. Invite one with `haru invite worker NAME --project P`.")
        return 0
    header = ("NAME", "PROJECT", "DAYS", "AT", "TIME ZONE", "BATCH", "REMINDER", "STATUS",
              "NEXT BATCH (LOCAL)")
    rows = [(w.name, projects[w.project_id], format_days(w.days), format_clock(w.start_at),
             w.tz, str(w.batch_size), format_clock(w.reminder_at), _status(w), _when(w))
            for w in workers]
    print(table(header, rows))
    return 0


async def _switch(args: argparse.Namespace, config: Config,
                  change: Callable[..., Awaitable[tuple[Worker, bool]]]) -> tuple[Worker, bool]:
    store = await _store(config)
    try:
        async with store.uow() as repo:
            return await change(repo, args.name, datetime.now(UTC))
    finally:
        await store.db.close()


async def cmd_worker_pause(args: argparse.Namespace, config: Config) -> int:
    worker, changed = await _switch(args, config, pause_worker)
    if changed:
        print(f"Paused {worker.name}: no batches and no reminders until "
              f"`haru worker resume {worker.name}`.")
    else:
        print(f"{worker.name} is already paused.")
    return 0


async def cmd_worker_resume(args: argparse.Namespace, config: Config) -> int:
    worker, changed = await _switch(args, config, resume_worker)
    if not changed:
        print(f"{worker.name} is not paused.")
    elif worker.next_due_at is None:
        print(f"Resumed {worker.name} ({_status(worker)}).")
    else:
        print(f"Resumed {worker.name}: next batch {_when(worker)} ({worker.tz}).")
    return 0


def cmd_run(config: Config) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.app import build_application
    from bot.config import setup_logging

    token = config.require_token()
    setup_logging(token)
    app = build_application(config)
    logging.getLogger("haru").info(
        "Connecting to the Bot API at %s (retrying until it answers; Ctrl-C stops)",
        config.api_url,
    )
    try:
        # Telegram out of reach at start (a reboot, a flaky link): keep trying, as a service
        # should; a token Telegram refuses is not retried.
        app.run_polling(allowed_updates=["message", "callback_query"], bootstrap_retries=-1)
    except InvalidToken:
        raise ConfigError(
            "Telegram did not accept TELEGRAM_BOT_TOKEN: check the token from @BotFather."
        ) from None
    except NetworkError as exc:
        raise ConfigError(f"Cannot reach the Bot API at {config.api_url}: {exc}") from None
    return 0


_COMMANDS: dict[tuple[str, ...], Command] = {
    ("project", "create"): cmd_project_create,
    ("project", "list"): cmd_project_list,
    ("import",): cmd_import,
    ("invite", "worker"): cmd_invite_worker,
    ("invite", "coordinator"): cmd_invite_coordinator,
    ("worker", "set"): cmd_worker_set,
    ("worker", "list"): cmd_worker_list,
    ("worker", "pause"): cmd_worker_pause,
    ("worker", "resume"): cmd_worker_resume,
    **cli_quality.COMMANDS,  # type: ignore[dict-item]
    **cli_family.COMMANDS,
    **cli_reports.COMMANDS,
    **cli_export.COMMANDS,
    **cli_data.COMMANDS,
    **cli_demo.COMMANDS,
}


# The subcommands' `dest` names: the second word of a two-word command.
_ACTIONS = ("project_command", "role", "worker_command", "guardian_command", "summary_command",
            "coordinator_command", "report_command")


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, systemd) during a command: handled like Ctrl-C."""


@contextlib.contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """A plain `kill` unwinds like Ctrl-C, so every `finally` runs: an export, a backup or a
    report removes its temporary file instead of leaving it behind. (`haru run` has its own
    handling: python-telegram-bot stops cleanly on SIGTERM.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (tests call main from others)
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = Config.from_env()
        if args.command == "run":
            return cmd_run(config)
        key = tuple(
            v for v in (args.command, *(getattr(args, name, None) for name in _ACTIONS))
            if v
        )
        with _terminated_as_interrupt():
            return asyncio.run(_COMMANDS[key](args, config))
    except (ConfigError, TaskError, StorageError) as exc:
        print(f"haru: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
