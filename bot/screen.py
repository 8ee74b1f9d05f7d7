"""Drawing a worker's screen on Telegram with as few Bot API calls as possible.

The work message is edited in place (one call per answer); a picture is uploaded once and
its Telegram file_id reused from then on.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace

from telegram import Bot, InputMediaPhoto, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.warnings import PTBUserWarning

from bot.ahead import Ahead, predict
from bot.services import Haru
from bot.views import View, render
from tasks.labeling import Screen

log = logging.getLogger(__name__)
# draw_ahead calls editMessage* through Bot.do_api_request on purpose (see there).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.editMessage",
                        category=PTBUserWarning)


def _kind(message: Message) -> str:
    return "photo" if message.photo else "text"


Photo = str | bytes | None


async def _photo(haru: Haru, media_id: int | None) -> tuple[Photo, bool]:
    """The picture to send: its file_id if Telegram has it, else the bytes (uploaded once)."""
    if media_id is None:
        return None, False
    if file_id := haru.file_ids.get(media_id):
        return file_id, False
    async with haru.store.reader() as repo:
        file_id = await repo.file_id(media_id)
        if file_id:
            haru.file_ids.put(media_id, file_id)
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


async def show(
    bot: Bot, haru: Haru, screen: Screen, chat_id: int, tapped: Message | None,
    intro: str | None = None,
) -> None:
    """Draw `screen`: edit the tapped message when it can hold it, else send a new one and
    take the buttons off the one it replaces, so only the newest screen has buttons."""
    haru.ahead.forget(chat_id)
    view = render(screen, intro)
    photo, uploaded = await _photo(haru, view.media_id)
    try:
        sent = await _draw(bot, view, photo, chat_id, tapped)
    except BadRequest as exc:
        if uploaded or view.media_id is None or "file" not in str(exc).lower():
            raise
        # Telegram no longer knows the stored file_id (e.g. the database moved to another
        # bot): forget it and upload the picture again, once.
        log.info("file_id of picture %s refused (%s); uploading it again", view.media_id, exc)
        async with haru.store.uow() as repo:
            await repo.set_file_id(view.media_id, None)
        haru.file_ids.put(view.media_id, None)
        photo, uploaded = await _photo(haru, view.media_id)
        sent = await _draw(bot, view, photo, chat_id, tapped)
    except Forbidden:
        log.warning("worker %s has blocked the bot", screen.worker.id)
        return
    haru.rendered[screen.worker.id] = screen.seq
    if sent is not tapped:
        old = {screen.message_id}
        if tapped is not None and tapped.reply_markup is not None:
            old.add(tapped.message_id)
        for message_id in old - {None, sent.message_id}:
            assert message_id is not None
            await remove_keyboard(bot, chat_id, message_id)
    await _remember(haru, screen, view, sent, uploaded)
    await prepare(haru, screen, sent)


async def prepare(haru: Haru, screen: Screen, drawn: Message) -> None:
    """Keep the screen an answer on `screen` (drawn as `drawn`) would bring."""
    upcoming = screen.upcoming
    if upcoming is None or not drawn.chat_id:
        return
    if bool(drawn.photo) != (upcoming.media_id is not None):  # a new message: the slow way
        return
    ahead = predict(screen, drawn.message_id, drawn.chat_id, _kind(drawn))
    if ahead is not None:
        haru.ahead.put(ahead)


def ahead_photo(haru: Haru, ahead: Ahead) -> str | None:
    """The file_id to draw the prepared screen's picture with ("" for a sentence; None: the
    picture is not on Telegram yet, so the tap takes the usual way and uploads it)."""
    if ahead.media_id is None:
        return ""
    return haru.file_ids.get(ahead.media_id)


async def draw_ahead(bot: Bot, ahead: Ahead, photo: str, choice: int, tapped: Message) -> bool:
    """Edit the tapped message into the screen prepared for `choice`; False if Telegram
    would not take it (the caller then draws what the save returns). The keyboard was made
    into the Bot API's form when prepared, and Telegram's answer (the edited message) is not
    read back: nothing here needs it."""
    where = {"chat_id": tapped.chat_id, "message_id": tapped.message_id,
             "reply_markup": ahead.keyboard}
    text = ahead.texts[choice]
    try:
        if photo:
            media = {"type": "photo", "media": photo, "caption": text,
                     "parse_mode": ParseMode.HTML}
            await bot.do_api_request("editMessageMedia", {**where, "media": media})
        else:
            await bot.do_api_request("editMessageText",
                                     {**where, "text": text, "parse_mode": ParseMode.HTML})
    except TelegramError as exc:  # refused, blocked, a network failure: the save comes first
        log.info("could not draw the next item ahead on %s: %s", tapped.message_id, exc)
        return False
    return True


def drawn_right(ahead: Ahead, choice: int, screen: Screen) -> bool:
    """Whether the screen the save returned is the one drawn ahead for `choice`: the same
    item, place, words and buttons (the worker's other fields, such as when their next batch
    is due, do not show on it)."""
    expected = ahead.screen(choice)
    return (screen.worker.lang == expected.worker.lang
            and replace(screen, worker=expected.worker, message_id=expected.message_id,
                        message_kind=expected.message_kind) == expected)


async def _draw(
    bot: Bot, view: View, photo: Photo, chat_id: int, tapped: Message | None
) -> Message:
    """Edit the tapped message if it can take the view; otherwise send a new message."""
    if _can_edit(view, tapped):
        assert tapped is not None
        try:
            edited = await _edit(bot, view, photo, tapped)
            return edited if isinstance(edited, Message) else tapped
        except BadRequest as exc:
            text = str(exc).lower()
            if "not modified" in text:
                return tapped
            if "file" in text:
                raise
            # Deleted by the worker, too old to edit, ...: draw it anew below.
            log.info("could not edit message %s: %s", tapped.message_id, exc)
    return await _send(bot, view, photo, chat_id)


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
    if file_id and view.media_id is not None:
        haru.file_ids.put(view.media_id, file_id)


async def remove_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off an old message, so it cannot be answered again."""
    try:
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )
    except BadRequest as exc:  # already without buttons, deleted, ...
        log.info("could not remove old buttons from %s: %s", message_id, exc)
