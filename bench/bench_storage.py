"""How fast Haru's SQLite file commits, and how fast it hands out a day's reserved work.

Run: python bench/bench_storage.py [--quick] [--seconds 3] [--sizes 1000 10000 100000]
     [--budget 1] [--workers 1000]
Prints Markdown tables:

1. single-row committed transactions per second (an upsert into `meta` inside
   `Database.transaction()`, i.e. BEGIN IMMEDIATE ... COMMIT), with `synchronous = FULL` (what
   Haru uses) and `NORMAL`, both in WAL mode;
2. the day's batch on projects of growing size (text items, overlap 3, a batch of 20):
   (a) `SqlRepo.reserve` of 20 items for a fresh worker -- with nothing reserved or answered
       yet, and with the first 90% of items full (open, but n_answers + n_reserved = wanted:
       the rows the partial index `items_free` leaves out); also (a') with the first 90%
       answered by this very worker but still open (waiting for others' answers), which
       `items_free` does hold and `reserve` has to step over;
   (b) `SqlRepo.next_reserved` and `SqlRepo.is_reserved` on one batch, while a whole day of
       reservations (`--workers` workers x 20, as many as the project can take) is held;
   (c) `SqlRepo.add_answer` of a reserved item (also deletes the reservation and updates the
       item's counters), one transaction each: the call alone, and the call plus COMMIT;
   (d) `SqlRepo.release_expired` when that whole day expires at once: the time of that one
       call (at least 3 tries, each rolled back).
   `reserve` and `release_expired` run in a transaction that is rolled back after each call,
   so every call sees the same data; `next_reserved` and `is_reserved` run inside one read,
   like the service does. Times are for the call itself (its aiosqlite round trips included),
   without the COMMIT unless said so; (1) gives the COMMIT's price.
3. `EXPLAIN QUERY PLAN` of the statements `reserve`, `next_reserved` and `release_expired` run,
   and whether `items_free` could serve `reserve`'s SELECT at all (with INDEXED BY).

Everything runs on a temp file in the system's temp folder: the disk under it decides (1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from storage.db import Database
from storage.repo import _FREE, SqlRepo
from storage.times import ts
from tasks.model import Project, Worker
from tasks.ports import Batch

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Seoul, a Monday
DAY = "2026-11-23"
DAY_END = NOW + timedelta(hours=14)  # midnight in Seoul: the batches' ends_at
OVERLAP = 3
BATCH_SIZE = 20
FULL_SHARE = 0.9



@dataclass(frozen=True)
class Settings:
    seconds: float  # of commits per synchronous level
    sizes: tuple[int, ...]  # project sizes, in items
    budget: float  # seconds of calls per case
    workers: int  # whose day is reserved for (b)-(d)


FULL = Settings(seconds=3.0, sizes=(1_000, 10_000, 100_000), budget=1.0, workers=1_000)
QUICK = Settings(seconds=0.5, sizes=(1_000, 10_000), budget=0.25, workers=200)


def filesystem(path: Path) -> str:
    """The type of the filesystem holding `path`, from /proc/mounts (Linux), else '?'."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 3 and str(path).startswith(fields[1]) and len(fields[1]) > len(
                    best
                ):
                    best, kind = fields[1], fields[2]
    except OSError:
        pass
    return kind


def machine(temp: Path) -> list[str]:
    return [
        f"- CPUs: {os.cpu_count()}; {platform.platform()}; {platform.machine()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"SQLite {sqlite3.sqlite_version}",
        f"- temp folder: {temp} on {filesystem(temp)}",
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(*cells: object) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


# --- 1. committed transactions ------------------------------------------------------------


async def commits(folder: Path, synchronous: str, seconds: float) -> str:
    db = await Database.open(folder / f"commits-{synchronous.lower()}.db")
    try:
        if synchronous != "FULL":
            await db.conn.execute(f"PRAGMA synchronous = {synchronous}")
        cursor = await db.conn.execute("PRAGMA synchronous")
        level = await cursor.fetchone()
        journal = await (await db.conn.execute("PRAGMA journal_mode")).fetchone()
        assert level is not None and journal is not None
        latencies: list[float] = []
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < seconds:
            began = time.perf_counter()
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ("bench", str(count)),
                )
            latencies.append(time.perf_counter() - began)
            count += 1
        elapsed = time.perf_counter() - start
    finally:
        await db.close()
    micros = [v * 1e6 for v in latencies]
    return row(
        f"{synchronous} (`PRAGMA synchronous` = {level[0]}, {journal[0]})",
        count, f"{elapsed:.1f}", f"{count / elapsed:,.0f}",
        f"{statistics.median(micros):,.0f}", f"{percentile(micros, 0.95):,.0f}",
    )


# --- 2. the day's batch -------------------------------------------------------------------


