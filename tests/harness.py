"""Drive the real python-telegram-bot Application offline: phones that type and tap, a clock."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.config import Config
from bot.coord_import import BACKGROUND
from bot.dispatch import Dispatcher
from bot.offline import FakeTelegram, start_offline, stop_offline
from storage.repo import SqlItemSink, Store
from tasks.daily import PlanReport
from tasks.importing import PreparedImage, PreparedText
from tasks.known import Answer
from tasks.model import Role
from tasks.workers import ScheduleChange, invite_coordinator, invite_guardian, invite_worker

TOKEN = "123456:TEST-token-that-must-never-be-logged"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Harness:
    """One Haru bot on a real SQLite file, talking to a FakeTelegram."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.telegram = FakeTelegram()
        self.clock = Clock()
        self.errors: list[BaseException] = []
        self.app: Application | None = None  # type: ignore[type-arg]
        self._updates = itertools.count(1)
        self._queries = itertools.count(1)

    async def start(self) -> None:
        config = Config(db_path=self.db_path, token=TOKEN, api_url="https://fake.invalid",
                        bot_username=None)
        self.app = await start_offline(config, self.telegram, self.clock, self.errors)

    async def stop(self) -> None:
        if self.app is None:
            return
        app, self.app = self.app, None
        await stop_offline(app)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def tick(self) -> PlanReport | None:
        """One run of the schedule's repeating job, at the harness clock's time."""
        assert self.app is not None
        dispatcher: Dispatcher = self.app.bot_data["dispatcher"]
        return await dispatcher.tick()

    @property
    def store(self) -> Store:
        assert self.app is not None
        return self.app.bot_data["haru"].store  # type: ignore[no-any-return]

    async def feed(self, data: dict[str, Any], *, wait: bool = True) -> None:
        """Process one update; with `wait`, also what it started beside it (an import)."""
        assert self.app is not None
        data = {"update_id": next(self._updates), **data}
        running: set[asyncio.Task[None]] = self.app.bot_data.setdefault(BACKGROUND, set())
        before = set(running)
        await self.app.process_update(Update.de_json(data, self.app.bot))
        if wait and (started := running - before):
            await asyncio.gather(*started)
        if self.errors:
            failure = AssertionError(f"the bot failed on an update: {self.errors!r}")
            raise failure from self.errors[0]

    async def settle(self) -> None:
        """Wait for everything started beside the updates (coordinators' imports) to end."""
        assert self.app is not None
        running: set[asyncio.Task[None]] = self.app.bot_data.get(BACKGROUND, set())
        while running:
            await asyncio.gather(*list(running))

    def phone(self, user_id: int, name: str = "민지", language: str = "ko") -> Phone:
        return Phone(self, user_id, name, language)

    # --- coordinator set-up, straight through the same code the CLI uses --------------------

    async def project(
        self, name: str = "animals", choices: tuple[str, ...] = ("🐶 Dog", "🐱 Cat"),
        overlap: int = 3, question: str = "What animal is this?",
    ) -> int:
        async with self.store.uow() as repo:
            project = await repo.create_project(name, question, choices, overlap, self.clock())
        return project.id

    async def sentences(self, project_id: int, texts: list[str]) -> None:
        items = [PreparedText(t, f"txt:{t}", f"test.csv:{i}") for i, t in enumerate(texts, 2)]
        await SqlItemSink(self.store).add_items(project_id, items)

    async def pictures(self, project_id: int, count: int) -> None:
        from io import BytesIO

        from PIL import Image

        items = []
        for i in range(count):
            buffer = BytesIO()
            Image.new("RGB", (8, 8), (i * 7 % 256, i * 13 % 256, 100)).save(buffer, "JPEG")
            items.append(PreparedImage(buffer.getvalue(), 8, 8, f"img:{i}", f"p{i}.jpg"))
        await SqlItemSink(self.store).add_items(project_id, items)

    async def known(self, project_id: int, role: Role, answers: list[tuple[str, int]],
                    reason: str | None = None) -> None:
        """Gold or practice sentences with their answers (choice indexes)."""
        items = [PreparedText(t, f"txt:{t}", f"{role}.csv:{i}", answer=Answer(a, reason))
                 for i, (t, a) in enumerate(answers, 2)]
        _, _, rejected = await SqlItemSink(self.store).add_known(project_id, items, role)
        assert not rejected, rejected

    async def rules(self, project_id: int, **rules: float | int) -> None:
        async with self.store.uow() as repo:
            await repo.set_project_rules(project_id, rules)

    async def invite(self, name: str, project: str = "animals", days: int = 14,
                     schedule: ScheduleChange | None = None) -> str:
        async with self.store.uow() as repo:
            invite = await invite_worker(repo, name, project, self.clock(), days, schedule)
        return invite.code

    async def invite_guardian(self, name: str, worker: str, days: int = 14) -> str:
        async with self.store.uow() as repo:
            invite = await invite_guardian(repo, name, worker, self.clock(), days)
        return invite.code

    async def invite_coordinator(self, name: str) -> str:
        async with self.store.uow() as repo:
            invite = await invite_coordinator(repo, name, self.clock())
        return invite.code


