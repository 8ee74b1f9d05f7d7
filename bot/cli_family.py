"""`haru` commands for guardians and coordinators' digests.

    haru invite guardian NAME --worker WORKER [--every week|day] [--tz TZ] [--valid-days N]
    haru guardian list
    haru summary preview WORKER --out DIR [--level days|amount]
    haru coordinator set NAME [--digest HH:MM|off] [--tz TZ]
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.cli_reports import Command
from bot.config import Config
from bot.progress import table
from storage.files import write_whole
from storage.repo import Store
from tasks.errors import InvalidInput, NotFound
from tasks.family import Every, Guardian, Share, check_every
from tasks.schedule import at, check_zone, format_clock, parse_clock
from tasks.summary import summary_for
from tasks.workers import INVITE_DAYS, invite_guardian, named_worker


def add_commands(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
                 isub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    guardian = isub.add_parser(
        "guardian", help="invite a worker's guardian (nothing is shared until the worker agrees)")
    guardian.add_argument("name", help="how the guardian is called, e.g. 어머니")
    guardian.add_argument("--worker", required=True, help="the worker they follow")
    guardian.add_argument("--every", help="summaries every week (Sunday 18:00, the default) "
                          "or every day (18:00)")
    guardian.add_argument("--tz", help="the guardian's time zone (default Asia/Seoul)")
    guardian.add_argument("--valid-days", type=int, default=INVITE_DAYS, metavar="N",
                          help=f"how many days the link works (default {INVITE_DAYS})")

    guardians = sub.add_parser("guardian", help="guardians and what each worker shares")
    gsub = guardians.add_subparsers(dest="guardian_command", required=True, metavar="ACTION")
    gsub.add_parser("list", help="every guardian, their worker and what is shared")

    summary = sub.add_parser("summary", help="guardians' summaries")
    ssub = summary.add_subparsers(dest="summary_command", required=True, metavar="ACTION")
    preview = ssub.add_parser(
        "preview", help="write what the worker's guardians would receive now (text and chart "
                        "PNG), without sending it")
    preview.add_argument("worker")
    preview.add_argument("--out", required=True, help="folder to write into")
    preview.add_argument("--level", choices=("days", "amount"),
                         help="preview at this level instead of what the worker chose")
    preview.add_argument("--date", help="the summary's last day, YYYY-MM-DD (default today): "
                         "e.g. the Sunday of a week already sent")

    coordinator = sub.add_parser("coordinator", help="coordinators' daily digest")
    csub = coordinator.add_subparsers(dest="coordinator_command", required=True,
                                      metavar="ACTION")
    cset = csub.add_parser("set", help="when a coordinator's daily digest comes")
    cset.add_argument("name")
    cset.add_argument("--digest", help="local time HH:MM, or off (default 18:00)")
    cset.add_argument("--tz", help="the coordinator's time zone (default Asia/Seoul)")


async def _store(config: Config) -> Store:
    from storage.db import Database

    if not config.db_path.exists():
        raise NotFound("There are no workers yet. Invite one with `haru invite worker`.")
    return Store(await Database.open(config.db_path))


async def cmd_invite_guardian(args: argparse.Namespace, config: Config) -> int:
    from bot.cli import _username

    every = check_every(args.every) if args.every is not None else None
    tz = check_zone(args.tz) if args.tz is not None else None
    store = await _store(config)
    try:
        async with store.uow() as repo:
            await named_worker(repo, args.worker)
            username = await _username(config, repo)
            invite = await invite_guardian(repo, args.name, args.worker, datetime.now(UTC),
                                           args.valid_days, tz=tz, every=every)
    finally:
        await store.db.close()
    print(f"https://t.me/{username}?start={invite.code}")
    guardian, worker = invite.guardian, invite.worker
    notes = [f"For {guardian.name}, guardian of {worker.name}: one use, valid for "
             f"{args.valid_days} days.",
             f"Nothing is shared until {worker.name} agrees in Telegram; they choose days "
             "worked, or days and how much, and can stop at any time.",
             f"Summaries: {_every(guardian)}."]
    if invite.replaces_phone:
        notes.append(f"{guardian.name} has joined before: the phone that opens this link "
                     "replaces theirs.")
    print("\n".join(notes), file=sys.stderr)
    return 0


def _every(guardian: Guardian) -> str:
    when = "every Sunday" if guardian.every is Every.WEEK else "every day"
    return f"{when} at 18:00 {guardian.tz}"


def _shares(guardian: Guardian) -> str:
    if guardian.share is None:
        return "stopped" if guardian.stopped_at else "nothing yet"
    return "days worked" if guardian.share is Share.DAYS else "days worked and how much"


async def cmd_guardian_list(args: argparse.Namespace, config: Config) -> int:
    if not config.db_path.exists():
        print("No guardians yet. Invite one with `haru invite guardian NAME --worker W`.")
        return 0
    store = await _store(config)
    try:
        async with store.reader() as repo:
            rows = await repo.all_guardians()
    finally:
        await store.db.close()
    if not rows:
        print("No guardians yet. Invite one with `haru invite guardian NAME --worker W`.")
        return 0
    header = ("GUARDIAN", "WORKER", "JOINED", "SHARES", "ALERTS", "SUMMARIES")
    print(table(header, [
        (g.name, worker, "yes" if g.joined else "not yet", _shares(g),
         "yes" if g.alerts else "no", _every(g)) for g, worker in rows]))
    return 0


def _date(text: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            day = date.fromisoformat(text.strip())
            if 2000 <= day.year <= 2200:
                return day
    except ValueError:
        pass
    raise InvalidInput(f'--date "{text}" is not a date: use YYYY-MM-DD.')


def _moment(guardian: Guardian, last: date | None) -> datetime:
    """Now, or the end of `last` in the guardian's time zone."""
    if last is None:
        return datetime.now(UTC)
    return at(last + timedelta(days=1), time(0), guardian.tz) - timedelta(seconds=1)


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file; give a folder.")


