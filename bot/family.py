"""Guardians in Telegram: the worker's choice of what to share, the 👀 view of exactly what
is shared, and the summaries and alerts themselves.

The worker decides: when a guardian joins, the worker is asked (nothing is shared before they
choose); `/share` (👀 in their menu) shows what each guardian receives, with buttons to change
or stop; a guardian hears kindly when sharing starts or stops, and can only ever ask for news
more or less often.
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.callbacks import FamilyOp, decode_family, encode_family
from bot.charts import Bar, bar_chart
from bot.i18n import language_for, t
from bot.services import Haru
from tasks.family import MISSED_DAYS, Every, Guardian, Share
from tasks.model import ItemKind, Worker
from tasks.summary import Summary, summary_for

log = logging.getLogger(__name__)

_SHARE_OPS = {FamilyOp.DAYS: Share.DAYS, FamilyOp.AMOUNT: Share.AMOUNT, FamilyOp.NOTHING: None}
_SHARE_BUTTON = {Share.DAYS: "button_share_days", Share.AMOUNT: "button_share_amount"}


# --- the words and the picture --------------------------------------------------------------


def _time_words(lang: str, minutes: int) -> str:
    if minutes < 60:
        return t(lang, "summary_minutes", minutes=minutes)
    return t(lang, "summary_hours", hours=minutes // 60, minutes=minutes % 60)


def summary_text(lang: str, summary: Summary) -> str:
    """The summary's words (plain text), drawn only from the fields the level allows."""
    lines = [t(lang, f"summary_{summary.every}", name=summary.worker)]
    if summary.rested:
        lines.append(t(lang, f"summary_rest_{summary.every}"))
        return "\n".join(lines)
    if summary.every is Every.WEEK:
        lines.append(t(lang, "summary_days", count=summary.worked_days))
    else:
        lines.append(t(lang, "summary_today"))
    if summary.streak >= 2:
        lines.append(t(lang, "summary_streak", count=summary.streak))
    if summary.items is not None and summary.minutes is not None:
        kind = summary.kind or ItemKind.IMAGE
        lines.append(t(lang, f"summary_items_{kind}", count=summary.items))
        lines.append(t(lang, "summary_time", time=_time_words(lang, summary.minutes)))
    lines.append(t(lang, f"cheer_{summary.cheer}"))
    return "\n".join(lines)


def summary_chart(lang: str, summary: Summary) -> bytes:
    """The week as bars, labelled in the reader's language: items per day when the worker
    shares how much, otherwise one even bar for each day worked."""
    labels = [t(lang, f"day_short_{day.weekday()}") for day in summary.week]
    if summary.week_items is not None:
        bars = [Bar(label, value) for label, value in zip(labels, summary.week_items, strict=True)]
    else:
        bars = [Bar(label, int(worked), note="✓" if worked else None)
                for label, worked in zip(labels, summary.week_worked, strict=True)]
    return bar_chart(bars, title=t(lang, "chart_week", name=summary.worker),
                     empty=t(lang, "chart_rest"), show_values=summary.week_items is not None)


def alert_text(lang: str, worker_name: str, missed: int) -> str:
    return t(lang, "alert_missed", name=worker_name, count=missed)


def _when(lang: str, guardian: Guardian) -> str:
    return t(lang, f"share_when_{guardian.every}")


# --- the worker's side ----------------------------------------------------------------------


def _button(lang: str, key: str, op: FamilyOp, guardian: Guardian) -> list[InlineKeyboardButton]:
    data = encode_family(op, guardian.id, guardian.consent_seq)
    return [InlineKeyboardButton(t(lang, key), callback_data=data)]


def _levels(lang: str, guardian: Guardian, *, nothing: str) -> list[list[InlineKeyboardButton]]:
    rows = [_button(lang, "button_share_days", FamilyOp.DAYS, guardian),
            _button(lang, "button_share_amount", FamilyOp.AMOUNT, guardian)]
    if nothing:
        rows.append(_button(lang, nothing, FamilyOp.NOTHING, guardian))
    return rows


def _alert_buttons(lang: str, guardian: Guardian) -> list[list[InlineKeyboardButton]]:
    return [_button(lang, "button_alerts_on", FamilyOp.ALERTS_ON, guardian),
            _button(lang, "button_alerts_off", FamilyOp.ALERTS_OFF, guardian)]


