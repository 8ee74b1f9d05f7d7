"""The coordinators' review queue: one flagged item at a time, never the same item to two.

A coordinator holds a lease on the item on their screen; a decision counts only while they
hold it, and only once. Decided items count like gold for the workers who answered them (see
`storage.quality.QualitySql.project_answers`), and may become practice items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from review.ports import QueueRepository, QueueUnitOfWork
from review.routing import Tally
from tasks.model import Item, Project, Verdict

LEASE = timedelta(minutes=15)  # a coordinator who walks away frees the item after this
REVIEW_PRACTICE_LEVEL = 3  # disputed items are harder than the easy ones practice starts with


@dataclass(frozen=True)
class Card:
    """What a coordinator sees for one item in review."""

    item: Item
    project: Project
    tally: Tally
    reason: str | None
    waiting: int  # the project's items in review, this one included
    names: tuple[tuple[str, int], ...] = ()  # (worker, choice) only when asked for


class Outcome(StrEnum):
    DECIDED = "decided"
    DROPPED = "dropped"
    LATER = "later"
    PRACTICE = "practice"  # made a practice item
    ALREADY = "already"  # decided before: nothing changed
    NOT_YOURS = "not_yours"  # the lease ran out or another coordinator has it: nothing changed
    NOT_DECIDED = "not_decided"  # 📚 on an item without a coordinator's label


class ReviewQueue:
    def __init__(self, uow: QueueUnitOfWork) -> None:
        self._uow = uow

    async def next(self, coordinator_id: int, now: datetime) -> Card | None:
        """The oldest item in review nobody else is looking at, now leased to this one."""
        async with self._uow() as repo:
            item_id = await repo.lease_next(coordinator_id, now, now + LEASE)
            return None if item_id is None else await _card(repo, item_id, names=False)

    async def card(self, coordinator_id: int, item_id: int, now: datetime, *, names: bool
                   ) -> Card | Outcome:
        """The card again (👥: with who answered what), while this coordinator holds it."""
        async with self._uow() as repo:
            if (problem := await _check(repo, coordinator_id, item_id, now)) is not None:
                return problem
            return await _card(repo, item_id, names=names)

    async def decide(self, coordinator_id: int, item_id: int, choice: int | None,
                     now: datetime) -> Outcome:
        """A final decision: a choice, or None for "unclear — drop it"."""
        async with self._uow() as repo:
            if (problem := await _check(repo, coordinator_id, item_id, now)) is not None:
                return problem
            project = await repo.project((await repo.item(item_id)).project_id)
            if choice is not None and not 0 <= choice < len(project.choices):
                return Outcome.NOT_YOURS
            await repo.decide(item_id, choice, coordinator_id, now)
            await repo.end_lease(item_id)
            return Outcome.DROPPED if choice is None else Outcome.DECIDED

    async def later(self, coordinator_id: int, item_id: int, now: datetime) -> Outcome:
        """⏭: to the back of the queue, free for anyone."""
        async with self._uow() as repo:
            if (problem := await _check(repo, coordinator_id, item_id, now)) is not None:
                return problem
            await repo.later(item_id, now)
            await repo.end_lease(item_id)
            return Outcome.LATER

    async def use_for_practice(self, item_id: int, now: datetime) -> Outcome:
        """📚: a decided item, with the coordinator's answer, joins the project's practice."""
        async with self._uow() as repo:
            verdict, label, _ = await repo.item_verdict(item_id)
            if verdict is not Verdict.REVIEWER or label is None:
                return Outcome.NOT_DECIDED
            project_id = (await repo.item(item_id)).project_id
            await repo.add_practice_item(item_id, project_id, label, None,
                                         REVIEW_PRACTICE_LEVEL, now)
            return Outcome.PRACTICE


async def _check(repo: QueueRepository, coordinator_id: int, item_id: int, now: datetime
                 ) -> Outcome | None:
    verdict, _, _ = await repo.item_verdict(item_id)
    if verdict is not Verdict.REVIEW:
        return Outcome.ALREADY
    if not await repo.holds_lease(item_id, coordinator_id, now):
        return Outcome.NOT_YOURS
    return None


async def _card(repo: QueueRepository, item_id: int, *, names: bool) -> Card:
    item = await repo.item(item_id)
    project = await repo.project(item.project_id)
    found = await repo.item_tally(item_id)
    tally = found.tally if found else Tally((0,) * len(project.choices))
    _, _, reason = await repo.item_verdict(item_id)
    who = tuple(await repo.answers_with_names(item_id)) if names else ()
    return Card(item, project, tally, reason, await repo.review_count(project.id), who)
