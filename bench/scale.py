"""Scale: the calls of a worker's tap on a used database of 1k, 100k and 1M items, and the
memory of `haru run` with 10k workers and 1M items.

Each database is made by Haru's own migrations (`Database.open`), then filled in bulk (INSERT ...
SELECT in one transaction, secondary indexes dropped and made again, as `CREATE INDEX` does it
faster than row by row) so that it looks used: one project of N sentences (overlap 3) and 100
hidden gold items; 10,000 joined workers on a daily schedule; the first 50% of the items done
(3 answers, agreed), 5% with 2 answers and 5% with 1, each worker's answers in batches of 20 on
past days with their sent notices; and today, `holders` workers holding their day's batch of
20 reserved items. Then, on each size in turn (rounds interleaved, so the machine's noise falls
on every size alike), through the real repository and services on the real file:

- next item: `SqlRepo.reserved_items(batch, now, 2)`, the item a worker's tap shows next
  and the one drawn ahead after it, read as a tap reads it (inline, `Store.quick_reader`);
- reserve: `SqlRepo.reserve(batch, worker, project, 20, now)` for a worker without today's
  batch (rolled back each time), and `tasks.labeling.fill`, which adds the hidden gold;
- save an answer: `SqlRepo.add_answer` of a reserved item in `Store.uow()` (BEGIN IMMEDIATE ...
  COMMIT at synchronous=FULL: the time of the whole unit of work);
- a tap: `LabelingService.answer` with the judge, as the bot calls it (one unit of work).

The floor of each is the same call on the 1k database in the same run; the goal is a ratio of
at most 1.5. The notes hold the EXPLAIN QUERY PLAN of every statement these calls ran.

`haru run` then runs as a subprocess on the largest database, against a local Bot API (this
module's `BotApi`), with every worker without today's batch due: its catch-up tick 0.5 s after
start plans the morning and sends at Telegram's pace. Its peak RSS (VmHWM) is the figure. It
runs a second time with its judge job (Dawid-Skene over the project, every 10 minutes once
answers came in) brought forward to 2 s after start, until the job has finished: the process's
peak then, and the longest pause in sending while the job holds the database.

Run: python -m bench.scale [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import aiosqlite

from bench.common import Figure, Section, at_most, median, percentile
from review.service import judge_item
from storage.db import Database
from storage.repo import SqlRepo, Store
from storage.times import ts
from tasks.labeling import LabelingService, Screen, fill
from tasks.model import Mode
from tasks.schedule import at, day_end, local_day

OVERLAP, BATCH = 3, 20
DONE, TWO, ONE = 0.50, 0.05, 0.05  # shares of the items with 3, 2 and 1 answers
GOLD = 100
FLAT = 1.5  # the goal: time per call at most this times the 1k floor
MEMORY_MB = 150.0
TOKEN = "4242:scale-bench"


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # items; the first is the floor
    workers: int
    holders: int  # workers holding today's batch (fewer if the free items cannot fill them)
    calls: int  # per case and size
    rounds: int  # the calls are made in this many interleaved rounds
    run_seconds: float  # of `haru run`
    judge_wait: float  # at most this long for the judge job in the second `haru run`


FULL = Settings((1_000, 100_000, 1_000_000), 10_000, 1_200, 600, 12, 45.0, 150.0)
QUICK = Settings((1_000, 10_000, 100_000), 1_000, 300, 200, 5, 3.0, 30.0)


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1_000}k"


# 1, 2, ... :n as rows of n(i), for INSERT ... SELECT.
NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "


# --- building a used database fast -------------------------------------------------------------


@dataclass
class Shape:
    """What the benchmark needs to know of a database it built."""

    size: int
    path: Path
    tz: str
    today: str
    now: datetime
    ends_at: datetime
    groups: tuple[list[int], list[int], list[int]]  # holders for next item / answer / tap
    fresh: list[int]  # workers without today's batch
    answers: int = 0
    seconds: float = 0.0


def zone(now: datetime) -> str:
    """Asia/Seoul, unless its day is about to end (or just began): then Europe/Berlin, so the
    day's batches stay live through the run."""
    for name in ("Asia/Seoul", "Europe/Berlin"):
        if 2 <= now.astimezone(ZoneInfo(name)).hour <= 21:
            return name
    return "UTC"


