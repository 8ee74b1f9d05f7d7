"""Drawing the next item before the answer is saved, and making sure it was right.

A worker's tap costs mostly SQLite: a dozen statements and an fsync. Python-telegram-bot itself
needs far less to answer the tap and edit the message (bench/tap.py measures both). So when
an item is drawn, the screen an answer to it would bring is prepared beside it (`Ahead`):
the next reserved item, its keyboard, its words for each choice, its picture's file_id. A tap
that matches it gets that screen at once; then the answer is saved in its transaction as
always, and the screen the transaction returns is compared with the one drawn. If they differ
(the day ended, a coordinator changed something, the save failed), the true screen is drawn
over it right away. The answer is on disk long before the edit's network round trip brings
the next item to the phone (one fsync against tens of milliseconds); if Haru stops in
between, the next tap is on a screen the database does not know and the worker sees the item
again. Nothing is saved that the worker did not tap, and nothing tapped is lost silently.

One user's updates are handled one after another (bot/updates.py), so a double tap on a
screen drawn ahead waits for the first to be saved and is then answered as a double tap.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from bot.views import note_line, render
from tasks.labeling import Note, Screen
from tasks.model import Mode
from tasks.ports import NOT_SURE

KEPT = 2_000  # screens kept ahead: the workers tapping right now, not everyone who ever did
FILE_IDS = 20_000  # pictures' Telegram file_ids kept in memory (~100 bytes each)


@dataclass(frozen=True)
class Ahead:
    """What an answer on the screen `seq` (showing `item_id` on `message_id`) brings."""

    worker_id: int
    chat_id: int
    message_id: int
    seq: int
    item_id: int
    following: Screen  # the next screen, but for the choice tapped
    keyboard: dict[str, Any]  # its buttons, as the Bot API takes them (made once, here)
    texts: dict[int, str]  # choice -> the next screen's words with "saved: <choice>"
    media_id: int | None  # the next item's picture (None: a sentence)

    def screen(self, choice: int) -> Screen:
        """The screen the save should return for `choice`, if the guess was right."""
        return replace(self.following, note_choice=choice)


def predict(screen: Screen, message_id: int, chat_id: int, kind: str) -> Ahead | None:
    """The screen an answer on `screen` would bring, if the next item is known; `kind` is
    the message it is drawn on ("photo" or "text")."""
    upcoming = screen.upcoming
    if screen.mode is not Mode.WORK or screen.item is None or upcoming is None:
        return None
    following = replace(
        screen, seq=screen.seq + 1, item=upcoming, position=screen.position + 1,
        note=Note.SAVED, note_choice=None, minutes=0, upcoming=None, message_id=message_id,
        message_kind=kind,
    )
    # One drawing; only the line "saved: <choice>" on top differs between the choices.
    body = render(replace(following, note=None))
    texts = {}
    for choice in [*range(len(screen.project.choices)), NOT_SURE]:
        note = note_line(replace(following, note_choice=choice))
        texts[choice] = f"{note}\n\n{body.text}" if note else body.text
    keyboard = body.keyboard.to_dict() if body.keyboard is not None else {}
    return Ahead(screen.worker.id, chat_id, message_id, screen.seq, screen.item.id, following,
                 keyboard, texts, body.media_id)


class FileIds:
    """The Telegram file_ids of pictures lately shown, so a screen drawn ahead needs no
    database read; the oldest are forgotten first (the database keeps them all)."""

    def __init__(self, kept: int = FILE_IDS) -> None:
        self._kept = kept
        self._ids: OrderedDict[int, str] = OrderedDict()

    def get(self, media_id: int) -> str | None:
        return self._ids.get(media_id)

    def put(self, media_id: int, file_id: str | None) -> None:
        if file_id is None:
            self._ids.pop(media_id, None)
            return
        self._ids[media_id] = file_id
        self._ids.move_to_end(media_id)
        while len(self._ids) > self._kept:
            self._ids.popitem(last=False)


class Screens:
    """The prepared screens, by chat; at most `KEPT`, the oldest forgotten first."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._by_chat: OrderedDict[int, Ahead] = OrderedDict()

    def put(self, ahead: Ahead) -> None:
        self._by_chat[ahead.chat_id] = ahead
        self._by_chat.move_to_end(ahead.chat_id)
        while len(self._by_chat) > self._kept:
            self._by_chat.popitem(last=False)

    def take(self, chat_id: int) -> Ahead | None:
        """The screen prepared for this chat; it is used at most once."""
        return self._by_chat.pop(chat_id, None)

    def forget(self, chat_id: int) -> None:
        self._by_chat.pop(chat_id, None)

    def forget_worker(self, worker_id: int) -> None:
        """What was prepared for this worker on any phone (they joined from another one)."""
        for chat_id in [c for c, a in self._by_chat.items() if a.worker_id == worker_id]:
            del self._by_chat[chat_id]

    def __len__(self) -> int:
        return len(self._by_chat)
