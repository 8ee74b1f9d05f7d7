"""Coordinators judging in Telegram: /review one flagged item at a time, and 🙋 help requests.

A review card is one message (the picture or sentence, the question, how many chose each
answer) whose buttons decide it; a help request is one message per coordinator, and a reply
to it goes to the worker.
"""

from __future__ import annotations

import logging
from html import escape

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.callbacks import ReviewAction, ReviewOp, decode_review, encode_review
from bot.i18n import t
from bot.screen import show
from bot.services import Haru
from review.queue import Card, Outcome
from review.routing import Tally
from tasks.model import Coordinator, Item, ItemKind, Project, Worker
from tasks.ports import NOT_SURE

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 3500  # a coordinator's reply, passed on within Telegram's 4096


def votes_text(lang: str, project: Project, tally: Tally) -> str:
    """"🐶 Dog — 2 · 🐱 Cat — 1 · 🤔 — 1": how many chose each answer, no names."""
    parts = [f"{escape(label)} — {count}" for label, count in zip(project.choices, tally.votes,
                                                                   strict=True)]
    if tally.not_sure:
        parts.append(f"🤔 — {tally.not_sure}")
    return " · ".join(parts) if tally.answers else t(lang, "coord_no_answers")


def _card_text(lang: str, card: Card) -> str:
    lines = [t(lang, "coord_review_head", project=escape(card.project.name),
               count=card.waiting)]
    if card.item.kind is ItemKind.TEXT:
        lines.append(f"<blockquote>{escape(card.item.text or '')}</blockquote>")
    lines.append(f"<b>{escape(card.project.question)}</b>")
    lines.append(votes_text(lang, card.project, card.tally))
    if card.reason:
        lines.append(t(lang, f"coord_why_{card.reason}"))
    if card.names:
        who = ", ".join(
            f"{escape(name)}: {escape(_label(lang, card.project, choice))}"
            for name, choice in card.names
        )
        lines.append(t(lang, "coord_who", names=who))
    return "\n\n".join(lines)


def _label(lang: str, project: Project, choice: int) -> str:
    return "🤔" if choice == NOT_SURE else project.choices[choice]


def _button(text: str, action: ReviewAction) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode_review(action))


def _card_keyboard(lang: str, card: Card) -> InlineKeyboardMarkup:
    item = card.item.id
    rows = [[_button(label, ReviewAction(ReviewOp.CHOOSE, item, i))]
            for i, label in enumerate(card.project.choices)]
    rows.append([_button(t(lang, "button_drop"), ReviewAction(ReviewOp.DROP, item))])
    rows.append([_button(t(lang, "button_later"), ReviewAction(ReviewOp.LATER, item)),
                 _button(t(lang, "button_who"), ReviewAction(ReviewOp.WHO, item))])
    return InlineKeyboardMarkup(rows)


async def _send_item(bot: Bot, haru: Haru, chat_id: int, item: Item, text: str,
                     keyboard: InlineKeyboardMarkup | None) -> Message:
    """An item to a coordinator: the picture with the text as its caption, or the text."""
    if item.kind is ItemKind.IMAGE and item.media_id is not None:
        async with haru.store.reader() as repo:
            photo: str | bytes | None = await repo.file_id(item.media_id)
            if photo is None:
                photo = await repo.media_bytes(item.media_id)
        return await bot.send_photo(chat_id, photo, caption=text, parse_mode=ParseMode.HTML,
                                    reply_markup=keyboard)
    return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                  reply_markup=keyboard)


async def on_review(haru: Haru, coordinator: Coordinator, update: Update,
                    context: ContextTypes.DEFAULT_TYPE) -> None:
    """/review: the next flagged item, leased to this coordinator."""
    message = update.effective_message
    assert message is not None
    await _next_card(haru, coordinator, context.bot, message.chat_id)


async def _next_card(haru: Haru, coordinator: Coordinator, bot: Bot, chat_id: int) -> None:
    card = await haru.queue.next(coordinator.id, haru.clock())
    lang = coordinator.lang
    if card is None:
        await bot.send_message(chat_id, t(lang, "coord_review_empty"))
        return
    await _send_item(bot, haru, chat_id, card.item, _card_text(lang, card),
                     _card_keyboard(lang, card))


