"""Judging items: one item as its answers come in, a whole project with Dawid-Skene.

The labeling loop says "this item has its answers" and the caller asks `judge_item` within
the same transaction. `rejudge_project` reads a project's answers a stretch at a time into
compact arrays, weighs every worker with Dawid-Skene off the event loop, and saves only the
decisions that change an item, a few hundred per short unit of work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from review.aggregate import IntArray
from review.ports import ItemState, JudgeRepository, ModelUnitOfWork, MovableStretch
from review.project_model import Collector, TaskLabels, digest, fit
from review.routing import Decision, Tally, route
from tasks.model import Project, Role, Verdict

log = logging.getLogger(__name__)

# Below this many answers in a project the model has too little to weigh workers by, and
# the majority stands alone.
MIN_MODEL_ANSWERS = 20
# Items the model may still move: collecting, asking one more, or done by the crowd.
MOVABLE = (None, Verdict.MORE, Verdict.AGREEMENT, Verdict.MODEL)
# A done item's stored confidence is rewritten only when the model's moved by more than this:
# one percentage point, the precision coordinators read it in (reports show whole percents).
# The stored figure is never further than this from the latest model's.
CONFIDENCE_STEP = 0.01
# Items per short read: counting the answers, reading them for the model, deciding. Each
# read holds the database for milliseconds (one connection: taps wait meanwhile).
COUNT_STRETCH = 20_000
MODEL_STRETCH = 2_000
JUDGE_STRETCH = 1_000
SAVE_MOST = 500  # decisions saved per unit of work: the write lock is held for milliseconds


async def judge_item(repo: JudgeRepository, item_id: int, now: datetime) -> Decision | None:
    """Decide a work item that has all the answers it wanted (also after an answer was
    changed); nothing for gold, practice, items still collecting, or in review or decided."""
    found = await repo.item_tally(item_id)
    if found is None or found.role is not Role.WORK or found.verdict not in MOVABLE:
        return None
    if found.tally.answers < found.wanted:
        return None
    decision = route(found.tally, await repo.project(found.project_id))
    await repo.set_verdict(item_id, decision, now)
    return decision


def _decide(tally: Tally, project: Project, best: tuple[int, float] | None) -> Decision:
    """An item's verdict with the model's view. Ties, too few votes and "not sure" go to
    review whatever the model says; otherwise, where the model has the item, its label and
    confidence replace the majority's. It may finish what the crowd left unsure; an item the
    crowd agreed on that the model is not sure of asks one more worker (then goes to review)
    like any other."""
    crowd = route(tally, project)
    if best is None or crowd.verdict is Verdict.REVIEW:
        return crowd
    weighed = route(tally, project, model=best)
    agreed = crowd.verdict is Verdict.AGREEMENT and best[0] == crowd.label
    if weighed.verdict is Verdict.MODEL and agreed:
        return replace(weighed, verdict=Verdict.AGREEMENT)  # the crowd's label, now weighed
    return weighed


@dataclass(frozen=True)
class ModelRun:
    project: str
    answers: int
    items: int
    iterations: int
    moved: int  # items whose verdict the model changed (done, or one more worker)
    relabeled: int  # done items whose label the model changed
    stale: int = 0  # items whose answers changed while the model ran: left for the next run


class _Change(NamedTuple):
    item_id: int
    decision: Decision
    n_answers: int
    digest: int  # of the answers it was decided on
    done: bool  # done, and stays done: a new label, confidence or verdict only
    new_label: bool


@dataclass(frozen=True, eq=False)
class _Model:
    """What the read and the model found: each task's item id and the digest of its answers
    then, and Dawid-Skene's label and confidence (None: too few answers for a model)."""

    items: IntArray
    digests: npt.NDArray[np.uint64]
    labels: TaskLabels | None


def _changed(item: ItemState, decision: Decision) -> bool | None:
    """Whether saving `decision` would change the item (None: not at all). A done item that
    stays done is written when its label or verdict changes, or its confidence moves by more
    than CONFIDENCE_STEP; anything else when its verdict, or the answers it wants, change."""
    done = (Verdict.AGREEMENT, Verdict.MODEL)
    if decision.verdict in done and item.verdict in done and decision.label is not None:
        if (decision.label != item.label or decision.verdict is not item.verdict
                or item.confidence is None
                or abs(decision.confidence - item.confidence) > CONFIDENCE_STEP):
            return True
        return None
    if decision.verdict is not item.verdict or decision.wanted not in (None, item.wanted):
        return False
    return None


def _changes(project: Project, model: _Model, stretch: MovableStretch) -> tuple[list[_Change], int]:
    """The decisions in a stretch that change something, and how many items were left
    because their answers are no longer those the model saw. Blocking (a few ms)."""
    k = len(project.choices)
    ids = np.fromiter((item.id for item in stretch.items), np.int64, len(stretch.items))
    rows = stretch.answers
    now = digest(ids, rows.item, rows.worker, rows.choice)
    at = np.searchsorted(model.items, ids).clip(0, max(len(model.items) - 1, 0))
    seen = model.items[at] == ids if len(model.items) else np.zeros(len(ids), np.bool_)
    then = np.where(seen, model.digests[at] if len(model.items) else 0, 0)
    valid = (rows.choice >= -1) & (rows.choice < k)  # -1: "not sure"
    where = np.searchsorted(ids, rows.item[valid])
    tallies = np.bincount(where * (k + 1) + rows.choice[valid] + 1,
                          minlength=len(ids) * (k + 1)).reshape(len(ids), k + 1)
    changes, stale = [], 0
    for n, item in enumerate(stretch.items):
        if now[n] != then[n]:
            stale += 1
            continue
        best = None
        if model.labels is not None and seen[n] and model.labels.label[at[n]] >= 0:
            best = (int(model.labels.label[at[n]]), float(model.labels.confidence[at[n]]))
        tally = Tally(tuple(tallies[n, 1:].tolist()), int(tallies[n, 0]))
        decision = _decide(tally, project, best)
        done = _changed(item, decision)
        if done is not None:
            changes.append(_Change(item.id, decision, item.n_answers, int(now[n]), done,
                                   done and decision.label != item.label))
    return changes, stale


