"""How fast Haru's SQLite file commits, and how fast it picks a worker's next item.

Run: python bench/bench_storage.py [--seconds 3] [--sizes 1000 10000 100000]
Prints Markdown tables:

1. single-row committed transactions per second (an upsert into `meta` inside
   `Database.transaction()`, i.e. BEGIN IMMEDIATE ... COMMIT), with `synchronous = FULL` (what
   Haru uses) and `NORMAL`, both in WAL mode;
2. `SqlRepo.next_item` latency on projects of growing size, with nothing answered, with the
   first 90% of items filled, and with the first 90% answered by this very worker but still
   open (waiting for others' answers) -- the rows `next_item` has to step over.

Everything runs on a temp file in the system's temp folder: the disk under it decides (1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database
from storage.repo import _AVAILABLE, SqlRepo, ts
from tasks.model import Project, Worker

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
OVERLAP = 3
FILLED_SHARE = 0.9


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


# --- 2. next_item ---------------------------------------------------------------------------


async def build(db: Database, size: int) -> tuple[Worker, Project]:
    """One project of `size` text items and one worker, items written in one executemany."""
    async with db.transaction() as conn:
        repo = SqlRepo(conn)
        project = await repo.create_project("bench", "Is it kind?", ("🙂 Yes", "🙁 No"),
                                            OVERLAP, NOW)
        worker = await repo.create_worker("bench-worker", project.id, NOW)
        await conn.executemany(
            "INSERT INTO items (project_id, kind, text, content_key, source, created_at)"
            " VALUES (?, 'text', ?, ?, ?, ?)",
            [(project.id, f"sentence number {i}", f"txt:{i}", f"bench.csv:{i + 2}", ts(NOW))
             for i in range(size)],
        )
    return worker, project


async def latency(
    db: Database, call: Callable[[SqlRepo], Awaitable[object]], budget: float,
    expected: object = ...,
) -> tuple[int, float, float]:
    """Call repeatedly for about `budget` seconds (at least 20, at most 3000 calls), inside one
    read like the service does; (calls, median us, p95 us)."""
    latencies: list[float] = []
    async with db.read() as conn:
        repo = SqlRepo(conn)
        start = time.perf_counter()
        while len(latencies) < 20 or (
            len(latencies) < 3000 and time.perf_counter() - start < budget
        ):
            began = time.perf_counter()
            result = await call(repo)
            latencies.append((time.perf_counter() - began) * 1e6)
            if expected is not ...:
                assert result == expected, (result, expected)
    return len(latencies), statistics.median(latencies), percentile(latencies, 0.95)


async def next_items(folder: Path, size: int, budget: float) -> list[str]:
    db = await Database.open(folder / f"items-{size}.db")
    rows: list[str] = []
    try:
        began = time.perf_counter()
        worker, project = await build(db, size)
        built = time.perf_counter() - began
        cutoff = int(size * FILLED_SHARE)
        async with db.read() as conn:
            cursor = await conn.execute("SELECT min(id), max(id) FROM items")
            bounds = await cursor.fetchone()
        assert bounds is not None
        first, last = int(bounds[0]), int(bounds[1])
        assert last - first + 1 == size

        def next_item(repo: SqlRepo) -> Awaitable[int | None]:
            return repo.next_item(worker, project, NOW)

        async def measure(case: str, expected: int) -> None:
            calls, median, p95 = await latency(db, next_item, budget, expected)
            rows.append(row(f"{size:,}", case, calls, f"{median:,.0f}", f"{p95:,.0f}"))

        async def round_trip(repo: SqlRepo) -> object:
            return await repo.get_meta("nothing")

        calls, median, p95 = await latency(db, round_trip, budget / 2)
        rows.append(row(f"{size:,}", "baseline: `get_meta` (a PK lookup, one aiosqlite round "
                        "trip)", calls, f"{median:,.0f}", f"{p95:,.0f}"))

        await measure("(a) nothing answered", first)

        async with db.transaction() as conn:
            await conn.execute(
                "UPDATE items SET status = 'filled', n_answers = ? WHERE id < ?",
                (OVERLAP, first + cutoff),
            )
        await measure("(b) first 90% `status='filled'`", first + cutoff)

        async with db.transaction() as conn:
            await conn.execute("UPDATE items SET status = 'open', n_answers = 1")
            cursor = await conn.execute(
                "INSERT INTO batches (worker_id, day, size, created_at) VALUES (?, ?, ?, ?)",
                (worker.id, "2026-11-23", cutoff, ts(NOW)),
            )
            batch_id = cursor.lastrowid
            await conn.executemany(
                "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at,"
                " answered_at) VALUES (?, ?, ?, 0, ?, ?)",
                [(item, worker.id, batch_id, ts(NOW), ts(NOW))
                 for item in range(first, first + cutoff)],
            )
        await measure("(c) first 90% answered by this worker, still open", first + cutoff)
        rows.append(row(f"{size:,}", f"(building the {size:,} items took {built:.2f} s)",
                        "", "", ""))
    finally:
        await db.close()
    return rows


async def plan(folder: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of next_item's statement, on the smallest database built."""
    db = await Database.open(folder / "plan.db")
    try:
        worker, project = await build(db, 10)
        async with db.read() as conn:
            # The same statement next_item runs, with the same parameters.
            cursor = await conn.execute(
                f"EXPLAIN QUERY PLAN SELECT i.id {_AVAILABLE} ORDER BY i.id LIMIT 1",
                {"project": project.id, "worker": worker.id, "now": ts(NOW),
                 "overlap": project.overlap},
            )
            return [f"    {r['detail']}" for r in await cursor.fetchall()]
    finally:
        await db.close()


async def main_async(seconds: float, sizes: list[int], budget: float) -> None:
    with tempfile.TemporaryDirectory(prefix="haru-bench-") as temp:
        folder = Path(temp)
        print("# Haru storage benchmark\n")
        print("\n".join(machine(folder)))
        print()
        print("## Single-row committed transactions (upsert into `meta`, WAL, BEGIN IMMEDIATE)\n")
        print(row("synchronous", "commits", "seconds", "commits/s", "median µs", "p95 µs"))
        print(row("---", "---:", "---:", "---:", "---:", "---:"))
        for level in ("FULL", "NORMAL"):
            print(await commits(folder, level, seconds), flush=True)
        print()
        print(f"## `SqlRepo.next_item` latency (text items, overlap {OVERLAP}, one worker, "
              "no holds, no ANALYZE)\n")
        print(row("items", "case", "calls", "median µs", "p95 µs"))
        print(row("---:", "---", "---:", "---:", "---:"))
        for size in sizes:
            for line in await next_items(folder, size, budget):
                print(line, flush=True)
        print()
        print("Query plan of `next_item`:\n")
        print("\n".join(await plan(folder)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="seconds of commits per synchronous level")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000],
                        help="project sizes (items) for next_item")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds of next_item calls per case")
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(main_async(args.seconds, args.sizes, args.budget))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