class Phone:
    """A Telegram user: types messages and taps buttons on what the bot sent them."""

    def __init__(self, harness: Harness, user_id: int, name: str, language: str) -> None:
        self.h, self.user_id = harness, user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": name,
                     "language_code": language}
        self._messages = itertools.count(1)

    @property
    def chat(self) -> list[dict[str, Any]]:
        return self.h.telegram.messages(self.user_id)

    @property
    def screen(self) -> dict[str, Any]:
        """The newest message the bot sent to this phone."""
        return self.h.telegram.last_message(self.user_id)

    def words(self, message: dict[str, Any] | None = None) -> str:
        message = message or self.screen
        return str(message.get("text") or message.get("caption") or "")

    def buttons(self, message: dict[str, Any] | None = None) -> list[str]:
        message = message or self.screen
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [b["text"] for row in rows for b in row]

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": 10_000 + next(self._messages), "date": 1_790_000_000,
            "chat": {"id": self.user_id, "type": "private", "first_name": "W"},
            "from": self.user, **content,
        }

    @staticmethod
    def _commands(text: str) -> list[dict[str, Any]]:
        if not text.startswith("/"):
            return []
        return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]

    async def send(self, text: str, reply_to: dict[str, Any] | None = None) -> None:
        message = self._message(text=text, entities=self._commands(text))
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        await self.h.feed({"message": message})

    async def send_document(self, data: bytes, file_name: str | None,
                            caption: str | None = None, *, wait: bool = True,
                            **stated: Any) -> dict[str, Any]:
        """Send a file (📎 File), with a caption; `stated` goes to FakeTelegram.add_file
        (size=..., too_big=True). Without `wait`, an import it starts may still be running.
        Returns the Document as the bot got it."""
        document = self.h.telegram.add_file(data, file_name, **stated)
        message = self._message(document=document)
        if caption is not None:
            message.update(caption=caption, caption_entities=self._commands(caption))
        await self.h.feed({"message": message}, wait=wait)
        return document

    async def send_photo(self, data: bytes, caption: str | None = None) -> None:
        """Send a picture as a photo (Telegram compresses it)."""
        document = self.h.telegram.add_file(data, None)
        sizes = [{"file_id": document["file_id"], "file_unique_id": document["file_unique_id"],
                  "width": 1280, "height": 960, "file_size": len(data)}]
        message = self._message(photo=sizes)
        if caption is not None:
            message.update(caption=caption, caption_entities=self._commands(caption))
        await self.h.feed({"message": message})

    def button_data(self, label: str, message: dict[str, Any] | None = None) -> str:
        message = message or self._with_button(label)
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if label in button["text"]:
                    return str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in {self.buttons(message)}")

    def _with_button(self, label: str) -> dict[str, Any]:
        for message in reversed(self.chat):
            if any(label in b for b in self.buttons(message)):
                return message
        raise AssertionError(f"no message with a button {label!r}")

    async def tap(self, label: str, message: dict[str, Any] | None = None) -> None:
        """Tap the button whose words contain `label`, on `message` or the newest that has it."""
        message = message or self._with_button(label)
        await self.press(self.button_data(label, message), message)

    async def press(self, data: str, message: dict[str, Any], user: dict[str, Any] | None = None,
                    ) -> None:
        query_id = str(next(self.h._queries))
        self.h.telegram.open_queries.add(query_id)
        await self.h.feed({"callback_query": {
            "id": query_id, "from": user or self.user, "chat_instance": "ci", "data": data,
            "message": message,
        }})
        assert query_id not in self.h.telegram.open_queries, "a tap was left unanswered"

    async def join(self, code: str) -> None:
        await self.send(f"/start {code}")
