"""Telegram handlers: parse the update, call one service, draw the answer. Always answer a tap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from html import escape

from telegram import CallbackQuery, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.ahead import Ahead
from bot.callbacks import Action, Op, decode
from bot.coord_tools import on_import_command, on_invite, on_status
from bot.coordinators import (
    coordinator_help,
    coordinator_of,
    on_help,
    on_pause_or_resume,
    on_workers,
)
from bot.family import ask_consent, greet_guardian, on_share, refuse_guardian
from bot.i18n import language_for, t
from bot.reviewing import forward_reply, notify_help, on_review
from bot.screen import ahead_photo, draw_ahead, drawn_right, prepare, remove_keyboard, show
from bot.services import Haru
from bot.stats import on_stats
from tasks.daily import reachable_again
from tasks.family import Guardian
from tasks.labeling import Note, Screen, Stale
from tasks.model import Coordinator, Worker
from tasks.workers import JoinOutcome, JoinResult, join

log = logging.getLogger(__name__)


def _message(query: CallbackQuery) -> Message | None:
    """The message under the tapped button, unless Telegram no longer lets us see it."""
    return query.message if isinstance(query.message, Message) else None


def _haru(context: ContextTypes.DEFAULT_TYPE) -> Haru:
    haru: Haru = context.application.bot_data["haru"]
    return haru


async def _worker(haru: Haru, user: User) -> Worker | None:
    """The worker behind a Telegram account. Hearing from them means they can be reached."""
    async with haru.store.quick_reader() as repo:
        worker = await repo.worker_by_tg(user.id)
    if worker is not None and worker.unreachable_at is not None:
        async with haru.store.uow() as repo:
            await reachable_again(repo, worker, haru.clock())
    return worker


async def _redraw(haru: Haru, context: ContextTypes.DEFAULT_TYPE, worker: Worker, intro: str,
                  chat_id: int) -> None:
    """Send the worker's current screen anew at the bottom of the chat, `intro` first."""
    async with haru.turns.of(worker.id):
        screen = await haru.labeling.again(worker.id, haru.clock())
        await show(context.bot, haru, screen, chat_id, None, intro)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [code]: join with an invite code, or greet a worker who comes back."""
    haru, user, message = _haru(context), update.effective_user, update.effective_message
    if user is None or message is None:
        return
    code = context.args[0] if context.args else None
    if code is None:
        worker = await _worker(haru, user)
        outcome = JoinOutcome.INVALID if worker is None else JoinOutcome.ALREADY
    else:
        lang = language_for(user.language_code)
        async with haru.store.uow() as repo:
            result = await join(repo, code, user.id, message.chat_id, lang, haru.clock())
        if result.worker is not None:  # maybe from a new phone: the old one answers nothing
            haru.ahead.forget_worker(result.worker.id)
        if result.coordinator is not None and result.outcome is not JoinOutcome.INVALID:
            await _coordinator_welcome(message, result.coordinator)
            return
        if result.guardian is not None and await _guardian_link(haru, context, message,
                                                                result):
            return
        # Whoever this account is now (also: writing again means they can be reached).
        outcome, worker = result.outcome, await _worker(haru, user)
    if worker is None and (coordinator := await coordinator_of(haru, update)) is not None:
        if code is not None:
            await message.reply_html(t(coordinator.lang, "invite_invalid"))
        await _coordinator_welcome(message, coordinator)
        return
    if worker is None and (guardians := await _guardians(haru, user)):
        if code is not None:
            await message.reply_html(t(guardians[0].lang, "invite_invalid"))
        for guardian in guardians:  # a parent of two: each of their workers
            async with haru.store.reader() as repo:
                subject = await repo.worker(guardian.worker_id)
            await greet_guardian(message, guardian, subject, again=True)
        return
    if worker is None:  # a stranger, or a link that does not work: one short line
        await _stranger(haru, update, "stranger" if code is None else "invite_invalid")
        return
    # A guardian whose worker could not be asked yet (not joined, blocked): asked now.
    await _ask_pending(haru, context, worker)
    # A worker always gets their screen back, below a line about what happened.
    key = {JoinOutcome.JOINED: "welcome", JoinOutcome.ALREADY: "welcome_back",
           JoinOutcome.OTHER: "invite_other", JoinOutcome.INVALID: "link_unusable",
           JoinOutcome.SELF: "link_unusable"}[outcome]
    await _redraw(haru, context, worker, t(worker.lang, key, name=escape(worker.name)),
                  message.chat_id)


async def _guardians(haru: Haru, user: User) -> list[Guardian]:
    """The guardian rows of this account. Hearing from them means they can be reached."""
    async with haru.store.reader() as repo:
        guardians = await repo.guardians_by_tg(user.id)
    if any(g.unreachable_at is not None for g in guardians):
        async with haru.store.uow() as repo:
            for guardian in guardians:
                await repo.set_guardian_unreachable(guardian.id, None)
    return guardians


async def _guardian_link(haru: Haru, context: ContextTypes.DEFAULT_TYPE, message: Message,
                         result: JoinResult) -> bool:
    """A guardian's link was opened. True when that is all there is to answer."""
    guardian = result.guardian
    assert guardian is not None
    if result.outcome in (JoinOutcome.JOINED, JoinOutcome.ALREADY):
        async with haru.store.reader() as repo:
            worker = await repo.worker(guardian.worker_id)
            guardian = await repo.guardian(guardian.id) or guardian
        await greet_guardian(message, guardian, worker,
                             again=result.outcome is JoinOutcome.ALREADY)
        if result.outcome is JoinOutcome.JOINED:
            await ask_consent(context.bot, haru, guardian)
        return True
    lang = language_for(message.from_user.language_code if message.from_user else None)
    if result.outcome is JoinOutcome.SELF and result.worker is not None:
        # The worker opened their guardian's link: nothing linked; their work stays below.
        await _redraw(haru, context, result.worker, t(result.worker.lang, "guardian_self"),
                      message.chat_id)
        return True
    if result.outcome is JoinOutcome.OTHER:
        if result.worker is not None:
            await _redraw(haru, context, result.worker, t(result.worker.lang, "guardian_other"),
                          message.chat_id)
        else:
            await message.reply_text(t(lang, "guardian_other"))
        return True
    return False  # used or expired: answered like any link that does not work