async def ask_consent(bot: Bot, haru: Haru, guardian: Guardian) -> bool:
    """Ask the worker what to share with a guardian who just joined. Nothing is shared
    until they answer. False if the worker cannot be asked now (not joined, blocked)."""
    async with haru.store.reader() as repo:
        worker = await repo.worker(guardian.worker_id)
    if worker.chat_id is None or worker.unreachable_at is not None:
        return False
    lang = worker.lang
    keyboard = InlineKeyboardMarkup(_levels(lang, guardian, nothing="button_share_none"))
    try:
        await bot.send_message(worker.chat_id, t(lang, "consent_ask", guardian=guardian.name),
                               reply_markup=keyboard)
    except TelegramError as exc:
        log.info("could not ask worker %s about guardian %s: %s", worker.id, guardian.id, exc)
        return False
    async with haru.store.uow() as repo:
        await repo.set_asked(guardian.id, haru.clock())
    await set_worker_menu(bot, worker)
    return True


async def set_worker_menu(bot: Bot, worker: Worker) -> None:
    """👀 in the worker's own menu, once they have a guardian (best effort: a Bot API server
    without per-chat menus changes nothing else)."""
    if worker.chat_id is None:
        return
    commands = [BotCommand("start", t(worker.lang, "menu_start")),
                BotCommand("share", t(worker.lang, "menu_share"))]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(worker.chat_id))
    except TelegramError as exc:
        log.info("could not set the menu of worker %s: %s", worker.id, exc)


async def send_view(bot: Bot, haru: Haru, worker: Worker, guardian: Guardian) -> None:
    """👀: exactly what this guardian receives, and buttons to change it or stop."""
    lang, chat_id = worker.lang, worker.chat_id
    assert chat_id is not None
    if guardian.share is None:
        keyboard = InlineKeyboardMarkup(_levels(lang, guardian, nothing=""))
        await bot.send_message(chat_id, t(lang, "share_view_none", guardian=guardian.name),
                               reply_markup=keyboard)
        return
    async with haru.store.reader() as repo:
        summary = await summary_for(repo, guardian, haru.clock())
    glang = guardian.lang  # the guardian's words and picture, as they get them
    parts = [t(lang, "share_view", guardian=guardian.name, when=_when(lang, guardian)),
             summary_text(glang, summary)]
    if guardian.alerts:
        parts.append(t(lang, "share_view_alerts", days=MISSED_DAYS))
    rows = [row for row in _levels(lang, guardian, nothing="button_share_stop")
            if row[0].text != t(lang, _SHARE_BUTTON[guardian.share])]
    rows.insert(-1, _alert_buttons(lang, guardian)[0 if not guardian.alerts else 1])
    picture = await asyncio.to_thread(summary_chart, glang, summary)
    await bot.send_photo(chat_id, picture, caption="\n\n".join(parts),
                         reply_markup=InlineKeyboardMarkup(rows))


async def on_share(haru: Haru, worker: Worker, update: Update,
                   context: ContextTypes.DEFAULT_TYPE) -> None:
    """/share (👀 in the worker's menu): one view per guardian."""
    message = update.effective_message
    assert message is not None
    async with haru.store.reader() as repo:
        guardians = [g for g in await repo.guardians_of(worker.id) if g.joined]
    if not guardians:
        await message.reply_text(t(worker.lang, "share_no_guardian"))
        return
    for guardian in guardians:
        await send_view(context.bot, haru, worker, guardian)


