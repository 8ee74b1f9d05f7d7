"""The `haru` command: run the bot, and the coordinator's tools (projects, import, invites)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import BOT_USERNAME_KEY, Config, ConfigError
from storage.db import Database
from storage.errors import StorageError
from storage.repo import SqlItemSink, Store
from tasks.errors import NotFound, TaskError
from tasks.projects import DEFAULT_OVERLAP, project_spec
from tasks.workers import INVITE_DAYS, invite_worker

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

    invite = sub.add_parser("invite", help="make an invite link")
    isub = invite.add_subparsers(dest="role", required=True, metavar="ROLE")
    worker = isub.add_parser("worker", help="invite a worker to a project")
    worker.add_argument("name")
    worker.add_argument("--project", required=True)
    worker.add_argument(
        "--days", type=int, default=INVITE_DAYS,
        help=f"how many days the link works (default {INVITE_DAYS})",
    )
    return parser


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
            cursor = await conn.execute(
                "SELECT p.name, p.question, p.overlap, count(i.id) FROM projects p"
                " LEFT JOIN items i ON i.project_id = p.id GROUP BY p.id ORDER BY p.name"
            )
            rows = list(await cursor.fetchall())
    finally:
        await store.db.close()
    if not rows:
        print("No projects yet. Create one with `haru project create`.")
    for name, question, overlap, items in rows:
        print(f"{name}\t{items} items\toverlap {overlap}\t{question}")
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
        with TerminalProgress(sys.stderr) as progress:
            report = await import_path(
                SqlItemSink(store), project.id, args.path, progress=progress
            )
    finally:
        await store.db.close()
    print(format_report(report, project.name))
    return 0


async def cmd_invite_worker(args: argparse.Namespace, config: Config) -> int:
    store = await _open(config, create=False)
    if store is None:
        raise _no_project(args.project)
    try:
        async with store.uow() as repo:
            if await repo.project_by_name(args.project) is None:
                raise _no_project(args.project)
            username = config.bot_username or await repo.get_meta(BOT_USERNAME_KEY)
            if username is None:
                raise TaskError(
                    "I don't know the bot's username yet: run `haru run` once, or set "
                    "HARU_BOT_USERNAME."
                )
            invite = await invite_worker(
                repo, args.name, args.project, datetime.now(UTC), args.days
            )
    finally:
        await store.db.close()
    print(f"https://t.me/{username}?start={invite.code}")
    name = invite.worker.name
    notes = [f"For {name}: one use, valid for {args.days} days. Open it on {name}'s phone."]
    if invite.moved_from:
        notes.append(f'{name} moved from project "{invite.moved_from}" to "{args.project}".')
    if invite.replaces_phone:
        notes.append(f"{name} has joined before: the phone that opens this link replaces theirs.")
    if invite.revoked:
        notes.append(f"{name}'s earlier unused link no longer works.")
    print("\n".join(notes), file=sys.stderr)
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
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = Config.from_env()
        if args.command == "run":
            return cmd_run(config)
        key = tuple(
            v for v in (args.command, getattr(args, "project_command", None),
                        getattr(args, "role", None)) if v
        )
        return asyncio.run(_COMMANDS[key](args, config))
    except (ConfigError, TaskError, StorageError) as exc:
        print(f"haru: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