async def _ask_pending(haru: Haru, context: ContextTypes.DEFAULT_TYPE, worker: Worker) -> None:
    """A worker who joins after their guardian did is asked then."""
    async with haru.store.reader() as repo:
        pending = [g for g in await repo.guardians_of(worker.id)
                   if g.joined and g.asked_at is None]
    for guardian in pending:
        await ask_consent(context.bot, haru, guardian)


async def _coordinator_welcome(message: Message, coordinator: Coordinator) -> None:
    lang = coordinator.lang
    welcome = t(lang, "coord_welcome", name=escape(coordinator.name))
    await message.reply_html(f"{welcome}\n\n{coordinator_help(lang)}")


async def on_coordinator_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/workers, /pause NAME, /resume NAME, /review, /stats, /status [PROJECT], /invite worker
    NAME PROJECT, /import (how to send work as a file), /help: for coordinators; anyone else
    gets what any other word gets them."""
    haru, message = _haru(context), update.effective_message
    coordinator = await coordinator_of(haru, update)
    if coordinator is None or message is None or not message.text:
        await on_message(update, context)
        return
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    if command == "workers":
        await on_workers(haru, coordinator, update)
    elif command == "review":
        await on_review(haru, coordinator, update, context)
    elif command == "stats":
        await on_stats(haru, coordinator, update)
    elif command == "status":
        await on_status(haru, coordinator, update, context)
    elif command == "invite":
        await on_invite(haru, coordinator, update, context)
    elif command == "import":
        await on_import_command(haru, coordinator, update)
    elif command in ("pause", "resume"):
        await on_pause_or_resume(haru, coordinator, update, context, command)
    else:
        await on_help(haru, coordinator, update)


async def on_share_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/share (👀 in a worker's menu): what each of their guardians sees."""
    haru, user = _haru(context), update.effective_user
    worker = await _worker(haru, user) if user is not None else None
    if worker is None:
        await on_message(update, context)
        return
    await on_share(haru, worker, update, context)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typed text, a photo, an unknown command: point to the buttons, which come right below."""
    haru, user, message = _haru(context), update.effective_user, update.effective_message
    if user is None or message is None:
        return
    worker = await _worker(haru, user)
    if worker is None:
        coordinator = await coordinator_of(haru, update)
        if coordinator is not None:
            if await forward_reply(haru, coordinator, message, context.bot) is None:
                await on_help(haru, coordinator, update)
        elif guardians := await _guardians(haru, user):
            if haru.may_answer_stranger(user.id):  # polite, and never a flood
                await refuse_guardian(haru, message, guardians)
        else:
            await _stranger(haru, update, "stranger")
        return
    await _redraw(haru, context, worker, t(worker.lang, "pointer"), message.chat_id)


async def _stranger(haru: Haru, update: Update, key: str) -> None:
    """One short polite line for someone who is not (yet) a worker; then silence if they
    keep writing, so nobody can be flooded through the bot."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not haru.may_answer_stranger(user.id):
        return
    await message.reply_text(t(language_for(user.language_code), key))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a button: save, go back, take a break, or start (one user's taps come one
    after another: bot/updates.py)."""
    haru, query = _haru(context), update.callback_query
    if query is None:
        return
    ahead = haru.ahead.take(query.from_user.id)
    action = decode(query.data)
    message = _message(query)
    if ahead is not None and action is not None and message is not None \
            and _fits(ahead, action, message) \
            and (photo := ahead_photo(haru, ahead)) is not None:
        # The phone the screen was drawn for (a worker who joins from another phone has
        # what was prepared for them forgotten), and still the screen last drawn for them
        # (a coordinator's reply may have drawn a newer one meanwhile).
        async with haru.turns.of(ahead.worker_id):
            if haru.rendered.get(ahead.worker_id) == ahead.seq:
                await _answer_ahead(haru, ahead, photo, action.choice, query, message,
                                    context)
                return
    await _on_button(haru, query, context)


def _fits(ahead: Ahead, action: Action, message: Message) -> bool:
    """Whether the tap is an answer on the very screen the next one was prepared for."""
    return (action.op is Op.ANSWER and action.seq == ahead.seq
            and action.item == ahead.item_id and action.choice in ahead.texts
            and message.message_id == ahead.message_id and message.chat.id == ahead.chat_id)


async def _answer_ahead(haru: Haru, ahead: Ahead, photo: str, choice: int,
                        query: CallbackQuery, message: Message,
                        context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap and draw the prepared next item at once, and save the answer beside
    it (the save never waits for Telegram). Then, if the save says otherwise (or fails),
    draw what is true over it. Whatever Telegram says to the first two calls, the answer is
    saved."""
    drawing = asyncio.ensure_future(_draw_ahead(ahead, photo, choice, query, message, context))
    await asyncio.sleep(0)  # the calls leave now; the save goes on while Telegram replies
    try:
        result = await haru.labeling.answer(ahead.worker_id, ahead.seq, ahead.item_id, choice,
                                            haru.clock())
    except BaseException:
        # Not saved: the item tapped comes back, so the worker can answer it again.
        await asyncio.wait([drawing])
        haru.rendered.pop(ahead.worker_id, None)
        with contextlib.suppress(Exception):
            screen = await haru.labeling.current(ahead.worker_id, haru.clock())
            await show(context.bot, haru, screen, ahead.chat_id, message)
        raise
    drawn = await drawing
    if drawn:
        haru.rendered[ahead.worker_id] = ahead.seq + 1
    if isinstance(result, Stale):
        # Something changed the screen in between (a day that ended, a coordinator):
        # whatever is true now is drawn; the old buttons no longer count.
        screen = await haru.labeling.current(ahead.worker_id, haru.clock())
        await show(context.bot, haru, screen, ahead.chat_id, message)
        return
    if not drawn or not drawn_right(ahead, choice, result):
        await show(context.bot, haru, result, ahead.chat_id, message)
        return
    await prepare(haru, result, message)


