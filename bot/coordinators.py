"""Coordinators in Telegram: /workers, /pause NAME, /resume NAME, /help (see also coord_tools).

Anyone else sending these gets what they would get for any other word: a worker their
screen, a stranger one polite line (see `handlers.on_message`).
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.services import Haru
from bot.views import weekday_time
from tasks.errors import NotFound
from tasks.model import Coordinator, Worker
from tasks.schedule import format_clock, format_days
from tasks.workers import pause_worker, resume_worker

MAX_LIST_CHARS = 3800  # a Telegram message holds 4096 characters


async def coordinator_of(haru: Haru, update: Update) -> Coordinator | None:
    user = update.effective_user
    if user is None:
        return None
    async with haru.store.reader() as repo:
        coordinator = await repo.coordinator_by_tg(user.id)
    if coordinator is not None and coordinator.unreachable_at is not None:
        async with haru.store.uow() as repo:  # they write again: they can be reached again
            await repo.set_coordinator_unreachable(coordinator.id, None)
    return coordinator


def status(lang: str, worker: Worker) -> str:
    if worker.tg_user_id is None:
        key = "invited"
    elif worker.unreachable_at is not None:
        key = "unreachable"
    elif worker.paused:
        key = "paused"
    else:
        key = "active"
    return t(lang, f"coord_status_{key}")


async def workers_text(haru: Haru, lang: str) -> str:
    async with haru.store.reader() as repo:
        names = await repo.worker_names()
        workers = [w for n in names if (w := await repo.worker_by_name(n)) is not None]
        projects = {w.project_id: (await repo.project(w.project_id)).name for w in workers}
    if not workers:
        return t(lang, "coord_no_workers")
    lines: list[str] = []
    for index, w in enumerate(workers):
        line = (f"<b>{escape(w.name)}</b> · {escape(projects[w.project_id])} · "
                f"{format_days(w.days)} {format_clock(w.start_at)} · {status(lang, w)}")
        if sum(len(x) + 1 for x in lines) + len(line) > MAX_LIST_CHARS:
            lines.append(t(lang, "coord_more", count=len(workers) - index))
            break
        lines.append(line)
    return "\n".join(lines)


async def on_workers(haru: Haru, coordinator: Coordinator, update: Update) -> None:
    """/workers: every worker, their project, schedule and whether they get work."""
    assert update.effective_message is not None
    await update.effective_message.reply_html(await workers_text(haru, coordinator.lang))


def coordinator_help(lang: str) -> str:
    """Every coordinator command, one a line (two catalog entries: each stays short)."""
    return f"{t(lang, 'coord_help')}\n{t(lang, 'coord_help_tools')}"


async def on_help(haru: Haru, coordinator: Coordinator, update: Update) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_html(coordinator_help(coordinator.lang))


async def on_pause_or_resume(
    haru: Haru, coordinator: Coordinator, update: Update, context: ContextTypes.DEFAULT_TYPE,
    command: str,
) -> None:
    """/pause NAME, /resume NAME: no batch and no reminder while paused."""
    message, lang = update.effective_message, coordinator.lang
    assert message is not None
    name = " ".join(context.args or [])
    if not name:
        await message.reply_html(t(lang, "coord_usage", example=f"/{command} 민지"))
        return
    now = haru.clock()
    try:
        async with haru.store.uow() as repo:
            change = pause_worker if command == "pause" else resume_worker
            worker, changed = await change(repo, name, now)
    except NotFound:
        await message.reply_html(t(lang, "coord_no_worker", name=escape(name)))
        return
    who = escape(worker.name)
    if command == "pause":
        key = "coord_paused" if changed else "coord_already_paused"
        await message.reply_html(t(lang, key, name=who))
    elif not changed:
        await message.reply_html(t(lang, "coord_not_paused", name=who))
    elif worker.unreachable_at is not None:
        await message.reply_html(t(lang, "coord_resumed_unreachable", name=who))
    elif worker.next_due_at is None:
        await message.reply_html(t(lang, "coord_resumed_later", name=who))
    else:
        when = weekday_time(lang, worker.next_due_at, worker.tz)
        await message.reply_html(t(lang, "coord_resumed", name=who, **when))
