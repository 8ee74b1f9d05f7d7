"""The project judge (`rejudge_project`) on a real SQLite file: it decides as the judge that
read everything at once did, writes only what changes, and never decides on stale answers."""

from __future__ import annotations

import contextlib
import random
import shutil
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import review.service as service
from review.aggregate import Answers, dawid_skene
from review.ports import ProjectAnswers
from review.routing import tally_of
from review.service import MIN_MODEL_ANSWERS, MOVABLE, judge_item, rejudge_project
from storage.db import Database
from storage.repo import SqlItemSink, SqlRepo, Store
from storage.times import ts
from tasks.importing import PreparedText
from tasks.known import Answer
from tasks.model import Project, Role, Verdict
from tasks.ports import NOT_SURE

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Crowd:
    """A project on a real database file, answered the way taps answer: each answer (or
    change) and the item's judgement in one unit of work."""

    def __init__(self, store: Store, project: int, workers: list[int], batches: dict[int, int]
                 ) -> None:
        self.store, self.project, self.workers, self.batches = store, project, workers, batches
        self.items: list[int] = []

    @classmethod
    async def open(cls, path: Path, texts: list[str], workers: int, choices: int = 2,
                   overlap: int = 3) -> tuple[Database, Crowd]:
        db = await Database.open(path)
        store = Store(db)
        names = tuple(f"choice {c}" for c in range(choices))
        async with store.uow() as repo:
            project = (await repo.create_project("p", "?", names, overlap, NOW)).id
            for w in range(workers):
                await repo.conn.execute(
                    "INSERT INTO workers (name, project_id, created_at) VALUES (?, ?, ?)",
                    (f"w{w}", project, ts(NOW)))
                await repo.conn.execute(
                    "INSERT INTO batches (worker_id, day, size, created_at, ends_at)"
                    " VALUES (?, '2026-11-23', 500, ?, ?)",
                    (w + 1, ts(NOW), ts(NOW + timedelta(days=1))))
        await SqlItemSink(store).add_items(
            project, [PreparedText(t, f"txt:{t}", f"x.csv:{i}") for i, t in enumerate(texts)])
        crowd = cls(store, project, list(range(1, workers + 1)),
                    {w: w for w in range(1, workers + 1)})
        async with store.reader() as repo:
            crowd.items = [int(r[0]) for r in await repo._all(
                "SELECT id FROM items WHERE project_id = ? ORDER BY id", project)]
        return db, crowd

    async def answer(self, item: int, worker: int, choice: int) -> None:
        async with self.store.uow() as repo:
            await repo.add_answer(item, worker, self.batches[worker], choice, NOW, NOW)
            await judge_item(repo, item, NOW)

    async def state(self, item: int) -> tuple[str | None, int, int]:
        async with self.store.reader() as repo:
            row = await repo._one("SELECT verdict, wanted, n_answers FROM items WHERE id = ?",
                                  item)
        assert row is not None
        return row[0], int(row[1]), int(row[2])

    async def change(self, repo: SqlRepo, item: int, worker: int, choice: int) -> None:
        await repo.change_answer(item, worker, choice, NOW)
        await judge_item(repo, item, NOW)


async def items_of(store: Store) -> dict[int, dict[str, Any]]:
    async with store.reader() as repo:
        rows = await repo._all(
            "SELECT id, verdict, label, confidence, wanted, status, review_reason, review_at"
            " FROM items WHERE role = 'work' ORDER BY id")
    return {int(r["id"]): dict(r) for r in rows}


# --- the judge that read everything at once, as it was before (the reference) ------------


