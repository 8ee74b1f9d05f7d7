"""What the work domain needs from storage, declared as small Protocols.

`storage.repo.SqlRepo` implements them on SQLite. A `UnitOfWork` yields a repository whose
changes are all saved together, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tasks.model import Item, Mode, Project, Worker

NOT_SURE = -1  # the worker's "🤔 Not sure", wherever a choice index is expected


@dataclass(frozen=True)
class Batch:
    id: int
    worker_id: int
    day: str
    size: int


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
class Invite:
    role: str
    worker_id: int
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None


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
    async def create_batch(self, worker_id: int, day: str, size: int, now: datetime) -> Batch: ...
    async def batch_answers(self, batch_id: int) -> Sequence[SavedAnswer]: ...
    async def resize_batch(self, batch_id: int, size: int) -> Batch: ...

    async def next_item(self, worker: Worker, project: Project, now: datetime) -> int | None:
        """The oldest item of the project that still needs answers, this worker has not
        answered, and is not held by so many others that it would get too many answers."""
        ...

    async def count_available(
        self, worker: Worker, project: Project, now: datetime, limit: int
    ) -> int: ...
    async def has_room(self, item_id: int, worker: Worker, project: Project, now: datetime) -> bool:
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
        overlap: int,
    ) -> None: ...
    async def change_answer(
        self, item_id: int, worker_id: int, choice: int, changed_at: datetime
    ) -> bool:
        """Change a saved answer; False when it already was `choice`."""
        ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[WorkRepository]: ...