async def build(db: Database, size: int) -> tuple[Worker, Project, Batch]:
    """One project of `size` text items (each wanting OVERLAP answers, as an import makes
    them), one worker and their batch for the day; items written in one executemany."""
    async with db.transaction() as conn:
        repo = SqlRepo(conn)
        project = await repo.create_project("bench", "Is it kind?", ("🙂 Yes", "🙁 No"),
                                            OVERLAP, NOW)
        worker = await repo.create_worker("bench-worker", project.id, NOW)
        batch = await repo.create_batch(worker.id, DAY, NOW, DAY_END, scheduled=True)
        await conn.executemany(
            "INSERT INTO items (project_id, kind, text, content_key, source, created_at, wanted)"
            " VALUES (?, 'text', ?, ?, ?, ?, ?)",
            [(project.id, f"sentence number {i}", f"txt:{i}", f"bench.csv:{i + 2}", ts(NOW),
              OVERLAP) for i in range(size)],
        )
    return worker, project, batch


@contextlib.asynccontextmanager
async def rolled_back(db: Database) -> AsyncIterator[SqlRepo]:
    """A write transaction (BEGIN IMMEDIATE, like `Database.transaction`) that is always
    rolled back: the next call sees the same data."""
    async with db.read() as conn:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield SqlRepo(conn)
        finally:
            await conn.rollback()


async def latency(
    db: Database, call: Callable[[SqlRepo], Awaitable[object]], budget: float,
    expected: object = ..., *, rollback: bool = False, at_least: int = 20, at_most: int = 3000,
) -> tuple[int, float, float]:
    """Call repeatedly for about `budget` seconds (at least `at_least`, at most `at_most`
    calls), all inside one read like the service does, or with `rollback` each in its own
    rolled-back write transaction; (calls, median us, p95 us) of the call alone."""
    latencies: list[float] = []

    async def once(repo: SqlRepo) -> None:
        began = time.perf_counter()
        result = await call(repo)
        latencies.append((time.perf_counter() - began) * 1e6)
        if expected is not ...:
            assert result == expected, (result, expected)

    start = time.perf_counter()

    def more() -> bool:
        return len(latencies) < at_least or (
            len(latencies) < at_most and time.perf_counter() - start < budget
        )

    if rollback:
        while more():
            async with rolled_back(db) as repo:
                await once(repo)
    else:
        async with db.read() as conn:
            repo = SqlRepo(conn)
            while more():
                await once(repo)
    return len(latencies), statistics.median(latencies), percentile(latencies, 0.95)


async def first_reserved(db: Database, batch: Batch, worker: Worker, project: Project) -> int:
    """The first item `reserve` picks for the worker now (rolled back)."""
    async with rolled_back(db) as repo:
        assert await repo.reserve(batch, worker, project, BATCH_SIZE, NOW) == BATCH_SIZE
        cursor = await repo.conn.execute(
            "SELECT min(item_id) FROM reservations WHERE batch_id = ?", (batch.id,)
        )
        found = await cursor.fetchone()
    assert found is not None
    return int(found[0])


async def open_day(db: Database, project: Project, workers: int) -> int:
    """`workers` fresh workers, each with the day's batch and 20 items reserved through
    `SqlRepo.reserve` (as `tasks.labeling.open_batch` does), all in one transaction; how many
    reservations were made."""
    reserved = 0
    async with db.transaction() as conn:
        repo = SqlRepo(conn)
        for k in range(workers):
            worker = await repo.create_worker(f"day-worker-{k}", project.id, NOW)
            batch = await repo.create_batch(worker.id, DAY, NOW, DAY_END, scheduled=True)
            more = await repo.reserve(batch, worker, project, BATCH_SIZE, NOW)
            await repo.resize_batch(batch.id, more)
            reserved += more
    return reserved


async def add_answers(
    db: Database, pairs: list[tuple[int, int, int]], budget: float
) -> tuple[list[float], list[float]]:
    """`add_answer` of reserved items (worker, item, batch), one transaction each, for about
    `budget` seconds (at least 20 calls); microseconds of the call, and of call + COMMIT."""
    calls: list[float] = []
    totals: list[float] = []
    start = time.perf_counter()
    for n, (worker_id, item_id, batch_id) in enumerate(pairs):
        if len(calls) >= 20 and time.perf_counter() - start >= budget:
            break
        async with db.read() as conn:
            repo = SqlRepo(conn)
            await conn.execute("BEGIN IMMEDIATE")
            began = time.perf_counter()
            await repo.add_answer(item_id, worker_id, batch_id, n % 2, shown_at=NOW,
                                  answered_at=NOW + timedelta(seconds=5))
            called = time.perf_counter()
            await conn.commit()
            ended = time.perf_counter()
        calls.append((called - began) * 1e6)
        totals.append((ended - began) * 1e6)
    return calls, totals


