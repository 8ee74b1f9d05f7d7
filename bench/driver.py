"""The real Haru Application on the instant Bot API, and phones that tap it, for the benchmarks.

Workers join by invite and /start exactly as in production; a tap is a real callback-query
`Update` built from the newest keyboard the bot sent that chat, fed to
`Application.process_update` (or, for concurrency, put on the update queue of a running
Application).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bench.instant import InstantTelegram
from bot.app import build_application
from bot.config import Config
from storage.repo import SqlItemSink, Store
from tasks.importing import PreparedImage, PreparedText
from tasks.workers import invite_worker

TOKEN = "123456:BENCH-token"
CHOICES = ("🐶 Dog", "🐱 Cat")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def jpeg(number: int, size: int = 64) -> bytes:
    """A small distinct JPEG (what import makes of a photo, only smaller)."""
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (size, size), (number * 7 % 256, number * 13 % 256, 100)).save(
        buffer, "JPEG")
    return buffer.getvalue()


class Bot:
    """Haru on a SQLite file in `folder`, talking to an InstantTelegram."""

    def __init__(self, folder: Path) -> None:
        self.telegram = InstantTelegram()
        self.clock = Clock()
        config = Config(db_path=folder / "haru.db", token=TOKEN, api_url="https://fake.invalid",
                        bot_username=None)
        self.app: Application = build_application(  # type: ignore[type-arg]
            config, request=self.telegram, clock=self.clock, rate_limit=False)
        self.app.updater = None  # updates are fed by hand
        self._updates = itertools.count(1)
        self._queries = itertools.count(1)

    async def start(self) -> None:
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)

    async def stop(self) -> None:
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)
        await self.app.shutdown()

    @property
    def store(self) -> Store:
        return self.app.bot_data["haru"].store  # type: ignore[no-any-return]

    async def project(self, name: str, items: int, *, pictures: bool, overlap: int = 3) -> int:
        async with self.store.uow() as repo:
            project = await repo.create_project(name, "What is it?", CHOICES, overlap,
                                                self.clock())
        prepared: list[PreparedImage | PreparedText] = []
        for i in range(items):
            if pictures:
                prepared.append(PreparedImage(jpeg(i), 64, 64, f"img:{name}:{i}", f"p{i}.jpg"))
            else:
                prepared.append(PreparedText(f"Sentence number {i} of {name}.",
                                             f"txt:{name}:{i}", f"s.csv:{i}"))
        await SqlItemSink(self.store).add_items(project.id, prepared)
        return project.id

    async def join(self, user_id: int, project: str) -> None:
        async with self.store.uow() as repo:
            invite = await invite_worker(repo, f"w{user_id}", project, self.clock(), 14, None)
        await self.app.process_update(self.message(user_id, f"/start {invite.code}"))

    def user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "W", "language_code": "ko"}

    def message(self, user_id: int, text: str) -> Update:
        entities = ([{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
                    if text.startswith("/") else [])
        return Update.de_json({"update_id": next(self._updates), "message": {
            "message_id": next(self._updates), "date": 1_790_000_000, "text": text,
            "chat": {"id": user_id, "type": "private", "first_name": "W"},
            "from": self.user(user_id), "entities": entities,
        }}, self.app.bot)

    def buttons(self, user_id: int) -> list[str]:
        _, keyboard = self.telegram.screens[user_id]
        return [b["text"] for row in keyboard for b in row]

    def tap(self, user_id: int, label: str) -> Update | None:
        """The update Telegram sends when this user taps `label` on their newest keyboard
        (None: no such button there)."""
        message, keyboard = self.telegram.screens[user_id]
        for row in keyboard:
            for button in row:
                if label in button["text"]:
                    return Update.de_json({"update_id": next(self._updates), "callback_query": {
                        "id": str(next(self._queries)), "from": self.user(user_id),
                        "chat_instance": "ci", "data": button["callback_data"],
                        "message": message,
                    }}, self.app.bot)
        return None
