"""Drawing a worker's screen on Telegram with as few Bot API calls as possible.

The work message is edited in place (one call per answer); a picture is uploaded once and
its Telegram file_id reused from then on.
"""

from __future__ import annotations

import logging

from telegram import Bot, InputMediaPhoto, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.services import Haru
from bot.views import View, render
from tasks.labeling import Screen

log = logging.getLogger(__name__)


def _kind(message: Message) -> str:
    return "photo" if message.photo else "text"


Photo = str | bytes | None


async def _photo(haru: Haru, media_id: int | None) -> tuple[Photo, bool]:
    """The picture to send: its file_id if Telegram has it, else the bytes (uploaded once)."""
    if media_id is None:
        return None, False
    async with haru.store.reader() as repo:
        file_id, _ = await repo.media(media_id)
        if file_id:
            return file_id, False
        return await repo.media_bytes(media_id), True


async def _edit(bot: Bot, view: View, photo: Photo, message: Message) -> Message | bool:
    chat_id, message_id = message.chat_id, message.message_id
    if photo is not None:
        media = InputMediaPhoto(photo, caption=view.text, parse_mode=ParseMode.HTML)
        return await bot.edit_message_media(
            media, chat_id=chat_id, message_id=message_id, reply_markup=view.keyboard
        )
    if message.photo:
        return await bot.edit_message_caption(
            chat_id=chat_id, message_id=message_id, caption=view.text,
            parse_mode=ParseMode.HTML, reply_markup=view.keyboard,
        )
    return await bot.edit_message_text(
        view.text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
        reply_markup=view.keyboard,
    )


async def _send(bot: Bot, view: View, photo: Photo, chat_id: int) -> Message:
    if photo is not None:
        return await bot.send_photo(
            chat_id, photo, caption=view.text, parse_mode=ParseMode.HTML,
            reply_markup=view.keyboard,
        )
    return await bot.send_message(
        chat_id, view.text, parse_mode=ParseMode.HTML, reply_markup=view.keyboard
    )


def _can_edit(view: View, tapped: Message | None) -> bool:
    """A picture can replace a picture; a sentence needs a text message; any message can take
    a short note (break, done) as its text or caption."""
    if tapped is None:
        return False
    if view.media_id is not None:
        return bool(tapped.photo)
    return not (view.is_item and tapped.photo)


async def show(bot: Bot, haru: Haru, screen: Screen, chat_id: int, tapped: Message | None) -> None:
    """Draw `screen`: edit the tapped message when it can hold it, else send a new one."""
    view = render(screen)
    photo, uploaded = await _photo(haru, view.media_id)
    sent: Message | bool | None = None
    if _can_edit(view, tapped):
        assert tapped is not None
        try:
            sent = await _edit(bot, view, photo, tapped)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                sent = tapped
            else:  # deleted by the worker, too old to edit, ...: draw it anew below
                log.info("could not edit message %s: %s", tapped.message_id, exc)
    if sent is None:
        try:
            sent = await _send(bot, view, photo, chat_id)
        except Forbidden:
            log.warning("worker %s has blocked the bot", screen.worker.id)
            return
        if tapped is not None and tapped.reply_markup is not None:
            await remove_keyboard(bot, tapped)
    haru.rendered[screen.worker.id] = screen.seq
    message = sent if isinstance(sent, Message) else tapped
    if message is not None:
        await _remember(haru, screen, view, message, uploaded)


async def _remember(
    haru: Haru, screen: Screen, view: View, message: Message, uploaded: bool
) -> None:
    """Keep the id of the work message, and the file_id of a picture's first upload."""
    file_id = message.photo[-1].file_id if uploaded and message.photo else None
    moved = message.message_id != screen.message_id or _kind(message) != screen.message_kind
    if not moved and file_id is None:
        return
    async with haru.store.uow() as repo:
        if moved:
            await repo.set_message(screen.worker.id, message.message_id, _kind(message))
        if file_id and view.media_id is not None:
            await repo.set_file_id(view.media_id, file_id)


async def remove_keyboard(bot: Bot, message: Message) -> None:
    """Take the buttons off an old message, so it cannot be answered again."""
    try:
        await bot.edit_message_reply_markup(
            chat_id=message.chat_id, message_id=message.message_id, reply_markup=None
        )
    except BadRequest as exc:
        log.info("could not remove old buttons from %s: %s", message.message_id, exc)
