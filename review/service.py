"""Judging items: one item as its answers come in, a whole project with Dawid-Skene.

The labeling loop says "this item has its answers" and the caller asks `judge_item` within
the same transaction. `rejudge_project` reads a project's answers, weighs every worker with
Dawid-Skene off the event loop, and applies what it found in one short transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from review.aggregate import Answers, dawid_skene
from review.ports import JudgeRepository, ModelUnitOfWork, ProjectAnswers
from review.routing import Decision, Tally, route, tally_of
from tasks.model import Project, Role, Verdict

log = logging.getLogger(__name__)

# Below this many answers in a project the model has too little to weigh workers by, and
# the majority stands alone.
MIN_MODEL_ANSWERS = 20
# Items the model may still move: collecting, asking one more, or done by the crowd.
MOVABLE = (None, Verdict.MORE, Verdict.AGREEMENT, Verdict.MODEL)


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


def _fit(project: Project, data: ProjectAnswers) -> tuple[dict[int, tuple[int, float]], int]:
    """Dawid-Skene over the project: item id -> (label, confidence), and how many EM
    iterations it took. Blocking: run it off the event loop."""
    workers = {w: i for i, w in enumerate(sorted({v.worker_id for v in data.votes}))}
    items = sorted({v.item_id for v in data.votes} | {row[0] for row in data.items})
    index = {item: i for i, item in enumerate(items)}
    rows = [(workers[v.worker_id], index[v.item_id], -1 if v.choice is None else v.choice)
            for v in data.votes]
    answers = Answers.from_rows(rows, len(items), len(project.choices), len(workers))
    known = {index[i]: label for i, label in data.known.items() if i in index}
    labels = dawid_skene(answers, known=known)
    found = {
        item: (int(labels.label[i]), float(labels.confidence[i]))
        for item, i in index.items() if labels.label[i] >= 0
    }
    return found, labels.iterations


async def rejudge_project(uow: ModelUnitOfWork, project_id: int, now: datetime,
                          *, force: bool = False) -> ModelRun | None:
    """Re-weigh a project's workers and move its items on; None when nothing changed since
    the last run (unless `force`)."""
    async with uow() as repo:
        project = await repo.project(project_id)
        count = await repo.answer_count(project_id)
        fresh = force or count != await repo.judged_answers(project_id)
        row = await repo.project_answers(project_id) if fresh else None
    if row is None or not row.votes:
        return None
    model: dict[int, tuple[int, float]] = {}
    iterations = 0
    if len(row.votes) >= MIN_MODEL_ANSWERS:
        model, iterations = await asyncio.to_thread(_fit, project, row)
    tallies: dict[int, list[int | None]] = defaultdict(list)
    for vote in row.votes:
        tallies[vote.item_id].append(vote.choice)
    moved = relabeled = 0
    async with uow() as repo:
        for item_id, verdict, wanted, n_answers, label in row.items:
            if verdict not in MOVABLE or (verdict is None and n_answers < wanted):
                continue  # decided, in review, or still collecting its first answers
            decision = _decide(tally_of(tallies[item_id], len(project.choices)), project,
                               model.get(item_id))
            done = (Verdict.AGREEMENT, Verdict.MODEL)
            if decision.verdict in done and verdict in done and decision.label is not None:
                relabeled += decision.label != label
                await repo.relabel(item_id, decision.label, decision.confidence,
                                   decision.verdict)
                continue
            if decision.verdict is not verdict or decision.wanted not in (None, wanted):
                moved += await repo.set_verdict(item_id, decision, now, if_answers=n_answers)
        await repo.set_judged(project_id, count, now)
    return ModelRun(project.name, len(row.votes), len(row.items), iterations, moved, relabeled)
