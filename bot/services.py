"""What the handlers share: storage, the labeling service, a clock, a little memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.ahead import FileIds, Screens
from bot.updates import Turns
from review.queue import ReviewQueue
from review.service import judge_item
from storage.repo import SqlRepo, Store
from tasks.daily import DailyService
from tasks.labeling import LabelingService
from tasks.ports import LabelingRepository

STRANGER_REPLIES = 3  # replies to one stranger per window, then silence (no spam loops)
STRANGER_WINDOW = timedelta(minutes=10)
STRANGERS_REMEMBERED = 10_000  # beyond this, forget everyone outside the window


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _judge(repo: LabelingRepository, item_id: int, now: datetime) -> None:
    """An answer was saved: decide its item if it has all it wanted (same transaction)."""
    assert isinstance(repo, SqlRepo)
    await judge_item(repo, item_id, now)


@dataclass
class Haru:
    store: Store
    clock: Callable[[], datetime] = utc_now
    # worker id -> seq of the screen last drawn; lost on restart, which then redraws once.
    rendered: dict[int, int] = field(default_factory=dict)
    # Each worker's next screen, drawn at their tap before the save (bot/ahead.py).
    ahead: Screens = field(default_factory=Screens)
    file_ids: FileIds = field(default_factory=FileIds)
    turns: Turns = field(default_factory=Turns)  # one drawer of a worker's screen at a time
    _strangers: dict[int, list[datetime]] = field(default_factory=dict)

    @property
    def labeling(self) -> LabelingService:
        return LabelingService(self.store.quick_uow, judge=_judge)

    @property
    def queue(self) -> ReviewQueue:
        return ReviewQueue(self.store.uow)

    @property
    def daily(self) -> DailyService:
        return DailyService(self.store.uow)

    def may_answer_stranger(self, user_id: int) -> bool:
        now = self.clock()
        if len(self._strangers) > STRANGERS_REMEMBERED:
            self._strangers = {
                user: times for user, times in self._strangers.items()
                if times and now - times[-1] < STRANGER_WINDOW
            }
        recent = [t for t in self._strangers.get(user_id, []) if now - t < STRANGER_WINDOW]
        if len(recent) >= STRANGER_REPLIES:
            self._strangers[user_id] = recent
            return False
        self._strangers[user_id] = [*recent, now]
        return True
