"""Coordinators in Telegram: /status (what `haru status` prints) and /invite worker NAME PROJECT
(what `haru invite worker NAME --project PROJECT` makes).

Only `handlers.on_coordinator_command` calls these, for someone known to be a coordinator.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import LinkPreviewOptions, Message, Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.services import Haru
from storage.status import ItemCounts, ProjectStatus, WorkerToday, total
from tasks.errors import InvalidInput
from tasks.model import Coordinator, Worker
from tasks.schedule import format_clock, format_days
from tasks.workers import INVITE_DAYS, MAX_NAME_CHARS, invite_worker

MAX_TEXT = 3900  # a Telegram message holds 4096 characters
MAX_NAMES = 20  # projects named in one line


def _n(value: int) -> str:
    return f"{value:,}"


def _done(lang: str, counts: ItemCounts) -> str:
    share = counts.percent_done
    if share is None:
        return t(lang, "status_done_none")
    return t(lang, "status_done", percent=f"{share}%")


def _block(lang: str, key: str, name: str, counts: ItemCounts, today: int, active: int,
           workers: int) -> str:
    return t(lang, key, project=escape(name), done=_done(lang, counts),
             finished=_n(counts.finished), dropped=_n(counts.dropped), review=_n(counts.review),
             open=_n(counts.open), items=_n(counts.items), today=_n(today), active=_n(active),
             workers=_n(workers))


def _when(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%m/%d %H:%M")


def _review(lang: str, projects: list[ProjectStatus], tz: str, now: datetime) -> str:
    waiting = sum(p.counts.review for p in projects)
    if not waiting:
        return t(lang, "status_review_none")
    oldest = min((p.review_since for p in projects if p.review_since is not None),
                 default=now)
    return t(lang, "status_review", count=_n(waiting), since=_when(oldest, tz))


def _fit(lang: str, head: list[str], parts: list[str], tail: list[str], more: str,
         joiner: str = "\n") -> str:
    """head, as many of `parts` as fit in one message, then tail."""
    room = MAX_TEXT - len("\n".join([*head, *tail])) - 200  # 200: the "more" line
    shown: list[str] = []
    for index, part in enumerate(parts):
        room -= len(part) + len(joiner)
        if room < 0:
            shown.append(t(lang, more, count=len(parts) - index))
            break
        shown.append(part)
    return "\n".join([*head, joiner.join(shown), *tail])


def status_text(lang: str, projects: list[ProjectStatus], tz: str, now: datetime) -> str:
    """Every project's numbers, the totals and the review queue (HTML)."""
    if not projects:
        return t(lang, "coord_no_projects")
    blocks = [_block(lang, "status_project", p.name, p.counts, p.answers_today,
                     p.active_today, p.workers) for p in projects]
    tail = ["", _review(lang, projects, tz, now), t(lang, "status_today_note")]
    if len(projects) > 1:
        tail[1:1] = [_block(lang, "status_total", "", total(projects),
                            sum(p.answers_today for p in projects),
                            sum(p.active_today for p in projects),
                            sum(p.workers for p in projects)), ""]
    head = [t(lang, "status_head", time=_when(now, tz)), ""]
    return _fit(lang, head, blocks, tail, "status_more_projects", "\n\n")


def _worker_line(lang: str, w: WorkerToday) -> str:
    if not w.joined:
        state = t(lang, "coord_status_invited")
    elif w.unreachable:
        state = t(lang, "coord_status_unreachable")
    else:
        state = t(lang, "coord_status_paused" if w.paused else "coord_status_active")
    key = "status_worker_practice" if w.practice_today else "status_worker"
    return t(lang, key, name=escape(w.name), today=_n(w.answers_today),
             practice=_n(w.practice_today), state=state)


def project_text(lang: str, project: ProjectStatus, workers: list[WorkerToday], tz: str,
                 now: datetime) -> str:
    """One project's numbers, its review queue, and each of its workers today (HTML)."""
    head = [t(lang, "status_head", time=_when(now, tz)), "",
            _block(lang, "status_project", project.name, project.counts,
                   project.answers_today, project.active_today, project.workers),
            _review(lang, [project], tz, now), t(lang, "status_today_note"), ""]
    if not workers:
        return "\n".join([*head, t(lang, "status_no_workers")])
    return _fit(lang, head, [_worker_line(lang, w) for w in workers], [],
                "status_more_workers")