def _legacy_fit(project: Project, data: ProjectAnswers) -> dict[int, tuple[int, float]]:
    workers = {w: i for i, w in enumerate(sorted({v.worker_id for v in data.votes}))}
    items = sorted({v.item_id for v in data.votes} | {row[0] for row in data.items})
    index = {item: i for i, item in enumerate(items)}
    rows = [(workers[v.worker_id], index[v.item_id], -1 if v.choice is None else v.choice)
            for v in data.votes]
    answers = Answers.from_rows(rows, len(items), len(project.choices), len(workers))
    known = {index[i]: label for i, label in data.known.items() if i in index}
    labels = dawid_skene(answers, known=known)
    return {item: (int(labels.label[i]), float(labels.confidence[i]))
            for item, i in index.items() if labels.label[i] >= 0}


async def legacy_rejudge(store: Store, project_id: int, now: datetime) -> None:
    async with store.uow() as repo:
        project = await repo.project(project_id)
        row = await repo.project_answers(project_id)
    model = _legacy_fit(project, row) if len(row.votes) >= MIN_MODEL_ANSWERS else {}
    tallies: dict[int, list[int | None]] = defaultdict(list)
    for vote in row.votes:
        tallies[vote.item_id].append(vote.choice)
    async with store.uow() as repo:
        for item_id, verdict, wanted, n_answers, _label in row.items:
            if verdict not in MOVABLE or (verdict is None and n_answers < wanted):
                continue
            decision = service._decide(tally_of(tallies[item_id], len(project.choices)),
                                       project, model.get(item_id))
            done = (Verdict.AGREEMENT, Verdict.MODEL)
            if decision.verdict in done and verdict in done and decision.label is not None:
                await repo.relabel([(item_id, decision.label, decision.confidence,
                                     decision.verdict)])
                continue
            if decision.verdict is not verdict or decision.wanted not in (None, wanted):
                await repo.set_verdict(item_id, decision, now, if_answers=n_answers)


async def realistic(path: Path) -> None:
    """300 items of 3 choices, 24 workers (good, middling, a spammer, a guesser), answered
    and judged tap by tap: agreed, asked again, to review, some decided by a coordinator,
    some still collecting; "not sure" now and then; hidden gold answered too."""
    rng = random.Random(7)
    db, crowd = await Crowd.open(path, [f"item {i}" for i in range(300)], workers=24,
                                 choices=3)
    skill = [0.92] * 14 + [0.65] * 6 + [0.0, 0.0, -1.0, -1.0]  # 0: always 0; -1: guesses
    truth = {item: rng.choice([0, 0, 1, 2]) for item in crowd.items}

    def vote(worker: int, true: int) -> int:
        if rng.random() < 0.04:
            return NOT_SURE
        level = skill[worker - 1]
        if level == 0.0:
            return 0
        if level < 0 or rng.random() > level:
            return rng.randrange(3)
        return true

    for n, item in enumerate(crowd.items):
        # Every tenth is still collecting; most wait for the next worker if asked for one.
        hands = 1 if n % 10 == 9 else rng.choice([3, 3, 3, 4, 8])
        for worker in rng.sample(crowd.workers, hands):
            verdict, wanted, answered = await crowd.state(item)
            if verdict not in (None, "more") or answered >= wanted:
                break  # decided, or in review
            await crowd.answer(item, worker, vote(worker, truth[item]))
    await SqlItemSink(crowd.store).add_known(crowd.project, [
        PreparedText(f"gold {g}", f"txt:gold {g}", f"g.csv:{g}", answer=Answer(g % 3, None))
        for g in range(12)], Role.GOLD)
    async with crowd.store.uow() as repo:
        gold = [int(r[0]) for r in await repo._all("SELECT id FROM items WHERE role = 'gold'")]
        for g, item in enumerate(gold):
            for worker in rng.sample(crowd.workers, 4):
                await repo.add_answer(item, worker, worker, vote(worker, g % 3), NOW, NOW)
        await repo.conn.execute("INSERT INTO coordinators (name, created_at) VALUES ('c', ?)",
                                (ts(NOW),))
        review = [int(r[0]) for r in await repo._all(
            "SELECT id FROM items WHERE verdict = 'review' ORDER BY id LIMIT 8")]
        for item in review:
            await repo.decide(item, truth[item], 1, NOW)
    await db.close()


