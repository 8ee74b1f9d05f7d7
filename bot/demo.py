"""`haru demo`: the whole of Haru, offline, in one process, over simulated working days.

The real `Application`, handlers, scheduler (`Dispatcher.tick`), aggregation (`rejudge_project`),
review queue, guardian summaries and coordinators' digest run on a real SQLite file, talking to
the in-process stand-in for the Bot API (`bot.offline.FakeTelegram`). Simulated people press the
same buttons a person would: workers of different skill, one coordinator who reviews what the
workers disagreed on, one guardian. The clock is simulated, so days pass in seconds.

The sample work is generated (`bot.demo_content`) and written to `DIR/samples/` first, then
brought in through the same import pipeline as `haru import`, so every item's true answer is
known and the demo can say how right the final labels came out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import shutil
import time as timer
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application

from bot.config import Config
from bot.demo_content import (
    IMAGE_CHOICES,
    IMAGE_QUESTION,
    IMAGES,
    SENTENCE_CHOICES,
    SENTENCE_QUESTION,
    SENTENCES,
    SampleItem,
    pictures,
    sentences,
)
from bot.dispatch import Dispatcher
from bot.offline import FakeTelegram, start_offline, stop_offline
from review.service import rejudge_project
from storage.repo import SqlItemSink, Store
from tasks.errors import InvalidInput
from tasks.family import Every
from tasks.importing import import_path
from tasks.known import KnownSpec
from tasks.model import Role
from tasks.workers import invite_coordinator, invite_guardian, invite_worker

SEOUL = ZoneInfo("Asia/Seoul")
TOKEN = "0:offline-demo"  # never sent anywhere: the Bot API is in this process
GOLD = 6  # known-answer items per project, hidden among the work
PRACTICE = 6  # practice items per project
MAX_WORKERS = 2000
MAX_ITEMS = 100_000
MAX_DAYS = 365
_KO_NAMES = ["민지", "준호", "서연", "도윤", "하은", "지호", "수아", "현우", "예린", "태민",
             "은지", "성호"]
_EN_NAMES = ["Alex", "Sam", "Jordan", "Robin", "Casey", "Morgan", "Taylor", "Jamie"]
_WORK_BUTTON = ("s.", "a.", "b.", "p.", "h.")


@dataclass(frozen=True)
class DemoOptions:
    workers: int = 10
    items: int = 60  # per sample project
    overlap: int = 3
    days: int = 5  # working days simulated
    seed: int = 7
    out: Path = Path("haru-demo")
    force: bool = False
    batch: int = 20

    def check(self) -> None:
        limits = (("--workers", self.workers, 2, MAX_WORKERS),
                  ("--items", self.items, 1, MAX_ITEMS), ("--overlap", self.overlap, 1, 10),
                  ("--days", self.days, 1, MAX_DAYS), ("--batch", self.batch, 1, 500))
        for option, value, low, high in limits:
            if not low <= value <= high:
                raise InvalidInput(f"{option} {value}: give a number from {low} to {high}.")


@dataclass
class SimWorker:
    """A simulated worker: how often they are right, unsure, and how long a tap takes."""

    name: str
    user_id: int
    lang: str
    project: str
    skill: float  # chance of the right answer on an easy item
    unsure: float  # chance of 🤔 on a hard item
    seconds: float  # typical time per item
    attendance: float  # chance of working on a given working day
    top_button: float = 0.0  # a habit of tapping the first button without looking
    answered: int = 0
    right: int = 0

    def choose(self, rng: random.Random, truth: int, difficulty: float, choices: int) -> int | None:
        """A choice index, or None for 🤔."""
        if rng.random() < self.top_button:
            return 0
        if rng.random() < self.unsure * difficulty:
            return None
        chance = max(self.skill * (1 - 0.3 * difficulty), 1 / choices)
        if rng.random() < chance:
            return truth
        return rng.choice([c for c in range(choices) if c != truth])


@dataclass
class DayLog:
    day: date
    batches: int = 0
    answers: int = 0
    practice: int = 0
    reviewed: int = 0
    open_after: dict[str, int] = field(default_factory=dict)


@dataclass
class Result:
    """What the demo did, read back from its database and its Telegram stand-in."""

    options: DemoOptions
    out: Path
    seconds: float
    days: list[DayLog]
    workers: list[SimWorker]
    projects: list[ProjectResult]
    calls: Counter[str]
    batches: int
    answers: int
    practice_answers: int
    answers_by_worker: dict[str, int]
    guardian_text: str
    guardian_summaries: int
    digest_text: str
    files: list[Path]
    finished_on: dict[str, date | None]


@dataclass
class ProjectResult:
    name: str
    items: int
    finished: int
    agreement: int
    model: int
    reviewer: int
    dropped: int
    review: int
    open: int
    answers: int
    right: int  # finished labels that match the truth
    pair_agreement: float  # share of answer pairs on an item that agree
    workers: int
    stuck: int = 0  # open items every worker of the project has already answered

    @property
    def labelled(self) -> int:
        return self.agreement + self.model + self.reviewer


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: date, clock: time) -> None:
        moment = datetime.combine(day, clock, tzinfo=SEOUL).astimezone(UTC)
        self.now = max(self.now, moment)  # never backwards

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def working_days(count: int, today: date) -> list[date]:
    """The `count` most recent Monday-to-Friday dates before `today`, oldest first: all of
    the simulated work is in the past, so every command can look at it as history."""
    days: list[date] = []
    day = today - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


class Demo:
    def __init__(self, options: DemoOptions, today: date | None = None,
                 prepared: bool = False) -> None:
        self.o = options
        self.prepared = prepared  # the folder was made ready by the caller
        self.rng = random.Random(options.seed)
        self.telegram = FakeTelegram()
        self.days = working_days(options.days, today or datetime.now(SEOUL).date())
        self.clock = _Clock(datetime.combine(self.days[0], time(8, 0), tzinfo=SEOUL)
                            .astimezone(UTC))
        self.app: Application | None = None  # type: ignore[type-arg]
        self.truth: dict[int, tuple[int, float]] = {}  # item id -> (answer, difficulty)
        self.practice: set[int] = set()  # practice items: not counted in a worker's figures
        self.project_ids: dict[str, int] = {}
        self.choices: dict[str, int] = {}
        self.workers: list[SimWorker] = []
        self.errors: list[BaseException] = []
        self._updates = itertools.count(1)
        self._queries = itertools.count(1)
        self._messages = itertools.count(1)
        self.coordinator = 9_000_001
        self.guardian = 9_000_002
        self.logs: list[DayLog] = []
        self.finished_on: dict[str, date | None] = {IMAGES: None, SENTENCES: None}
        self.guardian_text = self.digest_text = ""
        self.guardian_summaries = 0
        self.config = Config(db_path=options.out / "haru.db", token=TOKEN,
                             api_url="https://offline.invalid", bot_username=None)

    # --- Telegram, as a phone would use it ---------------------------------------------------

    @property
    def store(self) -> Store:
        assert self.app is not None
        return self.app.bot_data["haru"].store  # type: ignore[no-any-return]

    def _user(self, user_id: int, name: str, lang: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": lang}

    async def _feed(self, data: dict[str, Any]) -> None:
        assert self.app is not None
        await self.app.process_update(
            Update.de_json({"update_id": next(self._updates), **data}, self.app.bot))
        if self.errors:
            raise RuntimeError(f"the bot failed on an update: {self.errors[0]!r}") from (
                self.errors[0])

    async def send(self, user: dict[str, Any], text: str) -> None:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self._feed({"message": {
            "message_id": 10_000_000 + next(self._messages),
            "date": int(self.clock().timestamp()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user, "text": text, "entities": entities}})

    async def press(self, user: dict[str, Any], data: str, message: dict[str, Any]) -> None:
        query_id = f"demo{next(self._queries)}"
        self.telegram.open_queries.add(query_id)
        await self._feed({"callback_query": {
            "id": query_id, "from": user, "chat_instance": "demo", "data": data,
            "message": message}})

    def buttons(self, chat_id: int, prefixes: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
        """The newest message in a chat with buttons of these kinds, and their data."""
        for message in reversed(self.telegram.messages(chat_id)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            data = [b["callback_data"] for row in rows for b in row
                    if b.get("callback_data", "").startswith(prefixes)]
            if data:
                return message, data
        return {}, []

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> Result:
        started = timer.perf_counter()
        out = self.o.out
        if not self.prepared:
            await asyncio.to_thread(prepare_folder, out, self.o.force)
        app = self.app = await start_offline(self.config, self.telegram, self.clock,
                                             self.errors)
        try:
            await self._set_up(out)
            for day in self.days:
                await self._day(day)
            files = await self._finish(out)
            result = await self._result(out, files, timer.perf_counter() - started)
        finally:
            await stop_offline(app)
            self.app = None
        return result

    async def _set_up(self, out: Path) -> None:
        o = self.o
        samples = out / "samples"
        image_items = pictures(o.items, o.seed)
        image_gold = pictures(GOLD, o.seed, "gold")
        image_practice = pictures(PRACTICE, o.seed, "practice")
        # One stream of sentences, so no gold or practice sentence repeats the work; the
        # clear ones serve as known answers.
        stream = sentences(o.items + 4 * (GOLD + PRACTICE), o.seed)
        text_items, rest = stream[:o.items], stream[o.items:]
        known = sorted(rest, key=lambda i: i.difficulty >= 0.5)  # stable: clear ones first
        text_gold, text_practice = known[:GOLD], known[GOLD:GOLD + PRACTICE]
        await asyncio.to_thread(_write_samples, samples, image_items, image_gold,
                                image_practice, text_items, text_gold, text_practice)
        now = self.clock()
        specs = ((IMAGES, IMAGE_QUESTION, IMAGE_CHOICES), (SENTENCES, SENTENCE_QUESTION,
                                                          SENTENCE_CHOICES))
        for name, question, choices in specs:
            async with self.store.uow() as repo:
                project = await repo.create_project(name, question, choices, o.overlap, now)
                # Practice passes with 4 right of the last 5 (the default is 8 of 10).
                await repo.set_project_rules(project.id, {"mastery_need": 4, "mastery_of": 5})
            self.project_ids[name] = project.id
            self.choices[name] = len(choices)
            sink = SqlItemSink(self.store)
            base = samples / name
            paths = ((base / "work", None), (base / "gold", Role.GOLD),
                     (base / "practice", Role.PRACTICE))
            if name == SENTENCES:
                paths = ((base / "work.csv", None), (base / "gold.csv", Role.GOLD),
                         (base / "practice.csv", Role.PRACTICE))
            for path, role in paths:
                spec = KnownSpec(role, choices, question) if role else None
                report = await import_path(sink, project.id, path, known=spec)
                if report.rejected:
                    raise RuntimeError(f"the sample {path} was not taken: {report.rejected[:3]}")
        every = {i.key: i for i in (*image_items, *image_gold, *image_practice, *text_items,
                                    *text_gold, *text_practice)}
        async with self.store.db.read() as conn:
            cursor = await conn.execute("SELECT id, kind, text, source, role FROM items")
            for item_id, kind, text, source, role in await cursor.fetchall():
                if role == "practice":
                    self.practice.add(item_id)
                key = text if kind == "text" else source.rsplit("/", 1)[-1]
                sample = every[key]
                self.truth[item_id] = (sample.answer, sample.difficulty)
        await self._people()

    async def _people(self) -> None:
        o, rng = self.o, self.rng
        first = self.days[0]
        self.clock.at(first, time(8, 30))
        async with self.store.uow() as repo:
            coordinator = await invite_coordinator(repo, "지수", self.clock())
        await self.send(self._user(self.coordinator, "지수", "ko"),
                        f"/start {coordinator.code}")
        for n in range(o.workers):
            english = n % 3 == 2
            names = _EN_NAMES if english else _KO_NAMES
            name = names[(n // 3 if english else n - n // 3) % len(names)]
            round_ = (n // 3 if english else n - n // 3) // len(names)
            if round_:
                name = f"{name}{round_ + 1}"
            project = IMAGES if n % 2 == 0 else SENTENCES
            skill = rng.uniform(0.85, 0.99)
            worker = SimWorker(name, 1_000_000 + n, "en" if english else "ko", project, skill,
                               unsure=rng.uniform(0.05, 0.3), seconds=rng.uniform(4, 12),
                               attendance=rng.uniform(0.8, 1.0))
            if n == 0:  # the worker whose guardian hears about their days comes every day
                worker.attendance = 1.0
            if n == 3:  # one habit a coordinator should hear about
                worker.top_button, worker.skill = 0.6, 0.7
            self.workers.append(worker)
            async with self.store.uow() as repo:
                invite = await invite_worker(repo, name, project, self.clock(), 14, None)
                if o.batch != 20:
                    await repo.conn.execute("UPDATE workers SET batch_size = ? WHERE name = ?",
                                            (o.batch, name))
            await self.send(self._user(worker.user_id, name, worker.lang),
                            f"/start {invite.code}")
        # One guardian, for the first worker, who chooses to share how much they did.
        first_worker = self.workers[0]
        async with self.store.uow() as repo:
            link = await invite_guardian(repo, "엄마", first_worker.name, self.clock(),
                                         every=Every.DAY)
        await self.send(self._user(self.guardian, "엄마", "ko"), f"/start {link.code}")
        user = self._user(first_worker.user_id, first_worker.name, first_worker.lang)
        for op in ("g.m.", "g.x."):  # 📊 days and amount; then no alerts
            message, data = self.buttons(first_worker.user_id, (op,))
            if data:
                await self.press(user, data[0], message)

    async def _day(self, day: date) -> None:
        log = DayLog(day)
        async with self.store.db.read() as conn:
            before = await _scalar(conn, "SELECT count(*) FROM batches")
            answers_before = await _scalar(conn, "SELECT count(*) FROM answers")
            practice_before = await _scalar(conn, "SELECT count(*) FROM practice_answers")
        for clock in (time(9, 59), time(10, 0), time(10, 1)):
            self.clock.at(day, clock)
            await self._tick()
        for worker in self.workers:
            if self.rng.random() > worker.attendance:
                continue  # a day off: sick, an appointment
            self.clock.at(day, time(10, 5))
            self.clock.advance(self.rng.uniform(0, 1800))
            await self._work(worker)
        self.clock.at(day, time(15, 0))
        for project_id in self.project_ids.values():  # the bot's judging job
            await rejudge_project(self.store.uow, project_id, self.clock(),
                                  reader=self.store.reader)
        self.clock.at(day, time(16, 0))
        log.reviewed = await self._review()
        for clock in (time(18, 0), time(18, 1)):
            self.clock.at(day, clock)
            await self._tick()
        async with self.store.db.read() as conn:
            log.batches = await _scalar(conn, "SELECT count(*) FROM batches") - before
            log.answers = await _scalar(conn, "SELECT count(*) FROM answers") - answers_before
            log.practice = (await _scalar(conn, "SELECT count(*) FROM practice_answers")
                            - practice_before)
            for name, project_id in self.project_ids.items():
                log.open_after[name] = await _scalar(
                    conn, "SELECT count(*) FROM items WHERE project_id = ? AND role = 'work'"
                    " AND (verdict IS NULL OR verdict IN ('more', 'review'))", project_id)
                if not log.open_after[name] and self.finished_on[name] is None:
                    self.finished_on[name] = day
        self.logs.append(log)

    async def _tick(self) -> None:
        assert self.app is not None
        dispatcher: Dispatcher = self.app.bot_data["dispatcher"]
        await dispatcher.tick()

    async def _work(self, worker: SimWorker) -> None:
        """Tap through the day: practice first if needed, then the batch, to its end."""
        user = self._user(worker.user_id, worker.name, worker.lang)
        project = worker.project
        started_on: int | None = None
        for _ in range(10 * self.o.batch + 100):  # a bound, never reached
            message, data = self.buttons(worker.user_id, _WORK_BUTTON)
            answers = [d for d in data if d.startswith("a.")]
            if answers:
                item = int(answers[0].split(".")[2])
                truth, difficulty = self.truth[item]
                choice = worker.choose(self.rng, truth, difficulty, self.choices[project])
                wanted = "n" if choice is None else str(choice)
                tap = next((d for d in answers if d.rsplit(".", 1)[1] == wanted), answers[0])
                self.clock.advance(self.rng.uniform(0.5, 1.5) * worker.seconds)
                await self.press(user, tap, message)
                if item not in self.practice:
                    worker.answered += 1
                    worker.right += choice == truth
                started_on = None
                continue
            starts = [d for d in data if d.startswith("s.")]
            seq = message.get("message_id")
            if not starts or started_on == seq:
                return  # the day's work is done (or there is none)
            started_on = seq
            self.clock.advance(2)
            await self.press(user, starts[0], message)
            if not self.buttons(worker.user_id, ("a.",))[1]:
                # ▶️ gave no item: either "done for today" or "nothing to do"; stop here.
                message, data = self.buttons(worker.user_id, _WORK_BUTTON)
                if not [d for d in data if d.startswith("a.")]:
                    return

    async def _review(self) -> int:
        """The coordinator goes through the review queue: the right answer most of the time,
        and an unclear picture dropped."""
        user = self._user(self.coordinator, "지수", "ko")
        await self.send(user, "/review")
        decided = 0
        for _ in range(10 * self.o.items + 10):
            message, data = self.buttons(self.coordinator, ("r.c.", "r.d.", "r.n."))
            choose = [d for d in data if d.startswith("r.c.")]
            if choose:
                item = int(choose[0].split(".")[2])
                truth, difficulty = self.truth[item]
                self.clock.advance(20)
                drop = [d for d in data if d.startswith("r.d.")]
                if difficulty > 0.92 and drop and self.rng.random() < 0.5:
                    await self.press(user, drop[0], message)
                else:
                    right = self.rng.random() < 0.95
                    options = [d for d in choose if int(d.rsplit(".", 1)[1]) == truth]
                    pick = options[0] if right and options else self.rng.choice(choose)
                    await self.press(user, pick, message)
                decided += 1
                continue
            following = [d for d in data if d.startswith("r.n.")]
            if not following:
                break
            await self.press(user, following[0], message)
            if not self.buttons(self.coordinator, ("r.c.",))[1]:
                break
        return decided

    async def _finish(self, out: Path) -> list[Path]:
        """The coordinator's /stats chart, the guardian's last summary, and the exports."""
        charts = out / "charts"
        files: list[Path] = []
        # The newest summary of a day worked (a day of rest says only that, in three lines).
        summaries = [m for m in self.telegram.messages(self.guardian) if "photo" in m]
        worked = [m for m in summaries if len(str(m.get("caption", "")).splitlines()) > 3]
        if shown := (worked or summaries)[-1:]:
            self.guardian_text = str(shown[0].get("caption", ""))
            data = self.telegram.uploads[shown[0]["photo"][0]["file_id"]]
            files.append(await asyncio.to_thread(_write, charts / "guardian-summary.png", data))
        self.guardian_summaries = len(summaries)
        texts = [m for m in self.telegram.messages(self.coordinator) if "text" in m]
        self.digest_text = str(texts[-1]["text"]) if texts else ""
        await self.send(self._user(self.coordinator, "지수", "ko"), "/stats")
        photos = [m for m in self.telegram.messages(self.coordinator) if "photo" in m]
        if photos:
            data = self.telegram.uploads[photos[-1]["photo"][0]["file_id"]]
            files.append(await asyncio.to_thread(_write, charts / "stats-14-days.png", data))
        files += await _exports(out, self.config)
        return files

    async def _result(self, out: Path, files: list[Path], seconds: float) -> Result:
        async with self.store.db.read() as conn:
            batches = await _scalar(conn, "SELECT count(*) FROM batches")
            answers = await _scalar(conn, "SELECT count(*) FROM answers")
            practice = await _scalar(conn, "SELECT count(*) FROM practice_answers")
            cursor = await conn.execute(
                "SELECT w.name, count(a.id) FROM workers w LEFT JOIN answers a"
                " ON a.worker_id = w.id GROUP BY w.id ORDER BY w.id")
            by_worker = {name: count for name, count in await cursor.fetchall()}
            projects = [await self._project(conn, name) for name in self.project_ids]
        return Result(self.o, out, seconds, self.logs, self.workers, projects,
                      Counter(c.method for c in self.telegram.calls), batches, answers,
                      practice, by_worker, self.guardian_text, self.guardian_summaries,
                      self.digest_text, files, self.finished_on)

    async def _project(self, conn: Any, name: str) -> ProjectResult:
        project_id = self.project_ids[name]
        cursor = await conn.execute(
            "SELECT id, verdict, label FROM items WHERE project_id = ? AND role = 'work'",
            (project_id,))
        rows = list(await cursor.fetchall())
        verdicts = Counter(v or "open" for _, v, _ in rows)
        right = sum(1 for item, v, label in rows
                    if v in ("agreement", "model", "reviewer") and label == self.truth[item][0])
        cursor = await conn.execute(
            "SELECT a.item_id, a.choice FROM answers a JOIN items i ON i.id = a.item_id"
            " WHERE i.project_id = ? AND i.role = 'work' AND a.choice IS NOT NULL",
            (project_id,))
        by_item: dict[int, list[int]] = {}
        for item, choice in await cursor.fetchall():
            by_item.setdefault(item, []).append(choice)
        pairs = agree = 0
        for choices in by_item.values():
            counts = Counter(choices)
            n = len(choices)
            pairs += n * (n - 1) // 2
            agree += sum(c * (c - 1) // 2 for c in counts.values())
        answers = await _scalar(conn, "SELECT count(*) FROM answers a JOIN items i ON"
                                " i.id = a.item_id WHERE i.project_id = ? AND i.role = 'work'",
                                project_id)
        workers = await _scalar(conn, "SELECT count(*) FROM workers WHERE project_id = ?",
                                project_id)
        stuck = await _scalar(
            conn, "SELECT count(*) FROM items i WHERE i.project_id = ? AND i.role = 'work'"
            " AND (i.verdict IS NULL OR i.verdict = 'more') AND (SELECT count(*) FROM answers a"
            " WHERE a.item_id = i.id) >= ?", project_id, workers)
        return ProjectResult(
            stuck=stuck, name=name, items=len(rows),
            finished=verdicts["agreement"] + verdicts["model"] + verdicts["reviewer"],
            agreement=verdicts["agreement"], model=verdicts["model"],
            reviewer=verdicts["reviewer"], dropped=verdicts["dropped"],
            review=verdicts["review"], open=verdicts["open"] + verdicts["more"],
            answers=answers, right=right, pair_agreement=agree / pairs if pairs else 0.0,
            workers=workers)


async def _scalar(conn: Any, sql: str, *params: object) -> int:
    row = await (await conn.execute(sql, params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _exports(out: Path, config: Config) -> list[Path]:
    """Every export format of both projects, written exactly as `haru export` writes them."""
    from argparse import Namespace

    from bot.cli_export import config_path, export

    folder = out / "exports"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    wanted = [(IMAGES, "csv", "demo-images.csv"), (IMAGES, "jsonl", "demo-images.jsonl"),
              (IMAGES, "label-studio", "demo-images.label-studio.json"),
              (IMAGES, "imagefolder", "demo-images-imagefolder"),
              (IMAGES, "answers", "demo-images.answers.csv"),
              (SENTENCES, "csv", "demo-sentences.csv"),
              (SENTENCES, "jsonl", "demo-sentences.jsonl"),
              (SENTENCES, "label-studio", "demo-sentences.label-studio.json"),
              (SENTENCES, "answers", "demo-sentences.answers.csv")]
    files = []
    for project, fmt, name in wanted:
        args = Namespace(project=project, format=fmt, out=folder / name, everything=False,
                         force=False)
        await export(config, args)
        files.append(folder / name)
        if fmt == "label-studio":
            files.append(config_path(folder / name))
    return files


MARKER = ".haru-demo"  # written by the demo into its folder: only then may --force replace
_OURS = ("haru.db", "samples", "exports", "charts")


def prepare_folder(out: Path, force: bool) -> None:
    """The demo's folder: made if new. What an earlier demo made there is replaced only with
    --force, and only if the folder carries the demo's marker: a real haru.db, or folders the
    demo did not make, are never touched."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file: give a folder for the demo.")
    present = [name for name in _OURS if (out / name).exists()]
    if present and not (out / MARKER).is_file():
        raise InvalidInput(f"{out} already holds {', '.join(present)}, not made by a demo: "
                           "give a new or empty --out folder (nothing was changed).")
    if present:
        if not force:
            raise InvalidInput(f"{out} already holds a demo: add --force to replace it, "
                               "or give another --out folder.")
        for name in _OURS[1:]:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        for suffix in ("", "-wal", "-shm"):
            (out / f"haru.db{suffix}").unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text("Made by `haru demo`: `haru demo --force` may replace "
                                  "haru.db, samples/, exports/ and charts/ here.\n",
                                  encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot write to {out}: {exc.strerror or exc}.") from None


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _write_samples(
    samples: Path, image_items: list[SampleItem], image_gold: list[SampleItem],
    image_practice: list[SampleItem], text_items: list[SampleItem],
    text_gold: list[SampleItem], text_practice: list[SampleItem],
) -> None:
    """The sample input, as a coordinator would bring it: folders of pictures with an answer
    sheet beside the known ones, and CSV files of sentences."""
    import csv

    images = samples / IMAGES
    for folder, items in (("work", image_items), ("gold", image_gold),
                          ("practice", image_practice)):
        for item in items:
            assert item.data is not None
            _write(images / folder / item.key, item.data)
    for folder, items, with_reason in (("gold", image_gold, False),
                                       ("practice", image_practice, True)):
        with (images / folder / "answers.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(("file", "answer", "reason") if with_reason else ("file", "answer"))
            for item in items:
                row = [item.key, IMAGE_CHOICES[item.answer]]
                writer.writerow([*row, item.reason] if with_reason else row)
    texts = samples / SENTENCES
    texts.mkdir(parents=True, exist_ok=True)
    for name, items, header in (("work.csv", text_items, ("text",)),
                                ("gold.csv", text_gold, ("text", "answer")),
                                ("practice.csv", text_practice, ("text", "answer", "reason"))):
        with (texts / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            for item in items:
                full = (item.text, SENTENCE_CHOICES[item.answer], item.reason)
                writer.writerow(full[:len(header)])


# --- what it prints ----------------------------------------------------------------------------


def _pct(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(result: Result) -> str:
    """The demo's account of itself, for the terminal: every number adds up."""
    from bot.progress import table

    o = result.options
    lines = [
        f"Haru demo: {o.workers} workers, {o.items} items per project, overlap {o.overlap}, "
        f"{o.days} working days ({result.days[0].day} to {result.days[-1].day}), seed {o.seed}",
        f"Ran offline in {result.seconds:.1f} s: the real bot, its scheduler and review queue, "
        "talking to an in-process Bot API.",
        "",
        "Day by day",
        table(("DAY", "BATCHES SENT", "ANSWERS", "PRACTICE", "REVIEWED", "LEFT (IMAGES)",
               "LEFT (SENTENCES)"),
              [(f"{d.day:%a %Y-%m-%d}", str(d.batches), str(d.answers), str(d.practice),
                str(d.reviewed), str(d.open_after.get(IMAGES, 0)),
                str(d.open_after.get(SENTENCES, 0))) for d in result.days]),
        "",
        "Projects (finished = agreement + model + reviewer, as in haru status and the exports; "
        "items = finished + dropped + in review + open)",
    ]
    rows = []
    for p in result.projects:
        rows.append((p.name, str(p.items), str(p.finished), str(p.agreement), str(p.model),
                     str(p.reviewer), str(p.dropped), str(p.review), str(p.open),
                     str(p.answers), f"{p.answers / p.items:.2f}" if p.items else "-",
                     _pct(p.pair_agreement, 1), _pct(p.right, p.labelled)))
    lines.append(table(("PROJECT", "ITEMS", "FINISHED", "AGREEMENT", "MODEL", "REVIEWER",
                        "DROPPED", "IN REVIEW", "OPEN", "ANSWERS", "PER ITEM",
                        "PAIRS AGREE", "LABELS RIGHT"), rows))
    lines += ["", "Workers (simulated skill; never shown to them: Haru shows no scores)"]
    total = sum(result.answers_by_worker.values())
    lines.append(table(
        ("WORKER", "PROJECT", "LANGUAGE", "SKILL", "ANSWERS", "RIGHT (VS TRUTH)"),
        [(w.name, w.project, w.lang, f"{w.skill:.2f}" + (" + taps the top button"
                                                         if w.top_button else ""),
          str(result.answers_by_worker.get(w.name, 0)), _pct(w.right, w.answered))
         for w in result.workers]))
    work = sum(p.answers for p in result.projects)
    lines.append(f"Answers: {result.answers} in all ({work} on work items, as in the projects "
                 f"table, and {result.answers - work} on hidden gold) = {total} summed over "
                 f"workers; {result.practice_answers} practice answers besides.")
    lines += ["", f"Capacity (each worker up to {o.batch} items a working day)"]
    for p in result.projects:
        per_day = p.answers / len(result.days)
        finished_on = result.finished_on.get(p.name)
        quality = (f"{_pct(p.right, p.labelled)} of the final labels match the truth; "
                   f"{p.reviewer + p.dropped} items ({_pct(p.reviewer + p.dropped, p.items)}) "
                   "needed the coordinator")
        if p.workers < o.overlap:
            lines.append(f"  {p.name}: cannot finish: each item needs {o.overlap} different "
                         f"workers and this project has {p.workers}. Give --workers at least "
                         f"{2 * o.overlap} (the projects share them), or a smaller --overlap.")
        elif finished_on is not None:
            used = [d.day for d in result.days].index(finished_on) + 1
            lines.append(f"  {p.name}: {p.items} items took {p.answers} answers "
                         f"({p.answers / p.items:.1f} each) from {p.workers} workers and were "
                         f"all settled on working day {used}; {quality}.")
        else:
            flowing = p.open - p.stuck
            settled = p.finished + p.dropped
            parts = [f"{settled} of {p.items} items settled in {o.days} working days by "
                     f"{p.workers} workers ({p.answers} answers, {per_day:.0f} a day)"]
            if flowing:
                more = math.ceil(flowing * o.overlap / per_day) if per_day else None
                parts.append(f"{flowing} still collecting answers need about "
                             f"{more if more is not None else 'an unknown number of'} more "
                             "working day(s)")
            if p.review:
                parts.append(f"{p.review} wait in the review queue")
            if p.stuck:
                parts.append(f"{p.stuck} were answered by all {p.workers} workers and wait for "
                             "one more, which this project does not have (add workers)")
            lines.append(f"  {p.name}: {'; '.join(parts)}; {quality}.")
    calls = result.calls
    sent = sum(calls[m] for m in ("sendMessage", "sendPhoto"))
    edits = sum(calls[m] for m in calls if m.startswith("edit"))
    lines += ["", f"Telegram: {sum(calls.values())} Bot API calls ({sent} messages sent, "
              f"{edits} edits, {calls['answerCallbackQuery']} button answers)."]
    if result.guardian_text:
        lines += ["", f"Guardian summaries: {result.guardian_summaries} sent to 엄마, with "
                  f"{result.workers[0].name}'s consent. The newest of a day worked:",
                  *("  " + line for line in result.guardian_text.splitlines())]
    if result.digest_text:
        lines += ["", "The coordinator's last daily digest (지수):",
                  *("  " + line for line in result.digest_text.splitlines())]
    lines += ["", f"Written to {result.out}/:"]
    lines += [f"  {path.relative_to(result.out)}" for path in result.files]
    lines += ["  haru.db, samples/ (the generated input)", "",
              f"Try: HARU_DB={result.out / 'haru.db'} haru status",
              f"     HARU_DB={result.out / 'haru.db'} haru export {IMAGES} --format csv "
              f"--out {IMAGES}.csv"]
    return "\n".join(lines)


async def run_demo(options: DemoOptions, today: date | None = None, *,
                   prepared: bool = False) -> Result:
    options.check()
    quiet = [logging.getLogger(name) for name in ("haru", "bot", "tasks", "review", "storage",
                                                  "telegram", "apscheduler", "httpx")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.WARNING)
    state = random.getstate()
    random.seed(options.seed)  # gold's place in a batch: the same seed gives the same run
    try:
        return await Demo(options, today, prepared).run()
    finally:
        random.setstate(state)
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