def no_project(lang: str, name: str, names: list[str]) -> str:
    if not names:
        return t(lang, "coord_no_projects")
    shown = ", ".join(escape(n) for n in names[:MAX_NAMES])
    return t(lang, "coord_no_project", project=escape(name),
             projects=shown + (" …" if len(names) > MAX_NAMES else ""))


async def on_status(haru: Haru, coordinator: Coordinator, update: Update,
                    context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status [PROJECT]: the numbers of `haru status`, in the coordinator's words."""
    message, lang = update.effective_message, coordinator.lang
    assert message is not None
    now = haru.clock()
    name = " ".join(context.args or [])
    async with haru.store.reader() as repo:
        _, tz = await repo.digest_settings(coordinator.id)
        projects = await repo.project_status(now)
        chosen = next((p for p in projects if p.name == name), None)
        workers = await repo.workers_today(chosen.id, now) if chosen else []
    if name and chosen is None:
        await message.reply_html(no_project(lang, name, [p.name for p in projects]))
    elif chosen is not None:
        await message.reply_html(project_text(lang, chosen, workers, tz, now))
    else:
        await message.reply_html(status_text(lang, projects, tz, now))


# --- /invite worker NAME PROJECT -----------------------------------------------------------


def _schedule(lang: str, worker: Worker) -> str:
    return t(lang, "invite_schedule", days=format_days(worker.days),
             time=format_clock(worker.start_at), tz=escape(worker.tz), batch=worker.batch_size)


async def _usage(haru: Haru, message: Message, lang: str) -> None:
    async with haru.store.reader() as repo:
        names = await repo.project_names()
    example = f"/invite worker 민지 {names[0] if names else 'animals'}"
    await message.reply_html(t(lang, "invite_usage", example=escape(example)))


async def on_invite(haru: Haru, coordinator: Coordinator, update: Update,
                    context: ContextTypes.DEFAULT_TYPE) -> None:
    """/invite worker NAME PROJECT: a worker's invite link, exactly as the CLI makes it. NAME
    may hold spaces: the last word is the project."""
    message, lang = update.effective_message, coordinator.lang
    assert message is not None
    words = list(context.args or [])
    if len(words) < 3 or words[0].lower() != "worker":
        await _usage(haru, message, lang)
        return
    name, project_name = " ".join(words[1:-1]), words[-1]
    async with haru.store.reader() as repo:
        names = await repo.project_names()
    if project_name not in names:
        await message.reply_html(no_project(lang, project_name, names))
        return
    try:
        async with haru.store.uow() as repo:
            invite = await invite_worker(repo, name, project_name, haru.clock(), INVITE_DAYS)
    except InvalidInput:  # the name: empty of letters, or too long
        await message.reply_html(t(lang, "invite_bad_name", limit=MAX_NAME_CHARS))
        return
    who = escape(invite.worker.name)
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    lines = [t(lang, "invite_link", name=who), link, "",
             t(lang, "invite_once", name=who, days=INVITE_DAYS), _schedule(lang, invite.worker)]
    if invite.moved_from:
        lines.append(t(lang, "invite_moved", name=who, old=escape(invite.moved_from),
                       new=escape(project_name)))
    if invite.replaces_phone:
        lines.append(t(lang, "invite_phone", name=who))
    if invite.revoked:
        lines.append(t(lang, "invite_revoked", name=who))
    await message.reply_html("\n".join(lines),
                             link_preview_options=LinkPreviewOptions(is_disabled=True))


async def on_import_command(haru: Haru, coordinator: Coordinator, update: Update) -> None:
    """/import typed, or a file sent without it: how to send work as a file."""
    message = update.effective_message
    assert message is not None
    async with haru.store.reader() as repo:
        names = await repo.project_names()
    example = f"/import {names[0] if names else 'animals'}"
    await message.reply_html(t(coordinator.lang, "import_howto", example=escape(example)))