async def _draw_ahead(ahead: Ahead, photo: str, choice: int, query: CallbackQuery,
                      message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    try:
        await query.answer()
    except TelegramError as exc:
        log.info("could not answer a tap: %s", exc)
    return await draw_ahead(context.bot, ahead, photo, choice, message)


async def _on_button(haru: Haru, query: CallbackQuery,
                     context: ContextTypes.DEFAULT_TYPE) -> None:
    message = _message(query)
    worker = await _worker(haru, query.from_user)
    if worker is None or (message is not None and message.chat.id != query.from_user.id):
        # A stranger, or a button replayed from another chat: never act on someone else's.
        await query.answer(t(language_for(query.from_user.language_code), "not_yours"))
        return
    async with haru.turns.of(worker.id):
        await _worker_button(haru, worker, query, message, context)


async def _worker_button(haru: Haru, worker: Worker, query: CallbackQuery,
                         message: Message | None, context: ContextTypes.DEFAULT_TYPE) -> None:
    action = decode(query.data)
    if action is None:
        await _stale(haru, worker, query, Stale(already_saved=False), context)
        return
    if action.op is Op.HELP:
        await _help(haru, worker, query, action, context)
        return
    result = await _act(haru, worker, action)
    if isinstance(result, Stale):
        await _stale(haru, worker, query, result, context)
        return
    await query.answer()
    chat_id = worker.chat_id or query.from_user.id
    await show(context.bot, haru, result, chat_id, message)


async def _help(haru: Haru, worker: Worker, query: CallbackQuery, action: Action,
                context: ContextTypes.DEFAULT_TYPE) -> None:
    """🙋: the coordinators hear once per item; the worker reads that they did."""
    result = await haru.labeling.help(worker.id, action.item, haru.clock())
    if isinstance(result, Stale):
        await _stale(haru, worker, query, result, context)
        return
    screen, new = result
    if new and not await notify_help(haru, context.bot, worker, action.item):
        # Nobody could be told: say so, and let a later tap try again.
        async with haru.store.uow() as repo:
            await repo.forget_help(worker.id, action.item)
        screen = replace(screen, note=Note.NOBODY)
    await query.answer(t(worker.lang, f"note_{screen.note}"))
    await show(context.bot, haru, screen, worker.chat_id or query.from_user.id, _message(query))


async def _act(haru: Haru, worker: Worker, action: Action) -> Screen | Stale:
    labeling, now = haru.labeling, haru.clock()
    if action.op is Op.START:
        return await labeling.resume(worker.id, action.seq, now)
    if action.op is Op.ANSWER:
        return await labeling.answer(worker.id, action.seq, action.item, action.choice, now)
    if action.op is Op.BACK:
        return await labeling.back(worker.id, action.seq, action.item, now)
    return await labeling.pause(worker.id, action.seq, action.item, now)


async def _stale(
    haru: Haru, worker: Worker, query: CallbackQuery, stale: Stale,
    context: ContextTypes.DEFAULT_TYPE,
) -> None:
    """Nothing changes. Tell the worker kindly, and make sure the newest screen is right."""
    message = _message(query)
    screen = await haru.labeling.current(worker.id, haru.clock())
    # Where the screen is may be unknown (a notice that may not have arrived): then the
    # tapped message becomes the screen.
    newest = message is not None and screen.message_id in (None, message.message_id)
    if stale.already_saved:
        await query.answer(t(worker.lang, "stale_saved"))
    elif newest:
        await query.answer()  # a second tap on the newest screen: it already shows the first
    else:
        await query.answer(t(worker.lang, "stale"))
    if message is None:
        return
    if not newest:
        if message.reply_markup is not None:  # the old message loses its buttons
            await remove_keyboard(context.bot, message.chat_id, message.message_id)
    elif haru.rendered.get(worker.id) != screen.seq:
        # Its last drawing may not have reached Telegram (a restart, a failed edit).
        await show(context.bot, haru, screen, message.chat_id, message)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the unexpected with its traceback; answer a pending tap so no spinner is left."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.callback_query is not None:
        try:
            lang = language_for(update.callback_query.from_user.language_code)
            await update.callback_query.answer(t(lang, "error"))
        except Exception:  # the query may be answered already or too old
            log.debug("could not answer the callback after an error", exc_info=True)