def _message(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None


async def _settle(query: CallbackQuery, words: str) -> None:
    """The tapped message keeps a line saying what was saved, and loses its buttons."""
    message = _message(query)
    if message is None:
        return
    try:
        if message.photo:
            await message.edit_caption(words, reply_markup=None)
        else:
            await message.edit_text(words, reply_markup=None)
    except TelegramError as exc:
        log.info("could not settle a sharing message: %s", exc)


async def on_family_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sharing button: only the worker (or, for how often, the guardian) may press it."""
    haru: Haru = context.application.bot_data["haru"]
    query = update.callback_query
    if query is None:
        return
    decoded = decode_family(query.data)
    user = query.from_user
    async with haru.store.reader() as repo:
        guardian = await repo.guardian(decoded[1]) if decoded else None
        worker = await repo.worker_by_tg(user.id)
    if decoded is None or guardian is None:
        await query.answer(t(language_for(user.language_code), "stale"))
        return
    op = decoded[0]
    if op in (FamilyOp.WEEKLY, FamilyOp.DAILY):
        if guardian.tg_user_id != user.id:
            await query.answer(t(language_for(user.language_code), "not_yours"))
            return
        await _guardian_every(haru, guardian, query, op)
        return
    if worker is None or worker.id != guardian.worker_id:
        await query.answer(t(language_for(user.language_code), "not_yours"))
        return
    if decoded[2] != guardian.consent_seq:
        # A button from before the last choice: nothing changes; that message loses them.
        same = (_SHARE_OPS[op] is guardian.share if op in _SHARE_OPS
                else (op is FamilyOp.ALERTS_ON) == guardian.alerts)
        await query.answer(t(worker.lang, "stale_saved" if same else "stale"))
        message = _message(query)
        if message is not None and message.reply_markup is not None:
            try:
                await message.edit_reply_markup(None)
            except TelegramError as exc:
                log.info("could not remove old sharing buttons: %s", exc)
        return
    await _worker_choice(haru, context.bot, worker, guardian, query, op)


async def _guardian_every(haru: Haru, guardian: Guardian, query: CallbackQuery,
                          op: FamilyOp) -> None:
    every = Every.WEEK if op is FamilyOp.WEEKLY else Every.DAY
    lang = guardian.lang
    if every is not guardian.every:
        async with haru.store.uow() as repo:
            await repo.set_guardian_every(guardian.id, every)
    await query.answer()
    key = "button_every_week" if every is Every.WEEK else "button_every_day"
    await _settle(query, t(lang, "guardian_every_saved", choice=t(lang, key)))


async def _worker_choice(haru: Haru, bot: Bot, worker: Worker, guardian: Guardian,
                         query: CallbackQuery, op: FamilyOp) -> None:
    """The worker chose a level, to stop, or about alerts. The same choice again (a double
    tap, an old message) changes nothing."""
    lang, now = worker.lang, haru.clock()
    if op in _SHARE_OPS:
        share = _SHARE_OPS[op]
        if share is guardian.share and guardian.consent_at is not None:
            await query.answer(t(lang, "stale_saved"))
            return
        alerts = guardian.alerts if share is not None else None
        key = _SHARE_BUTTON[share] if share else "button_share_none"
    else:
        alerts = op is FamilyOp.ALERTS_ON
        share = guardian.share
        if share is None or alerts == guardian.alerts:  # stopped meanwhile, or already so
            await query.answer(t(lang, "stale_saved" if share else "stale"))
            return
        key = "button_alerts_on" if alerts else "button_alerts_off"
    async with haru.store.uow() as repo:
        await repo.set_share(guardian.id, share, alerts, now)
        changed = await repo.guardian(guardian.id)
    assert changed is not None
    await query.answer()
    await _settle(query, t(lang, "consent_saved", choice=t(lang, key)))
    await _tell_guardian(bot, haru, worker, guardian, changed)
    if share is not None and changed.alerts is None:  # alerts are a choice of their own
        keyboard = InlineKeyboardMarkup(_alert_buttons(lang, changed))
        await bot.send_message(worker.chat_id or query.from_user.id,
                               t(lang, "consent_alerts", days=MISSED_DAYS,
                                 guardian=guardian.name), reply_markup=keyboard)
        return
    await send_view(bot, haru, worker, changed)


async def _tell_guardian(bot: Bot, haru: Haru, worker: Worker, before: Guardian,
                         after: Guardian) -> None:
    """Sharing started or stopped: the guardian hears it, kindly."""
    if after.chat_id is None or (before.share is None) == (after.share is None):
        return
    lang = after.lang
    if after.share is None:
        words = t(lang, "guardian_stopped", worker=worker.name)
    else:
        words = t(lang, "guardian_shared", worker=worker.name, when=_when(lang, after))
    try:
        await bot.send_message(after.chat_id, words)
    except TelegramError as exc:
        log.info("could not tell guardian %s that sharing changed: %s", after.id, exc)


# --- the guardian's side --------------------------------------------------------------------


def every_keyboard(guardian: Guardian) -> InlineKeyboardMarkup:
    lang = guardian.lang
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t(lang, "button_every_week"),
                             callback_data=encode_family(FamilyOp.WEEKLY, guardian.id)),
        InlineKeyboardButton(t(lang, "button_every_day"),
                             callback_data=encode_family(FamilyOp.DAILY, guardian.id)),
    ]])


async def greet_guardian(message: Message, guardian: Guardian, worker: Worker,
                         *, again: bool) -> None:
    lang = guardian.lang
    key = "guardian_back" if again else "guardian_welcome"
    words = t(lang, key, name=escape(guardian.name), worker=escape(worker.name))
    await message.reply_html(f"{words}\n\n{t(lang, 'guardian_every')}",
                             reply_markup=every_keyboard(guardian))


async def refuse_guardian(haru: Haru, message: Message, guardians: list[Guardian]) -> None:
    """Anything a guardian sends (a worker's or a coordinator's command included): one polite
    line; nothing changes."""
    async with haru.store.reader() as repo:
        names = [(await repo.worker(g.worker_id)).name for g in guardians]
    await message.reply_text(t(guardians[0].lang, "guardian_refuse", worker=", ".join(names)))
