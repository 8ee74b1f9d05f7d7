"""What the work domain needs from storage, declared as small Protocols.

`storage.repo.SqlRepo` implements them on SQLite. A `UnitOfWork` yields a repository whose
changes are all saved together, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, time
from typing import Protocol

from tasks.model import (
    Coordinator,
    Item,
    ItemKind,
    Mode,
    Notice,
    NoticeKind,
    NoticeState,
    Project,
    Worker,
)

NOT_SURE = -1  # the worker's "🤔 Not sure", wherever a choice index is expected


@dataclass(frozen=True)
class Batch:
    id: int
    worker_id: int
    day: str  # the worker's local date, YYYY-MM-DD
    size: int  # how many items the day holds: "n / size"
    ends_at: datetime  # the end of that local day; what is left then goes back to the pool
    started_at: datetime | None = None  # when the worker first saw an item of it

    def live(self, now: datetime) -> bool:
        return now < self.ends_at


@dataclass(frozen=True)
class WorkerState:
    worker_id: int
    seq: int = 0
    mode: Mode = Mode.IDLE
    batch_id: int | None = None
    item_id: int | None = None
    frontier_id: int | None = None
    frontier_shown: datetime | None = None
    hold_until: datetime | None = None
    message_id: int | None = None
    message_kind: str | None = None


@dataclass(frozen=True)
class SavedAnswer:
    item_id: int
    choice: int  # index into the project's choices, or NOT_SURE


@dataclass(frozen=True)
class PracticeItem:
    item_id: int
    answer: int  # the right choice
    reason: str | None  # one short line on why, shown after the worker's try


@dataclass(frozen=True)
class Invite:
    role: str
    worker_id: int | None
    coordinator_id: int | None
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None
    guardian_id: int | None = None


class WorkRepository(Protocol):
    async def project(self, project_id: int) -> Project: ...
    async def project_by_name(self, name: str) -> Project | None: ...
    async def item(self, item_id: int) -> Item: ...
    async def worker(self, worker_id: int) -> Worker: ...
    async def worker_by_name(self, name: str) -> Worker | None: ...
    async def worker_by_tg(self, tg_user_id: int) -> Worker | None: ...

    async def state(self, worker_id: int) -> WorkerState: ...
    async def save_state(self, state: WorkerState) -> None: ...

    async def batch(self, worker_id: int, day: str) -> Batch | None: ...
    async def batch_by_id(self, batch_id: int) -> Batch: ...
    async def create_batch(
        self, worker_id: int, day: str, now: datetime, ends_at: datetime, *, scheduled: bool
    ) -> Batch: ...
    async def batch_answers(self, batch_id: int) -> Sequence[SavedAnswer]: ...
    async def resize_batch(self, batch_id: int, size: int) -> Batch: ...
    async def mark_started(self, batch_id: int, now: datetime) -> None: ...

    async def reserve(self, batch: Batch, worker: Worker, project: Project, count: int,
                      now: datetime) -> int:
        """Reserve up to `count` more items for the batch until its day ends: the oldest
        that still want a hand, that this worker has not answered; returns how many."""
        ...

    async def reserve_gold(
        self, batch: Batch, worker_id: int, project_id: int, count: int
    ) -> int:
        """Slip up to `count` gold items the worker has not answered in among the batch's
        waiting work; returns how many."""
        ...

    async def next_reserved(self, batch_id: int, now: datetime) -> int | None:
        """The batch's next item still waiting for the worker (oldest first)."""
        ...

    async def reserved_items(self, batch_id: int, now: datetime, limit: int) -> list[Item]:
        """The batch's next items still waiting for the worker, in order (at most `limit`)."""
        ...

    async def is_reserved(self, batch_id: int, item_id: int, now: datetime) -> bool: ...
    async def recent_durations(self, worker_id: int, limit: int) -> list[float]:
        """Seconds from seeing to answering, for the worker's newest answers."""
        ...

    async def answer(self, item_id: int, worker_id: int) -> SavedAnswer | None: ...
    async def add_answer(
        self,
        item_id: int,
        worker_id: int,
        batch_id: int,
        choice: int,
        shown_at: datetime,
        answered_at: datetime,
    ) -> None:
        """Save a new answer; the item's reservation for this worker, if any, is used up."""
        ...
    async def change_answer(
        self, item_id: int, worker_id: int, choice: int, changed_at: datetime
    ) -> bool:
        """Change a saved answer; False when it already was `choice`."""
        ...


