"""A Bot API that answers at once: the fake both Haru and the floor run on in the benchmarks.

It keeps no chats and checks nothing; it notes when each call arrives (`perf_counter`), its
method, whether it carried a file, and answers with the smallest body Telegram would give:
`true`, or a Message with the chat and message id the call named (a photo message, with a
new file_id, when a picture was sent). Its own cost is the same for Haru and for the floor.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from telegram.request import RequestData

from bot.offline import InProcessApi

BOT = {"id": 7000001, "is_bot": True, "first_name": "Haru", "username": "haru_bench_bot"}
MESSAGES = {"sendMessage", "sendPhoto", "editMessageText", "editMessageCaption",
            "editMessageMedia", "editMessageReplyMarkup"}
_PHOTOS = {"sendPhoto", "editMessageMedia"}
_TRUE = b'{"ok":true,"result":true}'


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the call reached the fake
    method: str
    chat_id: int | None
    upload: str | None  # a picture uploaded: its bytes' digest (None: no upload)


class InstantTelegram(InProcessApi):
    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        # chat -> (newest message with buttons, its inline keyboard): what a phone would tap
        self.screens: dict[int, tuple[dict[str, Any], list[list[dict[str, Any]]]]] = {}
        self.words: dict[int, str] = {}  # chat -> the text or caption of that message
        self.changed: dict[int, asyncio.Event] = {}  # set when a chat's screen changes
        self._ids = itertools.count(1_000_000)

    async def answer(self, url: str, method: str,
                     request_data: RequestData | None) -> tuple[int, bytes]:
        at = time.perf_counter()
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        upload = None
        if request_data is not None and request_data.contains_files:
            parts = request_data.multipart_data.values()
            upload = hashlib.sha256(b"".join(
                p[1] for p in parts if isinstance(p[1], bytes))).hexdigest()[:16]
        chat = params.get("chat_id")
        chat_id = int(chat) if chat is not None else None
        self.arrivals.append(Arrival(at, name, chat_id, upload))
        if name == "getMe":
            return 200, json.dumps({"ok": True, "result": BOT}).encode()
        if name not in MESSAGES:
            return 200, _TRUE
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or next(self._ids)), "date": 1_790_000_000,
            "chat": {"id": chat_id or 0, "type": "private", "first_name": "W"},
        }
        if name in _PHOTOS or (name == "editMessageCaption"):
            number = next(self._ids)
            message["photo"] = [{"file_id": f"AgAC{number}", "file_unique_id": f"u{number}",
                                 "width": 1280, "height": 960}]
            message["caption"] = "."
        else:
            message["text"] = "."
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard") and chat_id is not None:
            self.screens[chat_id] = (message, markup["inline_keyboard"])
            media = params.get("media")
            words = params.get("text") or params.get("caption") or (
                media.get("caption") if isinstance(media, dict) else "")
            self.words[chat_id] = str(words or "")
            if (event := self.changed.get(chat_id)) is not None:
                event.set()
        return 200, json.dumps({"ok": True, "result": message}).encode()