@pytest.fixture(scope="module")
def realistic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("realistic") / "crowd.db"
    asyncio.run(realistic(path))
    return path


@pytest.mark.parametrize("small", [False, True], ids=["stretches as run", "tiny stretches"])
async def test_the_judge_decides_every_item_as_the_judge_that_read_everything_at_once(
    realistic_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: bool,
) -> None:
    if small:  # many stretches and units of work, cut anywhere
        for name, size in (("COUNT_STRETCH", 13), ("MODEL_STRETCH", 7), ("JUDGE_STRETCH", 5),
                           ("SAVE_MOST", 3)):
            monkeypatch.setattr(service, name, size)
    found: list[dict[int, dict[str, Any]]] = []
    for which in ("before", "now"):
        path = tmp_path / f"{which}.db"
        shutil.copy(realistic_db, path)
        store = Store(await Database.open(path))
        try:
            start = await items_of(store)
            if which == "before":
                await legacy_rejudge(store, 1, NOW)
            else:
                run = await rejudge_project(store.uow, 1, NOW, force=True, reader=store.reader)
                assert run is not None and run.iterations > 1 and run.stale == 0
            found.append(await items_of(store))
        finally:
            await store.db.close()
    before, now = found
    moved = [i for i in start if before[i]["verdict"] != start[i]["verdict"]]
    relabeled = [i for i in start if before[i]["label"] != start[i]["label"]]
    verdicts = {row["verdict"] for row in before.values()}
    assert len(moved) >= 10 and len(relabeled) >= 1
    assert {"model", "agreement", "more", "review", "reviewer", None} <= verdicts
    for item, row in before.items():
        exact = {k: v for k, v in row.items() if k != "confidence"}
        assert {k: v for k, v in now[item].items() if k != "confidence"} == exact, item
        if row["confidence"] is None:
            assert now[item]["confidence"] is None
        else:  # a done item's confidence is rewritten only when it moved by more than a step
            assert now[item]["confidence"] == pytest.approx(row["confidence"],
                                                            abs=service.CONFIDENCE_STEP)


@contextlib.contextmanager
def statements(store: Store) -> Any:
    found: list[str] = []
    raw = store.db.conn._conn  # the sqlite3 connection both aiosqlite and the taps use
    raw.set_trace_callback(found.append)
    try:
        yield found
    finally:
        raw.set_trace_callback(None)


async def test_a_judge_run_that_changes_nothing_writes_nothing(
    realistic_db: Path, tmp_path: Path,
) -> None:
    path = tmp_path / "crowd.db"
    shutil.copy(realistic_db, path)
    store = Store(await Database.open(path))
    try:
        first = await rejudge_project(store.uow, 1, NOW, force=True, reader=store.reader)
        assert first is not None and first.moved > 0
        after_first = await items_of(store)
        with statements(store) as sql:
            again = await rejudge_project(store.uow, 1, NOW, force=True, reader=store.reader)
        assert again is not None and (again.moved, again.relabeled, again.stale) == (0, 0, 0)
        assert await items_of(store) == after_first
        writes = [s for s in sql if s.lstrip().upper().startswith(("UPDATE", "INSERT",
                                                                   "DELETE"))]
        assert writes == [s for s in writes if "judged_answers" in s]  # the run's record only
        assert sum(s.startswith("BEGIN IMMEDIATE") for s in sql) == 1
    finally:
        await store.db.close()


class Meddling:
    """A reader whose repository runs `action` (as a tap would, on the same connection)
    just before or just after the first call of one of its methods."""

    def __init__(self, store: Store, method: str, when: str,
                 action: Callable[[SqlRepo], Awaitable[None]]) -> None:
        self.store, self.method, self.when, self.action = store, method, when, action
        self.done = False

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[Any]:
        async with self.store.reader() as repo:
            yield _Proxy(repo, self)