async def day_cases(folder: Path, size: int, budget: float, day_workers: int) -> list[str]:
    db = await Database.open(folder / f"items-{size}.db")
    rows: list[str] = []

    def add(case: str, calls: int, median: float, p95: float) -> None:
        rows.append(row(f"{size:,}", case, calls, f"{median:,.0f}", f"{p95:,.0f}"))

    try:
        began = time.perf_counter()
        worker, project, batch = await build(db, size)
        built = time.perf_counter() - began
        cutoff = int(size * FULL_SHARE)
        async with db.read() as conn:
            cursor = await conn.execute("SELECT min(id), max(id) FROM items")
            bounds = await cursor.fetchone()
        assert bounds is not None
        first, last = int(bounds[0]), int(bounds[1])
        assert last - first + 1 == size

        async def round_trip(repo: SqlRepo) -> object:
            return await repo.get_meta("nothing")

        add("baseline: `get_meta` (a PK lookup, one aiosqlite round trip)",
            *await latency(db, round_trip, budget / 2))

        def reserve(repo: SqlRepo) -> Awaitable[int]:
            return repo.reserve(batch, worker, project, BATCH_SIZE, NOW)

        # (a) a fresh worker's day: nothing reserved or answered yet.
        assert await first_reserved(db, batch, worker, project) == first
        add("(a) `reserve` 20, nothing reserved or answered",
            *await latency(db, reserve, budget, BATCH_SIZE, rollback=True))

        # (a) the first 90% full: still open, but every hand they want is taken.
        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE items SET n_answers = 1, n_reserved = wanted - 1 WHERE id < ?",
                (first + cutoff,),
            )
        assert await first_reserved(db, batch, worker, project) == first + cutoff
        add("(a) `reserve` 20, first 90% full (n_answers + n_reserved = wanted)",
            *await latency(db, reserve, budget, BATCH_SIZE, rollback=True))

        # (a') the first 90% answered by this very worker, still open: in `items_free`.
        async with db.transaction() as conn:
            await conn.execute("UPDATE items SET n_answers = 1, n_reserved = 0")
            await conn.executemany(
                "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at,"
                " answered_at) VALUES (?, ?, ?, 0, ?, ?)",
                [(item, worker.id, batch.id, ts(NOW), ts(NOW))
                 for item in range(first, first + cutoff)],
            )
        assert await first_reserved(db, batch, worker, project) == first + cutoff
        add("(a') `reserve` 20, first 90% answered by this worker, still open",
            *await latency(db, reserve, budget, BATCH_SIZE, rollback=True))
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM answers")
            await conn.execute("UPDATE items SET n_answers = 0")

        # A whole day: every worker's batch reserved, as many as the project can take.
        workers = min(day_workers, size * OVERLAP // BATCH_SIZE)
        began = time.perf_counter()
        reserved = await open_day(db, project, workers)
        opened = time.perf_counter() - began
        assert reserved == workers * BATCH_SIZE, (reserved, workers)
        async with db.read() as conn:
            cursor = await conn.execute(
                "SELECT worker_id, item_id, batch_id FROM reservations ORDER BY batch_id, item_id"
            )
            pairs = [(int(r[0]), int(r[1]), int(r[2])) for r in await cursor.fetchall()]
        assert len(pairs) == reserved
        _, held, held_batch = pairs[0]

        # (b) what the worker does next, and whether the item in hand is still theirs.
        def next_reserved(repo: SqlRepo) -> Awaitable[int | None]:
            return repo.next_reserved(held_batch, NOW)

        def is_reserved(repo: SqlRepo) -> Awaitable[bool]:
            return repo.is_reserved(held_batch, held, NOW)

        add(f"(b) `next_reserved`, {reserved:,} reservations held",
            *await latency(db, next_reserved, budget, held))
        add(f"(b) `is_reserved`, {reserved:,} reservations held",
            *await latency(db, is_reserved, budget, True))

        # (d) the day ends for everyone at once (rolled back: (c) then answers the same day).
        def release(repo: SqlRepo) -> Awaitable[int]:
            return repo.release_expired(DAY_END)

        released = await latency(db, release, budget, reserved, rollback=True, at_least=3,
                                 at_most=20)

        # (c) answers to the reserved items, batch after batch.
        calls, totals = await add_answers(db, pairs, budget)
        add("(c) `add_answer` of a reserved item (COMMIT not timed)",
            len(calls), statistics.median(calls), percentile(calls, 0.95))
        add("(c) `add_answer` of a reserved item + COMMIT (FULL)",
            len(totals), statistics.median(totals), percentile(totals, 0.95))
        add(f"(d) `release_expired`: {reserved:,} reservations of {workers:,} workers expire",
            *released)
        rows.append(row(f"{size:,}", f"(building the {size:,} items took {built:.2f} s; "
                        f"reserving the day of {workers:,} workers {opened:.2f} s)", "", "", ""))
    finally:
        await db.close()
    return rows


# --- 3. query plans -----------------------------------------------------------------------


async def traced(conn: aiosqlite.Connection, call: Awaitable[object]) -> list[str]:
    """The SQL statements `call` runs, with their parameters filled in."""
    statements: list[str] = []
    await conn.set_trace_callback(statements.append)
    try:
        await call
    finally:
        await conn.set_trace_callback(None)  # type: ignore[arg-type]
    return statements


async def explain(
    conn: aiosqlite.Connection, sql: str, params: Iterable[object] = ()
) -> list[str]:
    cursor = await conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)
    return [f"    {r['detail']}" for r in await cursor.fetchall()]


