"""What the judgement needs from storage, declared as small Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from review.routing import Decision, Tally
from tasks.model import Item, Project, Role, Verdict


@dataclass(frozen=True)
class ItemTally:
    item_id: int
    project_id: int
    role: Role
    verdict: Verdict | None
    wanted: int
    n_answers: int
    label: int | None
    tally: Tally


class Vote(NamedTuple):
    worker_id: int
    item_id: int
    choice: int | None  # None: "not sure"


# (item id, verdict, wanted, n_answers, label) of each work item
ItemRow = tuple[int, Verdict | None, int, int, int | None]


@dataclass(frozen=True)
class ProjectAnswers:
    votes: Sequence[Vote]
    known: dict[int, int]  # item -> its answer for sure: gold, and coordinators' decisions
    items: Sequence[ItemRow]


class JudgeRepository(Protocol):
    async def project(self, project_id: int) -> Project: ...
    async def item_tally(self, item_id: int) -> ItemTally | None: ...
    async def set_verdict(
        self, item_id: int, decision: Decision, now: datetime, *, if_answers: int | None = None
    ) -> bool: ...


@dataclass(frozen=True, eq=False)
class AnswerRows:
    """Answers as parallel arrays, in item order: choice -1 is "not sure"."""

    item: npt.NDArray[np.int64]
    worker: npt.NDArray[np.int64]
    choice: npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class AnswerStretch:
    """What the model reads of a stretch of a project's items (the next ones by id): the
    answers to its work and gold items, and the answers known for sure (gold, and
    coordinators' decisions), each with whether it is a work item."""

    last: int | None  # the stretch's last item id; None: no items are left
    answers: AnswerRows
    known_item: npt.NDArray[np.int64]
    known_class: npt.NDArray[np.int64]
    known_work: npt.NDArray[np.bool_]


class ItemState(NamedTuple):
    id: int
    verdict: Verdict | None
    wanted: int
    n_answers: int
    label: int | None
    confidence: float | None


@dataclass(frozen=True, eq=False)
class MovableStretch:
    """The work items the model may move in a stretch of a project's items (collecting
    with all their answers, asking one more, or done by the crowd), and their answers."""

    last: int | None  # the stretch's last item id; None: no items are left
    items: Sequence[ItemState]
    answers: AnswerRows


class ModelRepository(JudgeRepository, Protocol):
    """What a project-wide Dawid-Skene run reads and writes. It reads a stretch of items at
    a time (`limit` items after the id `after`), each in a short read of its own."""

    async def project_answers(self, project_id: int) -> ProjectAnswers: ...
    async def count_answers(self, project_id: int, after: int, limit: int
                            ) -> tuple[int, int, int] | None:
        """(last item id, answers, work items) of a stretch; None: no items are left."""
        ...
    async def answer_stretch(self, project_id: int, after: int, limit: int
                             ) -> AnswerStretch: ...
    async def movable_stretch(self, project_id: int, after: int, limit: int
                              ) -> MovableStretch: ...
    async def item_answers(self, item_ids: Sequence[int]) -> AnswerRows: ...
    async def judged_answers(self, project_id: int) -> int:
        """How many answers the project had at its last model run."""
        ...
    async def set_judged(self, project_id: int, answers: int, now: datetime) -> None: ...
    async def set_verdicts(
        self, decisions: Sequence[tuple[int, Decision, int]], now: datetime
    ) -> int:
        """`set_verdict` of each (item, decision, if_answers); how many were recorded."""
        ...
    async def relabel(self, labels: Sequence[tuple[int, int, float, Verdict]]) -> int:
        """The model's (label, confidence, verdict) on items already done; how many."""
        ...


class ModelUnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[ModelRepository]: ...


class QueueRepository(Protocol):
    """The coordinators' review queue."""

    async def project(self, project_id: int) -> Project: ...
    async def item(self, item_id: int) -> Item: ...
    async def item_tally(self, item_id: int) -> ItemTally | None: ...
    async def item_verdict(
        self, item_id: int
    ) -> tuple[Verdict | None, int | None, str | None]: ...
    async def lease_next(
        self, coordinator_id: int, now: datetime, until: datetime
    ) -> int | None: ...
    async def holds_lease(self, item_id: int, coordinator_id: int, now: datetime) -> bool: ...
    async def end_lease(self, item_id: int) -> None: ...
    async def decide(
        self, item_id: int, label: int | None, coordinator_id: int, now: datetime
    ) -> bool: ...
    async def later(self, item_id: int, now: datetime) -> None: ...
    async def review_count(self, project_id: int | None = None) -> int: ...
    async def answers_with_names(self, item_id: int) -> Sequence[tuple[str, int]]: ...
    async def add_practice_item(
        self, item_id: int, project_id: int, answer: int, reason: str | None, level: int,
        now: datetime,
    ) -> bool: ...


class QueueUnitOfWork(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[QueueRepository]: ...
