"""Updates from many people at once, each person's in the order they came.

python-telegram-bot handles one update at a time by default: then a worker waits for every
other worker's save (an fsync each) before their own tap is looked at. Handling updates
concurrently lets one tap's Telegram calls and Python work overlap another's wait for the
disk (bench/tap.py, "throughput"). The database still takes one unit of work at a time.

One person's updates must not overtake each other: a double tap is answered as one only if
the second is looked at after the first was saved, and a screen drawn ahead (bot/ahead.py)
must be checked before the next tap on it. So each user's updates form a queue: an update
waits for the one before it from the same user, and updates from different users run side
by side, up to `CONCURRENT`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

CONCURRENT = 256  # updates in hand at once (waiting ones included), across all users


def _sender(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class OnePerUser(BaseUpdateProcessor):
    """Concurrent across users, in order within each user's own updates."""

    def __init__(self, max_concurrent_updates: int = CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._last: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = _sender(update)
        if user is None:
            await coroutine
            return
        before = self._last.get(user)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[user] = mine
        try:
            if before is not None:
                await asyncio.wait([before])
            await coroutine
        finally:
            mine.set_result(None)
            if self._last.get(user) is mine:
                del self._last[user]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class Turns:
    """One drawer of a worker's screen at a time. Updates from different people run side by
    side (OnePerUser), so a coordinator's reply that redraws a worker's screen could
    otherwise interleave with that worker's own tap; each takes the worker's turn for its
    save and its drawing."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def of(self, worker_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(worker_id, (asyncio.Lock(), 0))
        self._locks[worker_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[worker_id]
            if users <= 1:
                del self._locks[worker_id]
            else:
                self._locks[worker_id] = (lock, users - 1)