async def plan(folder: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of what the day's batch runs, on a small database (no ANALYZE, so
    the plan does not depend on the size)."""
    db = await Database.open(folder / "plan.db")
    lines: list[str] = []
    try:
        worker, project, batch = await build(db, 10)
        async with rolled_back(db) as repo:
            # The same statement reserve runs, with the same parameters.
            lines += ["`reserve` (its SELECT):", "", "    SELECT i.id <_FREE> ORDER BY i.id "
                      "LIMIT :count", ""]
            params = {"project": project.id, "worker": worker.id, "count": BATCH_SIZE}
            lines += await explain(
                repo.conn, f"SELECT i.id {_FREE} ORDER BY i.id LIMIT :count", params
            )
            # Whether the partial index could serve it at all, if the planner were told to.
            forced = _FREE.replace("FROM items i", "FROM items i INDEXED BY items_free", 1)
            lines += ["", "The same with `FROM items i INDEXED BY items_free`:", ""]
            try:
                lines += await explain(
                    repo.conn, f"SELECT i.id {forced} ORDER BY i.id LIMIT :count", params
                )
            except sqlite3.Error as error:
                lines.append(f"    {type(error).__name__}: {error}")
            await repo.reserve(batch, worker, project, BATCH_SIZE, NOW)
            for name, call in (
                ("next_reserved", repo.next_reserved(batch.id, NOW)),
                ("release_expired", repo.release_expired(DAY_END)),
            ):
                for statement in await traced(repo.conn, call):
                    lines += ["", f"`{name}`:", "", f"    {' '.join(statement.split())}", ""]
                    lines += await explain(repo.conn, statement)
    finally:
        await db.close()
    return lines


async def main_async(settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="haru-bench-") as temp:
        folder = Path(temp)
        print("# Haru storage benchmark\n")
        print("\n".join(machine(folder)))
        print()
        print("## Single-row committed transactions (upsert into `meta`, WAL, BEGIN IMMEDIATE)\n")
        print(row("synchronous", "commits", "seconds", "commits/s", "median µs", "p95 µs"))
        print(row("---", "---:", "---:", "---:", "---:", "---:"))
        for level in ("FULL", "NORMAL"):
            print(await commits(folder, level, settings.seconds), flush=True)
        print()
        print(f"## The day's batch (text items, overlap {OVERLAP}, batches of {BATCH_SIZE}, "
              "no ANALYZE)\n")
        print(row("items", "case", "calls", "median µs", "p95 µs"))
        print(row("---:", "---", "---:", "---:", "---:"))
        for size in settings.sizes:
            for line in await day_cases(folder, size, settings.budget, settings.workers):
                print(line, flush=True)
        print()
        print("## Query plans\n")
        print("\n".join(await plan(folder)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"small and short: sizes {' '.join(map(str, QUICK.sizes))},"
                        f" {QUICK.seconds} s of commits, budget {QUICK.budget} s,"
                        f" {QUICK.workers} workers (options given still count)")
    parser.add_argument("--seconds", type=float,
                        help=f"seconds of commits per synchronous level ({FULL.seconds})")
    parser.add_argument("--sizes", type=int, nargs="+",
                        help=f"project sizes in items ({' '.join(map(str, FULL.sizes))})")
    parser.add_argument("--budget", type=float,
                        help=f"seconds of calls per case ({FULL.budget})")
    parser.add_argument("--workers", type=int,
                        help=f"workers whose day is reserved for (b)-(d) ({FULL.workers})")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    chosen = Settings(
        seconds=base.seconds if args.seconds is None else args.seconds,
        sizes=base.sizes if args.sizes is None else tuple(args.sizes),
        budget=base.budget if args.budget is None else args.budget,
        workers=base.workers if args.workers is None else args.workers,
    )
    started = time.perf_counter()
    asyncio.run(main_async(chosen))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
