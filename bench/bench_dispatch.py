"""Whether a morning when every worker's batch is due at once goes out at Telegram's pace.

Run from the repository root: python -m bench.bench_dispatch [--workers 10000] [--json PATH]
(or python bench/bench_dispatch.py). At the default 10,000 workers it takes about 6 minutes:
30 messages a second is the point, so it cannot be faster.

W workers (text project, overlap 1, batch size 1, so W items) all have their daily batch due
in the same minute (Monday 2026-11-23 10:00 in Asia/Seoul; the bot's clock is fixed there).
One `Dispatcher.tick()` of the real python-telegram-bot Application, built by
`bot.app.build_application(..., rate_limit=True)` — the production rate limiter — plans every
batch (reserves the items, writes one 'batch' notice per worker) and sends every notice
(`bot.dispatch.SENDERS` at a time) on a temp SQLite file (WAL, synchronous=FULL).

Telegram is an in-process fake Bot API (a `telegram.request.BaseRequest`) that admits at most
30 sendMessage/editMessage* calls in any 1.0 s (a strict sliding window on time.monotonic(),
counted when a request arrives) and answers 429 "retry after 1" past that, as Telegram does.
Every call is answered after a simulated network round trip (`--latency`, 50 ms), so sends
have to overlap to keep up.

Measured: messages sent and to whom, the time from the first to the last admitted
sendMessage and the rate that makes ((sent - 1) / that time),
as a share of the 30/s limit (goal >= 0.95), the 429s answered (goal 0), the tick's wall time
and the time before the first message (planning), peak RSS, and what SQLite says afterwards
(every notice 'sent', every worker's screen is the message they got).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram
from telegram.request import RequestData

from bot.app import build_application
from bot.config import Config
from bot.dispatch import SENDERS, Dispatcher
from bot.offline import InProcessApi
from bot.ratelimit import MESSAGES_PER_SECOND
from storage.db import Database
from storage.repo import SqlItemSink, Store
from tasks.importing import PreparedText

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Seoul: the batch is due
DUE = NOW.isoformat()
TOKEN = "123456:BENCH"
LIMIT = 30  # Telegram: about 30 messages a second in all
WINDOW = 1.0  # seconds
GOAL_SHARE = 0.95
LIMITED = ("sendMessage", "sendPhoto", "editMessageText", "editMessageCaption",
           "editMessageMedia", "editMessageReplyMarkup")
BOT = {"id": 7000001, "is_bot": True, "first_name": "Haru", "username": "haru_bench_bot"}
FLOOD = json.dumps({"ok": False, "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1}}).encode()
PROGRESS_SECONDS = 30.0  # a line on stderr this often while sending


class FakeBotApi(InProcessApi):
    """A Bot API that keeps Telegram's overall flood limit strictly, and answers after a
    network round trip. It keeps counts, not messages."""

    def __init__(self, latency: float, limit: int = LIMIT, window: float = WINDOW) -> None:
        self.latency, self.limit, self.window = latency, limit, window
        self.recent: deque[float] = deque()  # arrival of admitted limited calls, last window
        self.sends: list[float] = []  # arrival of every admitted sendMessage (monotonic)
        self.per_chat: Counter[int] = Counter()  # sendMessage answered 200, by chat
        self.methods: Counter[str] = Counter()  # every call, by method
        self.refused: Counter[str] = Counter()  # 429s answered, by method
        self.errors: Counter[str] = Counter()  # other refusals, by description
        self.in_flight = 0
        self.peak_in_flight = 0
        self._message_ids = 0

    READ_TIMEOUT = 5.0

    async def answer(self, url: str, method: str,
                     request_data: RequestData | None) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.methods[name] += 1
        arrived = time.monotonic()
        admitted = name not in LIMITED or self._admit(arrived)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)  # the round trip
        finally:
            self.in_flight -= 1
        if not admitted:
            self.refused[name] += 1
            return 429, FLOOD
        if name == "sendMessage":
            self.sends.append(arrived)
        answer = getattr(self, f"_api_{name}", None)
        if answer is None:
            return self._error(404, "Not Found")
        answered: tuple[int, bytes] = answer(params)
        return answered

    def _admit(self, now: float) -> bool:
        """Strict sliding window: never more than `limit` admitted within any `window`."""
        while self.recent and self.recent[0] <= now - self.window:
            self.recent.popleft()
        if len(self.recent) >= self.limit:
            return False
        self.recent.append(now)
        return True

    # --- the Bot API -----------------------------------------------------------------------

    def _error(self, code: int, description: str) -> tuple[int, bytes]:
        self.errors[description] += 1
        body = {"ok": False, "error_code": code, "description": description}
        return code, json.dumps(body).encode()

    @staticmethod
    def _ok(result: Any) -> tuple[int, bytes]:
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, chat_id: int, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": params.get("message_id") or self._next_id(), "date": 1_795_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "W"}, "from": BOT,
            **content,
        }
        markup = params.get("reply_markup")
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return message

    def _next_id(self) -> int:
        self._message_ids += 1
        return self._message_ids

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, bytes]:
        return self._ok({**BOT, "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False})

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, bytes]:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        self.per_chat[chat_id] += 1
        return self._ok(self._message(chat_id, params, text=text))

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, bytes]:
        chat_id = int(params["chat_id"])
        return self._ok(self._message(chat_id, params, text="…", edit_date=1_795_000_001))


# --- set-up ---------------------------------------------------------------------------------


async def populate(path: Path, workers: int) -> float:
    """A project of `workers` sentences (overlap 1) and `workers` joined workers with a batch
    of 1, all due now; written straight into SQLite. Returns the seconds it took."""
    began = time.perf_counter()
    db = await Database.open(path)
    try:
        store = Store(db)
        async with store.uow() as repo:
            project = await repo.create_project(
                "bench", "Is this sentence kind?", ("🙂 Yes", "🙁 No"), 1, NOW
            )
        texts = [PreparedText(f"sentence number {i}", f"txt:{i}", f"bench.csv:{i + 2}")
                 for i in range(workers)]
        await SqlItemSink(store).add_items(project.id, texts)
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO workers (name, project_id, tg_user_id, chat_id, batch_size,"
                " created_at, joined_at, next_due_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                [(f"worker{i:06d}", project.id, 100_000 + i, 100_000 + i, DUE, DUE, DUE)
                 for i in range(workers)],
            )
    finally:
        await db.close()
    return time.perf_counter() - began


# --- the run --------------------------------------------------------------------------------


@dataclass
class Result:
    workers: int
    latency_ms: float
    senders: int
    limiter_per_second: float
    setup_seconds: float
    planned_batches: int
    tick_seconds: float
    first_message_seconds: float  # tick start -> first admitted sendMessage (planning)
    sent: int  # sendMessage answered 200
    send_seconds: float  # first -> last admitted sendMessage
    rate: float  # (sent - 1) / send_seconds
    share: float  # rate / LIMIT
    refused: int  # 429s answered by the fake
    other_errors: dict[str, int]
    methods: dict[str, int]
    gap_min_ms: float
    gap_median_ms: float
    gap_p99_ms: float
    gap_max_ms: float
    peak_in_flight: int
    notice_states: dict[str, int]
    workers_with_one: int
    workers_with_more: int
    workers_with_none: int
    strangers: int  # chats that got a message but are no worker's
    screens_recorded: int  # worker_state rows whose message_id is set
    start_rss_mb: float
    peak_rss_mb: float
    tracemalloc_peak_mb: float | None
    machine: dict[str, str] = field(default_factory=dict)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def progress(fake: FakeBotApi, workers: int, began: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        print(f"  … {time.perf_counter() - began:6.0f} s: {len(fake.sends):,}/{workers:,} sent,"
              f" {sum(fake.refused.values())} × 429", file=sys.stderr, flush=True)


async def run(workers: int, latency: float, folder: Path, trace: bool) -> Result:
    path = folder / "haru.db"
    setup_seconds = await populate(path, workers)
    fake = FakeBotApi(latency)
    config = Config(db_path=path, token=TOKEN, api_url="https://fake.invalid", bot_username=None)
    app = build_application(config, request=fake, clock=lambda: NOW, rate_limit=True)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    try:
        dispatcher: Dispatcher = app.bot_data["dispatcher"]
        start_rss = peak_rss_mb()
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        tick_began = time.monotonic()
        reporter = asyncio.create_task(progress(fake, workers, began))
        try:
            report = await dispatcher.tick()
        finally:
            reporter.cancel()
        tick_seconds = time.perf_counter() - began
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        if trace:
            tracemalloc.stop()
    finally:
        await app.post_shutdown(app)
        await app.shutdown()

    with sqlite3.connect(path) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM notices GROUP BY state"))
        chats = {int(r[0]) for r in conn.execute("SELECT chat_id FROM workers")}
        screens = conn.execute(
            "SELECT count(*) FROM worker_state WHERE message_id IS NOT NULL").fetchone()[0]
    conn.close()

    sends = fake.sends
    sent = sum(fake.per_chat.values())
    gaps = [(b - a) * 1e3 for a, b in itertools.pairwise(sends)] or [0.0]
    send_seconds = sends[-1] - sends[0] if len(sends) > 1 else 0.0
    rate = (len(sends) - 1) / send_seconds if send_seconds else 0.0
    counts = [fake.per_chat.get(chat, 0) for chat in chats]
    return Result(
        workers=workers, latency_ms=latency * 1e3, senders=SENDERS,
        limiter_per_second=MESSAGES_PER_SECOND, setup_seconds=setup_seconds,
        planned_batches=report.batches if report else 0, tick_seconds=tick_seconds,
        first_message_seconds=sends[0] - tick_began if sends else float("nan"),
        sent=sent, send_seconds=send_seconds, rate=rate, share=rate / LIMIT,
        refused=sum(fake.refused.values()), other_errors=dict(fake.errors),
        methods=dict(fake.methods), gap_min_ms=min(gaps),
        gap_median_ms=statistics.median(gaps), gap_p99_ms=percentile(gaps, 0.99),
        gap_max_ms=max(gaps), peak_in_flight=fake.peak_in_flight,
        notice_states={str(k): int(v) for k, v in states.items()},
        workers_with_one=sum(1 for c in counts if c == 1),
        workers_with_more=sum(1 for c in counts if c > 1),
        workers_with_none=sum(1 for c in counts if c == 0),
        strangers=sum(1 for chat in fake.per_chat if chat not in chats),
        screens_recorded=int(screens), start_rss_mb=start_rss, peak_rss_mb=peak_rss_mb(),
        tracemalloc_peak_mb=traced, machine=machine(),
    )


# --- the report -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    return {
        "cpus": str(os.cpu_count()),
        "platform": f"{platform.platform()}; {platform.machine()}",
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "sqlite": sqlite3.sqlite_version,
        "python-telegram-bot": telegram.__version__,
        "temp folder": tempfile.gettempdir(),
    }


def row(*cells: object) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def verdict(ok: bool) -> str:
    return "ok" if ok else "**FAIL**"


def report(r: Result) -> bool:
    """Print the Markdown table; True if every goal is met."""
    m = r.machine
    print("# Haru dispatch benchmark: every worker's batch due at once\n")
    print(f"- CPUs: {m['cpus']}; {m['platform']}")
    print(f"- Python {m['python']}; SQLite {m['sqlite']}; "
          f"python-telegram-bot {m['python-telegram-bot']}")
    print(f"- temp folder: {m['temp folder']}")
    print(f"- fake Bot API: at most {LIMIT} sends/edits in any {WINDOW:g} s, else 429 retry "
          f"after 1; {r.latency_ms:g} ms round trip. Haru: at most "
          f"{r.limiter_per_second:g} in any 1 s (bot/ratelimit.py), {r.senders} senders.\n")
    n = r.workers
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(r.notice_states.items())) or "none"
    expected_seconds = (n - 1) / r.limiter_per_second
    checks = [
        ("workers due", f"{n:,}", "", "—"),
        ("batches planned (batch notices)", f"{r.planned_batches:,}", f"{n:,}",
         verdict(r.planned_batches == n)),
        ("messages sent (sendMessage answered 200)", f"{r.sent:,}", f"{n:,}",
         verdict(r.sent == n)),
        ("workers with exactly one message", f"{r.workers_with_one:,}", f"{n:,}",
         verdict(r.workers_with_one == n and r.strangers == 0)),
        ("workers with none / with more than one", f"{r.workers_with_none:,} / "
         f"{r.workers_with_more:,}", "0 / 0",
         verdict(r.workers_with_none == 0 and r.workers_with_more == 0)),
        ("notices by state (SQLite)", states, f"sent {n:,}",
         verdict(r.notice_states == {"sent": n})),
        ("workers' screens recorded (worker_state.message_id)", f"{r.screens_recorded:,}",
         f"{n:,}", verdict(r.screens_recorded == n)),
        ("429 Too Many Requests answered", f"{r.refused:,}", "0", verdict(r.refused == 0)),
        ("other Bot API errors", f"{sum(r.other_errors.values()):,}", "0",
         verdict(not r.other_errors)),
        ("first → last message, s", f"{r.send_seconds:.1f}",
         f"≈ {expected_seconds:.1f} at {r.limiter_per_second:g}/s", "—"),
        ("send rate, msg/s ((sent − 1) / that)", f"{r.rate:.2f}",
         f"≥ {GOAL_SHARE * LIMIT:.1f}", verdict(r.share >= GOAL_SHARE)),
        (f"share of the {LIMIT}/s limit", f"{r.share:.3f}", f"≥ {GOAL_SHARE}",
         verdict(r.share >= GOAL_SHARE)),
        ("gap between messages min / median / p99 / max, ms",
         f"{r.gap_min_ms:.1f} / {r.gap_median_ms:.1f} / {r.gap_p99_ms:.1f} / "
         f"{r.gap_max_ms:.1f}", "bursts of up to 29", "—"),
        ("requests in flight at once (peak)", f"{r.peak_in_flight}", f"≤ {r.senders}", "—"),
        ("planning: tick start → first message, s", f"{r.first_message_seconds:.2f}", "", "—"),
        ("tick wall time, s", f"{r.tick_seconds:.1f}", "", "—"),
        ("set-up (not in the tick), s", f"{r.setup_seconds:.2f}", "", "—"),
        ("RSS after set-up / peak, MB", f"{r.start_rss_mb:.0f} / {r.peak_rss_mb:.0f}", "", "—"),
    ]
    if r.tracemalloc_peak_mb is not None:
        checks.append(("tracemalloc peak during the tick, MB", f"{r.tracemalloc_peak_mb:.1f}",
                       "", "—"))
    print(row("measure", "value", "goal", "verdict"))
    print(row("---", "---:", "---:", "---"))
    for cells in checks:
        print(row(*cells))
    print()
    calls = ", ".join(f"{k} {v:,}" for k, v in sorted(r.methods.items()))
    print(f"Bot API calls: {calls}.")
    if r.other_errors:
        print(f"Other errors: {r.other_errors}.")
    return all(cells[3] in ("ok", "—") for cells in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=10_000,
                        help="workers whose batch is due at once (default 10000)")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="the fake Bot API's round trip, seconds (default 0.05)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations during the tick (slower)")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    started = time.perf_counter()
    print(f"setting up {args.workers:,} workers; sending takes about "
          f"{args.workers / MESSAGES_PER_SECOND:.0f} s …", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="haru-bench-") as temp:
        result = asyncio.run(run(args.workers, args.latency, Path(temp), args.tracemalloc))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