async def on_review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a review card: decide, drop, later, who answered, 📚, next."""
    haru: Haru = context.application.bot_data["haru"]
    query = update.callback_query
    if query is None:
        return
    async with haru.store.reader() as repo:
        coordinator = await repo.coordinator_by_tg(query.from_user.id)
    action = decode_review(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if coordinator is None or action is None or message is None:
        await query.answer(t("ko" if coordinator is None else coordinator.lang, "not_yours"))
        return
    lang, now = coordinator.lang, haru.clock()
    if action.op is ReviewOp.NEXT:
        await query.answer()
        await _strip(message)
        await _next_card(haru, coordinator, context.bot, message.chat_id)
        return
    if action.op is ReviewOp.WHO:
        card = await haru.queue.card(coordinator.id, action.item, now, names=True)
        if isinstance(card, Outcome):
            await _refused(query, message, lang, card)
            return
        await query.answer()
        await _edit(message, _card_text(lang, card), _card_keyboard(lang, card))
        return
    if action.op is ReviewOp.PRACTICE:
        outcome = await haru.queue.use_for_practice(action.item, now)
        await query.answer(t(lang, f"coord_review_{outcome}"))
        if outcome is Outcome.PRACTICE:
            await _edit(message, _text_of(message) + "\n\n" + t(lang, "coord_review_practice"),
                        _after_keyboard(lang, action.item, practice=False))
        return
    if action.op is ReviewOp.LATER:
        outcome = await haru.queue.later(coordinator.id, action.item, now)
    else:
        choice = action.choice if action.op is ReviewOp.CHOOSE else None
        outcome = await haru.queue.decide(coordinator.id, action.item, choice, now)
    if outcome in (Outcome.ALREADY, Outcome.NOT_YOURS):
        await _refused(query, message, lang, outcome)
        return
    await query.answer()
    await _after(haru, coordinator, context.bot, message, action, outcome)


async def _after(haru: Haru, coordinator: Coordinator, bot: Bot, message: Message,
                 action: ReviewAction, outcome: Outcome) -> None:
    lang = coordinator.lang
    if outcome is Outcome.LATER:
        await _strip(message)
        await _next_card(haru, coordinator, bot, message.chat_id)
        return
    async with haru.store.reader() as repo:
        project = await repo.project((await repo.item(action.item)).project_id)
    if outcome is Outcome.DECIDED:
        line = t(lang, "coord_review_decided", choice=escape(project.choices[action.choice]))
    else:
        line = t(lang, "coord_review_dropped")
    keyboard = _after_keyboard(lang, action.item, practice=outcome is Outcome.DECIDED)
    await _edit(message, _text_of(message) + "\n\n" + line, keyboard)


def _after_keyboard(lang: str, item: int, *, practice: bool) -> InlineKeyboardMarkup:
    row = [_button(t(lang, "button_review_next"), ReviewAction(ReviewOp.NEXT, item))]
    if practice:
        row.insert(0, _button(t(lang, "button_practice"), ReviewAction(ReviewOp.PRACTICE, item)))
    return InlineKeyboardMarkup([row])


async def _refused(query: CallbackQuery, message: Message, lang: str, outcome: Outcome
                   ) -> None:
    """A decision that no longer counts: say so kindly, change nothing, offer the next."""
    words = t(lang, f"coord_review_{outcome}")
    await query.answer(words)
    keyboard = _after_keyboard(lang, 0, practice=False)
    await _edit(message, _text_of(message) + "\n\n" + words, keyboard)


def _text_of(message: Message) -> str:
    """The message's text as HTML, to add a line under it."""
    if message.caption is not None:
        return message.caption_html
    return message.text_html if message.text is not None else ""


async def _edit(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        if message.photo:
            await message.edit_caption(caption=text, parse_mode=ParseMode.HTML,
                                       reply_markup=keyboard)
        else:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as exc:  # not modified, deleted, too old
        log.info("could not edit review message %s: %s", message.message_id, exc)


async def _strip(message: Message) -> None:
    if message.reply_markup is not None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as exc:
            log.info("could not remove review buttons from %s: %s", message.message_id, exc)


# --- 🙋 help ---------------------------------------------------------------------------------


async def notify_help(haru: Haru, bot: Bot, worker: Worker, item_id: int) -> int:
    """Tell every reachable coordinator that `worker` asked for help on `item_id`, with the
    item and the answers so far; returns how many were told."""
    async with haru.store.reader() as repo:
        coordinators = await repo.reachable_coordinators()
        item = await repo.item(item_id)
        project = await repo.project(item.project_id)
        found = await repo.item_tally(item_id)
        request = await repo.help_id(worker.id, item_id)
    tally = found.tally if found else Tally((0,) * len(project.choices))
    told = 0
    for coordinator in coordinators:
        if coordinator.chat_id is None:
            continue
        lang = coordinator.lang
        text = "\n\n".join([
            t(lang, "coord_help_request", name=escape(worker.name),
              project=escape(project.name)),
            *([f"<blockquote>{escape(item.text or '')}</blockquote>"]
              if item.kind is ItemKind.TEXT else []),
            f"<b>{escape(project.question)}</b>",
            votes_text(lang, project, tally),
            t(lang, "coord_help_reply", name=escape(worker.name)),
        ])
        try:
            sent = await _send_item(bot, haru, coordinator.chat_id, item, text, None)
        except (Forbidden, NetworkError) as exc:
            log.warning("could not tell coordinator %s about a help request: %s",
                        coordinator.id, exc)
            continue
        told += 1
        if request is not None:
            async with haru.store.uow() as repo:
                await repo.add_help_message(request, coordinator.id, sent.chat_id,
                                            sent.message_id)
    return told


async def forward_reply(haru: Haru, coordinator: Coordinator, message: Message,
                        bot: Bot) -> Worker | None:
    """A coordinator's reply to a help request goes to the worker; returns that worker, or
    None when the message was not a reply to a help request."""
    replied = message.reply_to_message
    if replied is None or not message.text:
        return None
    async with haru.store.reader() as repo:
        found = await repo.help_by_message(message.chat_id, replied.message_id)
        worker = await repo.worker(found[0]) if found else None
    if worker is None or worker.chat_id is None:
        return None
    # The reply as its own message (a picture's caption would be too short for it), then the
    # worker's screen drawn anew below it, so the newest message has the buttons.
    words = (f"{t(worker.lang, 'help_reply', name=escape(coordinator.name))}\n"
             f"<blockquote>{escape(message.text[:MAX_REPLY_CHARS])}</blockquote>")
    try:
        async with haru.turns.of(worker.id):
            await bot.send_message(worker.chat_id, words, parse_mode=ParseMode.HTML)
            screen = await haru.labeling.again(worker.id, haru.clock())
            await show(bot, haru, screen, worker.chat_id, None)
    except (Forbidden, NetworkError) as exc:
        log.warning("could not pass a reply on to worker %s: %s", worker.id, exc)
        await message.reply_html(t(coordinator.lang, "coord_reply_failed",
                                   name=escape(worker.name)))
        return worker
    await message.reply_html(t(coordinator.lang, "coord_reply_sent", name=escape(worker.name)))
    return worker