def build(path: Path, size: int, workers: int, holders: int, now: datetime) -> Shape:
    began = time.perf_counter()
    asyncio.run(_migrate(path))
    tz = zone(now)
    today = local_day(tz, now)
    shape = Shape(size, path, tz, today.isoformat(), now, day_end(today, tz), ([], [], []), [])
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        held = _fill(conn, shape, workers, holders)
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        shape.answers = conn.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        conn.close()
    # the next-item reads change nothing; the answers and the taps use up the held items.
    few, half = max(1, held // 10), (held - max(1, held // 10)) // 2
    ids = list(range(1, held + 1))
    shape.groups = (ids[:few], ids[few:few + half], ids[few + half:])
    # Written to disk now: the kernel flushing hundreds of MB later would slow every COMMIT
    # measured meanwhile (it did, by up to 2x).
    for name in (path, path.with_name(path.name + "-wal")):
        if name.exists():
            with open(name, "rb") as written:
                os.fsync(written.fileno())
    step = max(1, (workers - held) // 100)
    shape.fresh = list(range(held + 1, workers + 1, step))[:100]
    shape.seconds = time.perf_counter() - began
    return shape


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


def _fill(conn: sqlite3.Connection, shape: Shape, workers: int, holders: int) -> int:
    """Everything but the indexes; returns how many workers hold today's batch."""
    size, now, tz = shape.size, shape.now, shape.tz
    today = date.fromisoformat(shape.today)
    done, two = int(size * DONE), int(size * (DONE + TWO))
    answered = int(size * (DONE + TWO + ONE))  # items 1..answered have answers
    untouched = size - answered
    blocks = math.ceil(answered / BATCH)
    created = ts(now - timedelta(days=60))
    conn.execute(
        "INSERT INTO projects (id, name, question, choices, overlap, created_at)"
        " VALUES (1, 'scale', 'Is the sentence polite?', ?, ?, ?)",
        (json.dumps(["🙂 Polite", "🙁 Rude"], ensure_ascii=False), OVERLAP, created),
    )
    conn.executemany(
        "INSERT INTO coordinators (name, tg_user_id, chat_id, created_at, joined_at, tz)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(f"coach-{k}", 90 + k, 90 + k, created, created, tz) for k in (1, 2)],
    )
    conn.execute(
        NUMBERS + "INSERT INTO items (id, project_id, kind, text, content_key, source, status,"
        " n_answers, created_at, wanted, role, verdict, label, confidence)"
        " SELECT i, 1, 'text', 'Sentence number ' || i || ' of the scale project.',"
        " printf('txt:%09d', i), 'scale.csv:' || (i + 1),"
        " CASE WHEN i <= :done THEN 'filled' ELSE 'open' END,"
        " CASE WHEN i <= :done THEN 3 WHEN i <= :two THEN 2 WHEN i <= :one THEN 1 ELSE 0 END,"
        " :created, 3, 'work', CASE WHEN i <= :done THEN 'agreement' END,"
        " CASE WHEN i <= :done THEN i % 2 END, CASE WHEN i <= :done THEN 0.97 END FROM n",
        {"n": size, "done": done, "two": two, "one": answered, "created": created},
    )
    conn.execute(
        NUMBERS + "INSERT INTO items (id, project_id, kind, text, content_key, source, created_at,"
        " wanted, role, answer) SELECT :size + i, 1, 'text', 'Gold sentence ' || i || '.',"
        " 'gold:' || i, 'gold.csv:' || (i + 1), :created, 0, 'gold', i % 2 FROM n",
        {"n": GOLD, "size": size, "created": created},
    )
    # Past days: day `idx` is `idx + 1` days ago; batch (block b, pass h) is worker
    # (b + h) % W + 1's, on day ((b + h) // W) * 3 + h: never two on one worker's day.
    last = ((blocks + 2) // workers) * 3 + 3
    days = [today - timedelta(days=idx + 1) for idx in range(last + 1)]
    conn.execute("CREATE TEMP TABLE days (idx INTEGER PRIMARY KEY, day TEXT, start TEXT,"
                 " ends TEXT)")
    conn.executemany("INSERT INTO days VALUES (?, ?, ?, ?)", [
        (idx, d.isoformat(), ts(at(d, clock(10), tz)), ts(day_end(d, tz)))
        for idx, d in enumerate(days)
    ])
    conn.execute(
        NUMBERS + "INSERT INTO workers (id, name, project_id, tg_user_id, chat_id, lang, tz,"
        " created_at, joined_at, days, start_at, practiced_at, practiced_how)"
        " SELECT i, printf('worker-%05d', i), 1, 500000000 + i, 500000000 + i,"
        " CASE WHEN i % 10 = 0 THEN 'en' ELSE 'ko' END, :tz, :created, :created,"
        " '0,1,2,3,4,5,6', '00:00', :created, 'mastery' FROM n",
        {"n": workers, "tz": tz, "created": created},
    )
    conn.execute(
        "INSERT INTO answers (item_id, worker_id, batch_id, choice, not_sure, shown_at,"
        " answered_at) SELECT i.id, ((i.id - 1) / 20 + h.h) % :w + 1,"
        " h.h * :blocks + (i.id - 1) / 20 + 1,"
        " CASE WHEN h.h = 2 AND i.id % 5 = 0 THEN 1 - i.id % 2 ELSE i.id % 2 END, 0,"
        " strftime('%Y-%m-%dT%H:%M:%S+00:00', d.start, '+' || ((i.id - 1) % 20 * 40) ||"
        " ' seconds'), strftime('%Y-%m-%dT%H:%M:%S+00:00', d.start, '+' ||"
        " ((i.id - 1) % 20 * 40 + 25) || ' seconds')"
        " FROM items i JOIN (SELECT 0 AS h UNION ALL SELECT 1 UNION ALL SELECT 2) h"
        " ON h.h < i.n_answers JOIN days d ON d.idx = (((i.id - 1) / 20 + h.h) / :w) * 3 + h.h"
        " WHERE i.role = 'work' ORDER BY i.id, h.h",
        {"w": workers, "blocks": blocks},
    )
    conn.execute(
        "INSERT INTO batches (id, worker_id, day, size, created_at, ends_at, started_at,"
        " scheduled) SELECT a.batch_id, min(a.worker_id), d.day, count(*), d.start, d.ends,"
        " d.start, 1 FROM answers a JOIN days d ON d.idx = ((((a.batch_id - 1) % :blocks)"
        " + (a.batch_id - 1) / :blocks) / :w) * 3 + (a.batch_id - 1) / :blocks"
        " GROUP BY a.batch_id",
        {"w": workers, "blocks": blocks},
    )
    # Today: the first `held` workers hold 20 untouched items each (at most 3 hands an item).
    held = min(holders, untouched * OVERLAP // BATCH, workers)
    assert held >= 3, "too few free items for today's batches"
    base = 3 * blocks
    until = ts(shape.ends_at)
    conn.execute(
        NUMBERS + "INSERT INTO batches (id, worker_id, day, size, created_at, ends_at, scheduled)"
        " SELECT :base + i, i, :today, 20, :at, :until, 1 FROM n",
        {"n": held, "base": base, "today": shape.today, "at": ts(now - timedelta(hours=1)),
         "until": until},
    )
    conn.execute(
        NUMBERS + "INSERT INTO reservations (worker_id, item_id, batch_id, until, rank)"
        " SELECT w.i, :first + ((w.i - 1) * 20 + j.i - 1) % :untouched, :base + w.i, :until,"
        " :first + ((w.i - 1) * 20 + j.i - 1) % :untouched"
        " FROM n AS w JOIN (SELECT i FROM n WHERE i <= 20) AS j WHERE w.i <= :held",
        {"n": max(held, 20), "held": held, "first": answered + 1,
         "untouched": max(untouched, 1), "base": base, "until": until},
    )
    conn.execute(
        "UPDATE items SET n_reserved = c.n FROM (SELECT item_id, count(*) AS n FROM"
        " reservations GROUP BY item_id) AS c WHERE items.id = c.item_id"
    )
    conn.execute(
        "INSERT INTO notices (kind, worker_id, batch_id, due_at, state, attempts, seq,"
        " message_id, created_at, sent_at) SELECT 'batch', worker_id, id, created_at, 'sent',"
        " 1, 3, id, created_at, created_at FROM batches"
    )
    conn.execute(
        "INSERT INTO worker_state (worker_id, seq, mode, batch_id, message_id, message_kind)"
        " SELECT w.id, 3, CASE WHEN t.id IS NULL THEN 'done' ELSE 'idle' END,"
        " coalesce(t.id, (SELECT max(b.id) FROM batches b WHERE b.worker_id = w.id)),"
        " 100000 + w.id, 'text' FROM workers w"
        " LEFT JOIN batches t ON t.worker_id = w.id AND t.day = :today",
        {"today": shape.today},
    )
    # Who holds today's batch is next due tomorrow; everyone else is due now (today 00:00).
    conn.execute(
        "UPDATE workers SET next_due_at = CASE WHEN id <= :held THEN :tomorrow ELSE :due END",
        {"held": held, "due": ts(at(today, clock(0), tz)),
         "tomorrow": ts(at(today + timedelta(days=1), clock(0), tz))},
    )
    conn.execute("UPDATE projects SET judged_answers = (SELECT count(*) FROM answers),"
                 " judged_at = ?", (ts(now - timedelta(hours=2)),))
    return held


# --- timing the calls --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def rolled_back(db: Database) -> AsyncIterator[SqlRepo]:
    """A write transaction like `Database.transaction`, always rolled back."""
    async with db.read() as conn:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield SqlRepo(conn)
        finally:
            await conn.rollback()


@dataclass
class Bench:
    """One open database and the state of each case on it."""

    shape: Shape
    db: Database
    store: Store
    times: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, list[str]] = field(default_factory=dict)
    pairs: Iterator[tuple[int, int, int]] = field(default_factory=lambda: iter(()))
    tappers: Iterator[int] = field(default_factory=lambda: iter(()))
    screen: Any = None
    tick: int = 0

    @classmethod
    async def open(cls, shape: Shape) -> Bench:
        db = await Database.open(shape.path)
        bench = cls(shape, db, Store(db))
        async with bench.store.reader() as repo:
            rows = await repo._all(
                "SELECT worker_id, item_id, batch_id FROM reservations WHERE worker_id IN"
                f" ({','.join(map(str, shape.groups[1]))}) ORDER BY rank, worker_id"
            ) if shape.groups[1] else []
        bench.pairs = iter([(int(r[0]), int(r[1]), int(r[2])) for r in rows])
        bench.tappers = iter(shape.groups[2])
        return bench

    def now(self) -> datetime:
        self.tick += 1  # a second later each call: answers are never shown after answered
        return self.shape.now + timedelta(seconds=self.tick)

    async def timed(self, case: str, call: Callable[[], Awaitable[object]]) -> None:
        """Time one call; the first of each case also records the SQL it runs."""
        if case not in self.statements:
            found: list[str] = []
            await self.db.conn.set_trace_callback(found.append)
            try:
                await call()
            finally:
                await self.db.conn.set_trace_callback(None)  # type: ignore[arg-type]
            self.statements[case] = found
            return
        began = time.perf_counter()
        await call()
        self.times.setdefault(case, []).append((time.perf_counter() - began) * 1000)


NEXT, RESERVE, FILL, ANSWER, TAP = "next", "reserve", "fill", "answer", "tap"
CASES = {
    NEXT: "next item: `reserved_items` (the next two)",
    RESERVE: "reserve a day of 20: `reserve`",
    FILL: "choose a day's items: `fill` (reserve + gold)",
    ANSWER: "save an answer: `add_answer` + COMMIT",
    TAP: "a tap: `LabelingService.answer` (+ judge)",
}


async def run_round(bench: Bench, calls: int) -> None:
    shape, project_id = bench.shape, 1
    async with bench.store.reader() as repo:
        project = await repo.project(project_id)
    for k in range(calls):  # the next item of a held batch, as a tap asks for it
        holder = shape.groups[0][k % len(shape.groups[0])]
        batch_id = _batch_of(shape, holder)

        async def next_item(batch_id: int = batch_id) -> object:
            # As a tap reads it: the next two items of the batch (the one to show, and the
            # one to draw ahead), on the event loop (storage/inline.py).
            async with bench.store.quick_reader() as repo:
                return await repo.reserved_items(batch_id, bench.now(), 2)

        await bench.timed(NEXT, next_item)
    for k in range(calls):  # a worker without today's batch gets one (rolled back)
        worker_id = shape.fresh[k % len(shape.fresh)]
        for case in (RESERVE, FILL):
            async with rolled_back(bench.db) as repo:
                worker = await repo.worker(worker_id)
                now = bench.now()
                batch = await repo.create_batch(worker.id, shape.today, now, shape.ends_at,
                                                scheduled=True)

                async def choose(case: str = case, repo: SqlRepo = repo, batch: Any = batch,
                                 worker: Any = worker, now: datetime = now) -> object:
                    if case == RESERVE:
                        return await repo.reserve(batch, worker, project, BATCH, now)
                    return await fill(repo, batch, worker, project, 0, now)

                await bench.timed(case, choose)
    for _ in range(calls):  # save a reserved item's answer, one unit of work each
        pair = next(bench.pairs, None)
        if pair is None:
            break

        async def save(pair: tuple[int, int, int] = pair) -> None:
            worker_id, item_id, batch_id = pair
            now = bench.now()
            async with bench.store.uow() as repo:
                await repo.add_answer(item_id, worker_id, batch_id, item_id % 2,
                                      shown_at=now - timedelta(seconds=9), answered_at=now)

        await bench.timed(ANSWER, save)
    service = LabelingService(bench.store.uow, judge=judge_item)  # type: ignore[arg-type]
    for _ in range(calls):  # taps through the labeling service, worker after worker
        screen = bench.screen
        if screen is None or screen.mode is not Mode.WORK:
            tapper = next(bench.tappers, None)
            if tapper is None:
                break
            screen = await service.start(tapper, bench.now())
            if screen.mode is not Mode.WORK:
                continue
        found: list[Any] = []

        async def tap(screen: Any = screen, found: list[Any] = found) -> None:
            assert screen.item is not None
            found.append(await service.answer(screen.worker.id, screen.seq, screen.item.id,
                                              screen.item.id % 2, bench.now()))

        await bench.timed(TAP, tap)
        bench.screen = found[0] if isinstance(found[0], Screen) else None  # not Stale


def _batch_of(shape: Shape, worker_id: int) -> int:
    return 3 * math.ceil(int(shape.size * (DONE + TWO + ONE)) / BATCH) + worker_id


async def measure(shapes: list[Shape], settings: Settings) -> list[Bench]:
    benches = [await Bench.open(shape) for shape in shapes]
    random.seed(4)
    try:
        per_round = math.ceil(settings.calls / settings.rounds)
        for round_ in range(settings.rounds + 1):  # round 0 warms up and records the SQL
            order = benches if round_ % 2 else benches[::-1]
            for bench in order:
                await run_round(bench, 2 if round_ == 0 else per_round)
                if round_ == 0:
                    bench.times.clear()
    finally:
        for bench in benches:
            await bench.db.close()
    return benches


# --- query plans -------------------------------------------------------------------------------


_LITERAL = re.compile(r"'[^']*'|\b\d+(\.\d+)?\b")
_BARE_SCAN = re.compile(r"^SCAN (\w+)( AS \w+)?$")


async def plans(shape: Shape, statements: dict[str, list[str]]) -> tuple[list[str], int]:
    """EXPLAIN QUERY PLAN of each distinct statement the cases ran (on `shape`'s database,
    no ANALYZE: the plan is the same at every size), and how many scan a whole table."""
    lines: list[str] = [
        f"Query plans: EXPLAIN QUERY PLAN, on the {label(shape.size)} database, of every "
        "statement each call ran (literals as run; a statement already shown is not repeated; "
        "BEGIN/COMMIT left out):"]
    scans = 0
    seen: set[str] = set()
    async with aiosqlite.connect(shape.path) as conn:
        for case, found in statements.items():
            lines += ["", f"{CASES[case]}:"]
            for sql in found:
                flat = " ".join(sql.split())
                shape_of = _LITERAL.sub("?", flat)
                head = flat.split(" ", 1)[0].upper()
                if head in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA") or shape_of in seen:
                    continue
                seen.add(shape_of)
                lines.append(f"  {flat}")
                cursor = await conn.execute(f"EXPLAIN QUERY PLAN {flat}")
                inner: set[str] = set()  # subqueries made into temporary tables: not tables
                for row in await cursor.fetchall():
                    detail = str(row[3])
                    if detail.startswith(("MATERIALIZE ", "CO-ROUTINE ")):
                        inner.add(detail.split()[1])
                    bare = _BARE_SCAN.match(detail)
                    if bare and bare.group(1) not in inner:
                        scans += 1
                        detail += "   <-- the whole table"
                    lines.append(f"      {detail}")
    return lines, scans


# --- `haru run`: a local Bot API and the process's memory -----------------------------------


class BotApi(ThreadingHTTPServer):
    """Just enough of the Bot API for `haru run`: getMe, empty long polls, and a minimal
    Message for every send or edit."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sends: list[float] = []  # monotonic time of each sendMessage / sendPhoto
        self.calls = 0
        self.next_id = 1000

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a connection haru dropped while it stopped

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: BotApi

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode("utf-8", "replace")
        params: dict[str, Any] = {}
        if body.startswith("{"):
            params = json.loads(body)
        else:
            params = {k: v[0] for k, v in parse_qs(body).items()}
        method = self.path.rsplit("/", 1)[-1]
        with self.server.lock:
            self.server.calls += 1
        result: Any = True
        if method == "getMe":
            result = {"id": 4242, "is_bot": True, "first_name": "Haru",
                      "username": "haru_scale_bot"}
        elif method == "getUpdates":
            self.server.stopping.wait(min(float(params.get("timeout") or 0), 30.0))
            result = []
        elif method.startswith(("send", "edit")):
            with self.server.lock:
                self.server.next_id += 1
                message_id = self.server.next_id
                if method.startswith("send"):
                    self.server.sends.append(time.monotonic())
            result = {"message_id": int(params.get("message_id") or message_id),
                      "date": 1_790_000_000, "text": ".",
                      "chat": {"id": int(params.get("chat_id") or 0), "type": "private"}}
        data = json.dumps({"ok": True, "result": result}).encode()
        with contextlib.suppress(OSError):  # haru stopped meanwhile
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


def status_kb(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in KiB (empty once it is gone)."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found


# `haru run` itself, with only the judge job's interval changed (it first runs 600 s after
# start, too late for a benchmark): build_application's default, which `haru run` uses.
JUDGE_SOON = (
    "import sys, bot.app, bot.cli; "
    "bot.app.build_application.__kwdefaults__['judge_seconds'] = float(sys.argv[1]); "
    "sys.exit(bot.cli.main(['run']))"
)
JUDGED = re.compile(r"INFO bot\.app: (judged .*|weighing the answers .* failed)")


@dataclass
class RunResult:
    peak_mb: float
    end_rss_mb: float
    sends: list[float]  # seconds after start of each message sent
    planned: int  # today's batches made by the run
    due: int
    exit_code: int | None
    stop_seconds: float  # from SIGTERM to exit
    seconds: float  # from start to exit
    judged: str | None  # the judge job's log line
    log_tail: list[str]

    @property
    def longest_pause(self) -> float:
        """The longest time between two messages sent (from the first to the last)."""
        return max((b - a for a, b in zip(self.sends, self.sends[1:], strict=False)),
                   default=0.0)


def run_haru(shape: Shape, seconds: float, judge_after: float | None = None) -> RunResult:
    """`haru run` for `seconds`; with `judge_after`, the judge job first runs that many seconds
    after start, and the run lasts until it has finished (at most `seconds`)."""
    with contextlib.closing(sqlite3.connect(shape.path)) as conn:
        before = conn.execute("SELECT count(*) FROM batches WHERE day = ?",
                              (shape.today,)).fetchone()[0]
        due = conn.execute("SELECT count(*) FROM workers WHERE next_due_at <= ?",
                           (ts(datetime.now(UTC)),)).fetchone()[0]
    api = BotApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {**os.environ, "HARU_DB": str(shape.path), "TELEGRAM_BOT_TOKEN": TOKEN,
           "HARU_API_URL": api.url}
    env.pop("HARU_BOT_USERNAME", None)
    command = [sys.executable, "-m", "bot.cli", "run"] if judge_after is None else [
        sys.executable, "-c", JUDGE_SOON, str(judge_after)]
    peak = rss = 0
    judged: str | None = None
    log_path = shape.path.with_name(f"haru-run-{time.monotonic_ns()}.log")
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while time.monotonic() - started < seconds and process.poll() is None:
                found = status_kb(process.pid)
                peak, rss = max(peak, found.get("VmHWM", 0)), found.get("VmRSS", rss)
                if judge_after is not None:
                    judged = _judged(log_path)
                    if judged:
                        break
                time.sleep(0.2)
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            while process.poll() is None and time.monotonic() - stopped < 90:
                peak = max(peak, status_kb(process.pid).get("VmHWM", 0))
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            ended = time.monotonic()
            api.stopping.set()
            api.shutdown()
            api.server_close()
    tail = [line for line in log_path.read_text(encoding="utf-8").splitlines()
            if "maximum number of running instances" not in line][-6:]
    judged = judged or _judged(log_path)
    with contextlib.closing(sqlite3.connect(shape.path)) as conn:
        after = conn.execute("SELECT count(*) FROM batches WHERE day = ?",
                             (shape.today,)).fetchone()[0]
    return RunResult(peak / 1024, rss / 1024, [t - started for t in api.sends], after - before,
                     due, process.returncode, ended - stopped, ended - started, judged, tail)


def _judged(log: Path) -> str | None:
    found = JUDGED.search(log.read_text(encoding="utf-8", errors="replace"))
    return found.group(1) if found else None


# --- the section -------------------------------------------------------------------------------


def figures(section: Section, benches: list[Bench]) -> None:
    floor, others = benches[0], benches[1:]
    for case, words in CASES.items():
        base = floor.times.get(case, [])
        if not base:
            continue
        low, low99 = median(base), percentile(base, 0.99)
        section.add(Figure(f"{words}, {label(floor.shape.size)} items (median; the floor)",
                           round(low, 3), "ms"))
        for bench in others:
            values = bench.times.get(case, [])
            if not values:
                continue
            value = median(values)
            ratio, ok = at_most(value, low, FLAT)
            section.add(Figure(f"{words}, {label(bench.shape.size)} items (median)",
                               round(value, 3), "ms", round(low, 3), round(ratio, 2),
                               f"ratio <= {FLAT}", ok))
        top = others[-1].times.get(case, []) if others else []
        if top:
            high = percentile(top, 0.99)
            section.add(Figure(
                f"{words}, {label(others[-1].shape.size)} items (p99 of {len(top)})",
                round(high, 3), "ms", round(low99, 3), round(high / low99, 2)))


def run(quick: bool) -> Section:
    settings = QUICK if quick else FULL
    began = time.perf_counter()
    note = " (quick: smaller sizes and fewer workers)" if quick else ""
    section = Section("scale", f"Scale: the tap's calls from {label(settings.sizes[0])} to "
                      f"{label(settings.sizes[-1])} items, {settings.workers:,} workers; "
                      f"memory of `haru run`{note}")
    now = datetime.now(UTC).replace(microsecond=0)
    phases: list[str] = []

    def phase(what: str, since: float) -> float:
        phases.append(f"{what} {time.perf_counter() - since:.1f} s")
        return time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="haru-scale-") as temp:
        mark = time.perf_counter()
        shapes = [build(Path(temp) / f"scale-{size}.db", size, settings.workers,
                        settings.holders, now) for size in settings.sizes]
        mark = phase("building", mark)
        benches = asyncio.run(measure(shapes, settings))
        mark = phase("timing the calls", mark)
        figures(section, benches)
        lines, scans = asyncio.run(plans(shapes[-1], benches[-1].statements))
        section.add(Figure("statements of these calls that scan a whole table", scans,
                           "statements", goal="= 0", ok=scans == 0))
        mark = phase("query plans", mark)
        biggest, size = shapes[-1], label(shapes[-1].size)
        people = f"{settings.workers // 1000}k workers, {size} items"
        plain = run_haru(biggest, settings.run_seconds)
        mark = phase("`haru run`", mark)
        judging = run_haru(biggest, settings.judge_wait, judge_after=2.0)
        phase("`haru run` with the judge", mark)
        memory(section, plain, judging, people, settings)
        section.notes += [
            f"{label(s.size)} items: built in {s.seconds:.1f} s, {s.answers:,} answers, "
            f"{sum(map(len, s.groups))} workers holding today's batch ({s.tz}), "
            f"{os.path.getsize(s.path) / 2**20:.0f} MB" for s in shapes]
        section.notes.append(f"Calls per case and size: {settings.calls}, in "
                             f"{settings.rounds} interleaved rounds (after a warm-up call).")
        for name, result in (("`haru run`", plain), ("`haru run` with the judge", judging)):
            section.notes.append(
                f"{name}: exit code {result.exit_code} after SIGTERM, which took "
                f"{result.stop_seconds:.1f} s; RSS at the end {result.end_rss_mb:.0f} MB; "
                f"judge: {result.judged or 'did not run'}; the last log lines:")
            section.notes += [f"    {line}" for line in result.log_tail]
        section.notes += ["", *lines]
    section.seconds = round(time.perf_counter() - began, 1)
    section.notes.insert(0, "Time taken: " + "; ".join(phases) + ".")
    return section


def memory(section: Section, plain: RunResult, judging: RunResult, people: str,
           settings: Settings) -> None:
    section.add(Figure(
        f"`haru run` peak RSS (VmHWM), {people}, {settings.run_seconds:.0f} s of a busy "
        "morning", round(plain.peak_mb, 1), "MB", goal="<= 150 MB",
        ok=plain.peak_mb <= MEMORY_MB and plain.exit_code == 0))
    section.add(Figure(f"`haru run`: batches planned (of {plain.due:,} workers due)",
                       plain.planned, "batches"))
    section.add(Figure("`haru run`: messages sent", len(plain.sends), "messages"))
    if plain.sends:
        section.add(Figure("`haru run`: first message after start", round(plain.sends[0], 2),
                           "s"))
    section.add(Figure(
        f"`haru run` peak RSS (VmHWM), {people}, with its judge job (Dawid-Skene, every "
        f"10 min) run once, {judging.seconds:.0f} s", round(judging.peak_mb, 1), "MB",
        goal="<= 150 MB", ok=judging.peak_mb <= MEMORY_MB and judging.exit_code == 0
        and judging.judged is not None))
    section.add(Figure("`haru run` with the judge: messages sent", len(judging.sends),
                       "messages"))
    section.add(Figure("`haru run` with the judge: longest pause between two messages",
                       round(judging.longest_pause, 1), "s"))


def markdown(section: Section) -> str:
    rows = [f"## {section.title}", "", "| figure | value | unit | floor | ratio | goal | "
            "verdict |", "|---|---:|---|---:|---:|---|---|"]
    for f in section.figures:
        rows.append(f"| {f.name} | {f.value:,} | {f.unit} | "
                    f"{'' if f.floor is None else f'{f.floor:,}'} | "
                    f"{'' if f.ratio is None else f.ratio} | {f.goal} | {f.verdict} |")
    rows += ["", f"({section.seconds} s)", "", *section.notes]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="1k/10k/100k items, 1,000 workers, a short `haru run`")
    print(markdown(run(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
