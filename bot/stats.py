"""Coordinators at a glance: the daily digest and /stats (with a chart of the last 14 days).

Per project: items finished and left, the review queue, answers today; the workers not seen for
3 working days, paused or unreachable; and coaching prompts, worded as reasons to talk with a
worker, never as penalties. None of this is ever shown to a worker.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time, timedelta
from html import escape

from telegram import Update

from bot.charts import Bar, bar_chart
from bot.i18n import t
from bot.services import Haru
from review.coaching import Prompt, PromptKind, default_since
from storage.coaching import coaching
from tasks.model import Coordinator, Worker
from tasks.schedule import at, local_day
from tasks.summary import missed_run

UNSEEN_DAYS = 3  # working days without a sign of the worker
CHART_DAYS = 14
MAX_NAMES = 30  # names listed on one line before "…"
MAX_TEXT = 3900  # a Telegram message holds 4096 characters


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def coaching_line(lang: str, name: str, prompt: Prompt) -> str:
    name = escape(name)
    kind = prompt.kind
    if kind is PromptKind.GOLD_FALLING:
        return t(lang, "coach_gold_falling", name=name, before=_percent(prompt.before or 0),
                 now=_percent(prompt.now))
    if kind is PromptKind.NOT_SURE:
        return t(lang, "coach_not_sure", name=name, share=_percent(prompt.now))
    if kind is PromptKind.FAST:
        return t(lang, "coach_fast", name=name, seconds=f"{prompt.now:.1f}")
    if kind is PromptKind.SAME_RUN:
        return t(lang, "coach_same_run", name=name, count=int(prompt.now))
    return t(lang, "coach_top_button", name=name, share=_percent(prompt.now),
             others=_percent(prompt.before or 0))


def unseen(worker: Worker, seen: datetime | None, joined: datetime | None,
           now: datetime) -> bool:
    """Joined, expected to work, and no answer on the last UNSEEN_DAYS working days."""
    since = max((t for t in (seen or joined, worker.resumed_at) if t is not None), default=None)
    if since is None or worker.paused or worker.unreachable_at is not None:
        return False
    first = local_day(worker.tz, since) + timedelta(days=1)
    return len(missed_run(worker, set(), local_day(worker.tz, now), first)) >= UNSEEN_DAYS


def _names(names: list[str]) -> str:
    shown = ", ".join(escape(n) for n in names[:MAX_NAMES])
    return shown + (" …" if len(names) > MAX_NAMES else "")


async def digest_text(haru: Haru, lang: str, tz: str, now: datetime) -> str:
    """The digest's words (HTML), as of `now` in the coordinator's time zone."""
    today = local_day(tz, now)
    async with haru.store.reader() as repo:
        progress = await repo.progress(at(today, time(0), tz))
        workers = await repo.all_workers()
        seen = await repo.last_seen()
        joined = await repo.joined_at()
        talks = await coaching(repo.conn, default_since(now))
    lines = [t(lang, "digest_head", date=today.isoformat())]
    for p in progress:
        lines.append(t(lang, "digest_project", project=escape(p.name), done=p.done,
                       left=p.left, review=p.review, today=p.answers_today))
    if not progress:
        lines.append(t(lang, "digest_no_projects"))
    people = [w for w in workers if w.tg_user_id is not None]
    groups = (
        ("digest_unseen", [w.name for w in people
                           if unseen(w, seen.get(w.id), joined.get(w.id), now)]),
        ("digest_paused", [w.name for w in workers if w.paused]),
        ("digest_unreachable", [w.name for w in people if w.unreachable_at is not None]),
    )
    for key, names in groups:
        if names:
            lines.append(t(lang, key, names=_names(names)))
    if talks:
        lines.append("")
        lines.append(t(lang, "digest_coaching"))
        lines.extend(coaching_line(lang, name, prompt)
                     for _, name, prompts in talks for prompt in prompts)
    text = "\n".join(lines)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT].rsplit("\n", 1)[0] + "\n…"


async def chart_14_days(haru: Haru, lang: str, tz: str, now: datetime) -> tuple[bytes, int]:
    """Answers per local day over the last 14 days, as a PNG, and their total."""
    today = local_day(tz, now)
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    async with haru.store.reader() as repo:
        times = await repo.answered_since(at(days[0], time(0), tz))
    counts: Counter[date] = Counter(local_day(tz, moment) for moment in times)
    bars = [Bar(f"{d.month}/{d.day}", counts.get(d, 0)) for d in days]
    png = await asyncio.to_thread(bar_chart, bars, title=t(lang, "stats_chart"),
                                  empty=t(lang, "stats_chart_empty"))
    return png, sum(b.value for b in bars)


async def on_stats(haru: Haru, coordinator: Coordinator, update: Update) -> None:
    """/stats: the 14-day chart, then the digest as of now."""
    message = update.effective_message
    assert message is not None
    now = haru.clock()
    async with haru.store.reader() as repo:
        _, tz = await repo.digest_settings(coordinator.id)
    png, total = await chart_14_days(haru, coordinator.lang, tz, now)
    await message.reply_photo(png, caption=t(coordinator.lang, "stats_caption", count=total))
    await message.reply_html(await digest_text(haru, coordinator.lang, tz, now))