def _write_all(out: Path, files: list[tuple[str, bytes]]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            write_whole(out / name, data)
    except OSError as exc:
        raise InvalidInput(f"Cannot write into {out}: {exc.strerror or exc}.") from None


def _slug(name: str) -> str:
    return re.sub(r"[^\w-]+", "_", name).strip("_") or "guardian"


async def cmd_summary_preview(args: argparse.Namespace, config: Config) -> int:
    from bot.family import summary_chart, summary_text

    if not args.out.strip():
        raise InvalidInput("--out needs a folder, e.g. --out ./preview.")
    out = Path(args.out)
    _check_folder(out)
    level = Share(args.level) if args.level else None
    last = _date(args.date) if args.date is not None else None
    store = await _store(config)
    try:
        async with store.reader() as repo:
            worker = await named_worker(repo, args.worker)
            guardians = [g for g in await repo.guardians_of(worker.id)
                         if g.share is not None or level is not None]
            note = None
            if not guardians:
                # Nobody gets anything yet: show what a guardian would get at the fuller
                # level, so the coordinator can check it before the worker is asked.
                level = Share.AMOUNT
                guardians = [Guardian(0, worker.id, "guardian", None, None, "ko", worker.tz,
                                      Every.WEEK, level, None)]
                note = (f"No guardian of {worker.name} receives anything now (nothing "
                        "shared). This is what one would get at the level 'days worked and "
                        "how much', in Korean.")
            previews = [(g, await summary_for(repo, g, _moment(g, last), level))
                        for g in guardians]
    finally:
        await store.db.close()
    files = []
    for guardian, summary in previews:
        stem = ("summary" if len(previews) == 1
                else f"summary-{_slug(guardian.name)}-{guardian.id}")
        files.append((f"{stem}.txt", (summary_text(guardian.lang, summary) + "\n").encode()))
        files.append((f"{stem}.png", summary_chart(guardian.lang, summary)))
    _write_all(out, files)
    if note:
        print(note, file=sys.stderr)
    for index, (guardian, summary) in enumerate(previews):
        who = "" if guardian.id == 0 else f"{guardian.name} ({_shares(guardian)}): "
        text, png = (out / files[2 * index][0], out / files[2 * index + 1][0])
        print(f"{who}{text} and {png} ({summary.every}ly summary, the period ending "
              f"{summary.days[-1].isoformat()})")
    return 0


async def cmd_coordinator_set(args: argparse.Namespace, config: Config) -> int:
    if args.digest is None and args.tz is None:
        raise InvalidInput("Nothing to change: give --digest HH:MM (or off) or --tz.")
    digest = None
    if args.digest is not None and args.digest.strip().lower() != "off":
        digest = parse_clock(args.digest, "--digest")
    tz = check_zone(args.tz) if args.tz is not None else None
    store = await _store(config)
    try:
        async with store.uow() as repo:
            coordinator = await repo.coordinator_by_name(" ".join(args.name.split()))
            if coordinator is None:
                raise NotFound(f'There is no coordinator called "{args.name}".')
            clock, zone = await repo.digest_settings(coordinator.id)
            clock = clock if args.digest is None else digest
            zone = tz or zone
            await repo.set_digest(coordinator.id, clock, zone, None)  # the bot plans the next
    finally:
        await store.db.close()
    if clock is None:
        print(f"{coordinator.name}: no daily digest.")
    else:
        print(f"{coordinator.name}: daily digest at {format_clock(clock)} {zone}.")
    return 0


COMMANDS: dict[tuple[str, ...], Command] = {
    ("invite", "guardian"): cmd_invite_guardian,
    ("guardian", "list"): cmd_guardian_list,
    ("summary", "preview"): cmd_summary_preview,
    ("coordinator", "set"): cmd_coordinator_set,
}