async def _count(read: ModelUnitOfWork, project_id: int) -> tuple[int, int]:
    """The project's answers and work items, a stretch at a time."""
    after = answers = items = 0
    while True:
        async with read() as repo:
            found = await repo.count_answers(project_id, after, COUNT_STRETCH)
        if found is None:
            return answers, items
        after, answers, items = found[0], answers + found[1], items + found[2]


async def _collect(read: ModelUnitOfWork, project_id: int, n_classes: int, answers: int
                   ) -> Collector:
    """The project's answers in compact arrays, a stretch at a time (about `answers`)."""
    collector = Collector(n_classes, answers=answers, tasks=answers)
    after = 0
    while True:
        async with read() as repo:
            stretch = await repo.answer_stretch(project_id, after, MODEL_STRETCH)
        if stretch.last is None:
            return collector
        after = stretch.last
        rows = stretch.answers
        collector.add(rows.item, rows.worker, rows.choice, stretch.known_item,
                      stretch.known_class, stretch.known_work)


def _fit(collector: Collector) -> _Model:
    """Dawid-Skene over the collected answers (too few: none). Blocking: off the event loop."""
    votes, items, digests = collector.votes()
    if collector.answers < MIN_MODEL_ANSWERS:
        return _Model(items, digests, None)
    return _Model(items, digests, fit(votes))


async def _save(uow: ModelUnitOfWork, changes: Sequence[_Change], now: datetime
                ) -> tuple[int, int, int]:
    """Save decisions in one short unit of work, each only while the item's answers are
    still those it was decided on; (moved, relabeled, stale)."""
    if not changes:
        return 0, 0, 0
    ids = np.array(sorted(c.item_id for c in changes), np.int64)
    async with uow() as repo:
        rows = await repo.item_answers(ids.tolist())
        now_digests = digest(ids, rows.item, rows.worker, rows.choice)
        fresh = [c for c in changes
                 if int(now_digests[np.searchsorted(ids, c.item_id)]) == c.digest]
        moved = await repo.set_verdicts(
            [(c.item_id, c.decision, c.n_answers) for c in fresh if not c.done], now)
        done = [c for c in fresh if c.done]
        await repo.relabel([(c.item_id, c.decision.label, c.decision.confidence,
                             c.decision.verdict) for c in done if c.decision.label is not None])
    return moved, sum(c.new_label for c in done), len(changes) - len(fresh)


async def _judge(uow: ModelUnitOfWork, read: ModelUnitOfWork, project: Project, model: _Model,
                 now: datetime) -> tuple[int, int, int]:
    """Decide the movable items a stretch at a time; save what changes, SAVE_MOST at a
    time. (moved, relabeled, stale)"""
    after = moved = relabeled = stale = 0
    pending: list[_Change] = []
    while True:
        async with read() as repo:
            stretch = await repo.movable_stretch(project.id, after, JUDGE_STRETCH)
        if stretch.last is not None:
            after = stretch.last
            changes, left = await asyncio.to_thread(_changes, project, model, stretch)
            pending += changes
            stale += left
        while pending and (len(pending) >= SAVE_MOST or stretch.last is None):
            saved = await _save(uow, pending[:SAVE_MOST], now)
            del pending[:SAVE_MOST]
            moved, relabeled, stale = moved + saved[0], relabeled + saved[1], stale + saved[2]
        if stretch.last is None:
            return moved, relabeled, stale


async def rejudge_project(uow: ModelUnitOfWork, project_id: int, now: datetime,
                          *, force: bool = False, reader: ModelUnitOfWork | None = None
                          ) -> ModelRun | None:
    """Re-weigh a project's workers and move its items on; None when nothing changed since
    the last run (unless `force`) or the project has no answers.

    Reads go through `reader` (default: `uow`), a stretch of items per short read, so the
    database is never held for long; the model runs off the event loop on compact arrays;
    only decisions that change an item are saved, SAVE_MOST per unit of work, each only
    while the item still has the answers the model saw (else it is left for the next run:
    the tap that changed its answers judged it already)."""
    read = reader or uow
    async with read() as repo:
        project = await repo.project(project_id)
        judged = await repo.judged_answers(project_id)
    count, work_items = await _count(read, project_id)
    if not force and count == judged:
        return None
    collector = await _collect(read, project_id, len(project.choices), count)
    if not collector.answers:
        return None
    answers = collector.answers
    model = await asyncio.to_thread(_fit, collector)
    moved, relabeled, stale = await _judge(uow, read, project, model, now)
    async with uow() as repo:
        await repo.set_judged(project_id, count, now)
    iterations = model.labels.iterations if model.labels is not None else 0
    return ModelRun(project.name, answers, work_items, iterations, moved, relabeled, stale)