class PracticeRepository(Protocol):
    """Practice before real work: items with their right answer, and the worker's tries."""

    async def has_practice(self, project_id: int) -> bool: ...
    async def next_practice(
        self, worker_id: int, project_id: int, after: int | None
    ) -> int | None: ...
    async def practice_item(self, item_id: int) -> PracticeItem | None: ...
    async def add_practice_answer(
        self, worker_id: int, item_id: int, choice: int, right: bool, now: datetime
    ) -> None: ...
    async def last_practice(self, worker_id: int) -> tuple[int, int] | None: ...
    async def recent_practice(self, worker_id: int, limit: int) -> list[bool]: ...
    async def set_practiced(
        self, worker_id: int, when: datetime | None, how: str | None
    ) -> None: ...
    async def add_help(self, worker_id: int, item_id: int, now: datetime) -> int | None:
        """A new 🙋 request, or None when this worker already asked about this item."""
        ...


class LabelingRepository(WorkRepository, PracticeRepository, Protocol):
    """Everything the labeling loop uses."""


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[LabelingRepository]: ...


class Judge(Protocol):
    """Called inside the answer's transaction once a work item may have all its answers."""

    async def __call__(self, repo: LabelingRepository, item_id: int, now: datetime) -> object: ...


class ScheduleWrites(Protocol):
    """Changing a worker's schedule and planning their next batch."""

    async def batch(self, worker_id: int, day: str) -> Batch | None: ...
    async def last_batch_end(self, worker_id: int) -> datetime | None: ...
    async def release_worker(self, worker_id: int) -> int: ...
    async def drop_due_notices(self, worker_id: int, kind: NoticeKind) -> int: ...
    async def set_schedule(
        self, worker_id: int, *, days: frozenset[int], start: time, tz: str, batch_size: int,
        reminder: time | None,
    ) -> None: ...
    async def set_next_due(self, worker_id: int, when: datetime | None) -> None: ...
    async def set_paused(self, worker_id: int, when: datetime | None,
                         resumed: datetime | None = None) -> None: ...
    async def set_unreachable(self, worker_id: int, when: datetime | None) -> bool: ...


class ScheduleRepository(WorkRepository, PracticeRepository, ScheduleWrites, Protocol):
    """What the daily schedule needs besides the labeling loop's repository."""

    async def project_kind(self, project_id: int) -> ItemKind | None:
        """Pictures or sentences (a project holds one kind); None while it is empty."""
        ...

    async def release_expired(self, now: datetime) -> int: ...
    async def set_message(
        self, worker_id: int, message_id: int | None, kind: str | None
    ) -> None: ...
    async def due_worker_ids(self, now: datetime, limit: int) -> list[int]: ...
    async def unplanned_worker_ids(self) -> list[int]: ...
    async def coordinator(self, coordinator_id: int) -> Coordinator | None: ...
    async def reachable_coordinators(self) -> list[Coordinator]: ...
    async def set_coordinator_unreachable(
        self, coordinator_id: int, when: datetime | None
    ) -> None: ...
    async def add_notice(
        self, kind: NoticeKind, worker_id: int, due_at: datetime, now: datetime, *,
        batch_id: int | None = None, coordinator_id: int | None = None,
    ) -> None: ...
    async def due_notices(self, now: datetime, limit: int) -> Sequence[Notice]: ...
    async def update_notice(
        self, notice_id: int, state: NoticeState, *, due_at: datetime | None = None,
        attempts: int | None = None, seq: int | None = None, message_id: int | None = None,
        error: str | None = None, sent_at: datetime | None = None,
    ) -> None: ...
    async def interrupted_notices(self) -> Sequence[Notice]: ...


class ScheduleUnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ScheduleRepository]: ...