class _Proxy:
    def __init__(self, repo: SqlRepo, meddling: Meddling) -> None:
        self._repo, self._meddling = repo, meddling

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._repo, name)
        meddling = self._meddling
        if name != meddling.method or meddling.done:
            return real

        async def call(*args: Any) -> Any:
            meddling.done = True
            if meddling.when == "before":
                await meddling.action(self._repo)
            found = await real(*args)
            if meddling.when == "after":
                await meddling.action(self._repo)
            return found

        return call


async def two_agree_one_disagrees(path: Path) -> tuple[Database, Crowd]:
    """Workers 1 and 2 agree on every item, worker 3 always picks the other: 2 of 3 is not
    sure enough for the crowd (one more worker is asked), but the model, weighing the
    workers, is sure."""
    db, crowd = await Crowd.open(path, [f"item {i}" for i in range(10)], workers=3)
    for n, item in enumerate(crowd.items):
        for worker, choice in ((1, n % 2), (2, n % 2), (3, 1 - n % 2)):
            await crowd.answer(item, worker, choice)
    assert {row["verdict"] for row in (await items_of(crowd.store)).values()} == {"more"}
    return db, crowd


@pytest.mark.parametrize(("method", "when"), [
    ("movable_stretch", "before"),  # after the model read the answers
    ("movable_stretch", "after"),  # after the items to decide were read, before the save
])
async def test_an_answer_changed_while_the_judge_runs_is_not_decided_on_stale_answers(
    tmp_path: Path, method: str, when: str,
) -> None:
    db, crowd = await two_agree_one_disagrees(tmp_path / "crowd.db")
    first = crowd.items[0]
    before = (await items_of(crowd.store))[first]

    async def worker_1_changes_their_mind(repo: SqlRepo) -> None:
        # Now only 1 of 3 says choice 0, which the model (on the answers it read) is sure
        # of. The item waits for its 4th answer: the tap's judge leaves it as it is.
        await crowd.change(repo, first, 1, 1)

    meddling = Meddling(crowd.store, method, when, worker_1_changes_their_mind)
    try:
        run = await rejudge_project(crowd.store.uow, crowd.project, NOW, force=True,
                                    reader=meddling.reader)
        assert meddling.done and run is not None
        assert (run.moved, run.stale) == (9, 1)
        rows = await items_of(crowd.store)
        assert rows[first] == before  # not done as choice 0 on the answers it no longer has
        assert (before["verdict"], before["wanted"]) == ("more", 4)
        assert {rows[i]["verdict"] for i in crowd.items[1:]} == {"model"}
    finally:
        await db.close()


async def test_a_new_answer_after_the_model_read_leaves_the_item_to_the_tap(
    tmp_path: Path,
) -> None:
    db, crowd = await two_agree_one_disagrees(tmp_path / "crowd.db")
    async with crowd.store.uow() as repo:
        await repo.conn.execute("INSERT INTO workers (name, project_id, created_at)"
                                " VALUES ('w4', 1, ?)", (ts(NOW),))
        await repo.conn.execute("INSERT INTO batches (worker_id, day, size, created_at)"
                                " VALUES (4, '2026-11-23', 5, ?)", (ts(NOW),))
    first = crowd.items[0]

    async def a_fourth_worker_answers(repo: SqlRepo) -> None:
        await repo.add_answer(first, 4, 4, 1, NOW, NOW)  # 2 against 2: a tie
        await judge_item(repo, first, NOW)

    meddling = Meddling(crowd.store, "movable_stretch", "after", a_fourth_worker_answers)
    try:
        run = await rejudge_project(crowd.store.uow, crowd.project, NOW, force=True,
                                    reader=meddling.reader)
        assert run is not None and (run.moved, run.stale) == (9, 1)
        row = (await items_of(crowd.store))[first]
        assert (row["verdict"], row["review_reason"]) == ("review", "tie")
    finally:
        await db.close()
