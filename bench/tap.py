"""A worker's tap: how long until the next item leaves, how many Bot API calls an answer
costs, and how many answers one process sustains with 200 workers tapping at once.

Haru is the real Application (bot.app.build_application: handlers, OnePerUser updates, the
ahead-drawing of bot/ahead.py) on a real SQLite file (WAL, synchronous=FULL), over
bench.instant.InstantTelegram, a Bot API that answers at once.

Floor: a bare python-telegram-bot Application on another InstantTelegram whose only handler
answers the callback and edits the message into the same next screen Haru draws (the same
words, the same 6-button keyboard; for pictures, the same editMessageMedia with a file_id).
Haru's taps and the floor's alternate, one each, so both see the same machine.

Per tap: from `Application.process_update(update)` to the first sendMessage/sendPhoto/edit*
call reaching the fake (the next item leaving), for answer taps (not ▶️).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bench.common import Figure, Section, at_least, at_most, median, percentile
from bench.driver import CHOICES, Bot
from bench.instant import MESSAGES, InstantTelegram
from bot.updates import OnePerUser

GOAL_TAP = 1.5  # median per tap <= 1.5x the floor
TELEGRAM_RATE = 30.0  # messages a second, Telegram's limit for a bot
GOAL_THROUGHPUT = 20.0  # answers/s >= 20x that
BATCH = 20


@dataclass
class Floor:
    """The bare handler: answer the callback, edit the message into `text`/`keyboard`."""

    telegram: InstantTelegram = field(default_factory=InstantTelegram)
    text: str = "."
    keyboard: InlineKeyboardMarkup | None = None
    photo: str | None = None
    app: Any = None
    _ids: Any = field(default_factory=lambda: iter(range(1, 10**9)))

    async def start(self, concurrent: bool = False) -> None:
        builder = (Application.builder().token("1:FLOOR").request(self.telegram)
                   .get_updates_request(self.telegram).updater(None))
        if concurrent:
            builder = builder.concurrent_updates(OnePerUser())
        self.app = builder.build()

        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            assert query is not None
            await query.answer()
            if self.photo is not None:
                await query.edit_message_media(
                    InputMediaPhoto(self.photo, caption=self.text, parse_mode="HTML"),
                    reply_markup=self.keyboard)
            else:
                await query.edit_message_text(self.text, parse_mode="HTML",
                                              reply_markup=self.keyboard)

        self.app.add_handler(CallbackQueryHandler(handler))
        await self.app.initialize()

    def tap(self, user_id: int) -> Update:
        n = next(self._ids)
        message: dict[str, Any] = {"message_id": 5, "date": 1,
                                   "chat": {"id": user_id, "type": "private"}}
        if self.photo is not None:
            message.update(photo=[{"file_id": self.photo, "file_unique_id": "u",
                                   "width": 1, "height": 1}], caption=".")
        else:
            message["text"] = "."
        return Update.de_json({"update_id": n, "callback_query": {
            "id": str(n), "from": {"id": user_id, "is_bot": False, "first_name": "W"},
            "chat_instance": "c", "data": "a.1.2.0", "message": message}}, self.app.bot)


async def first_message(telegram: InstantTelegram, app: Any, update: Update) -> float:
    """Seconds from handing `update` to the Application to its first message call."""
    before = len(telegram.arrivals)
    began = time.perf_counter()
    await app.process_update(update)
    for arrival in telegram.arrivals[before:]:
        if arrival.method in MESSAGES:
            return arrival.at - began
    raise AssertionError("the update sent no message")


@dataclass
class Taps:
    haru: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    per_answer: collections.Counter[str] = field(default_factory=collections.Counter)
    answers: int = 0
    batch_calls: int = 0  # every call while the workers did their batches, ▶️ included
    most_messages: int = 0  # the most send/edit calls any one answer tap made
    most_callbacks: int = 0
    uploads: list[str] = field(default_factory=list)
    pictures_shown: int = 0


async def tap_run(folder: Path, pictures: bool, workers: int) -> Taps:
    """`workers` workers each do a day of 20 (overlap 3), round robin, one tap at a time."""
    bot = Bot(folder)
    await bot.start()
    floor = Floor()
    await floor.start()
    result = Taps()
    try:
        await bot.project("p", workers * BATCH // 3 + BATCH, pictures=pictures, overlap=3)
        users = [1000 + n for n in range(workers)]
        for user in users:
            await bot.join(user, "p")
        since = len(bot.telegram.arrivals)
        for user in users:
            update = bot.tap(user, "▶️")
            assert update is not None, bot.buttons(user)
            await bot.app.process_update(update)
        # The floor draws what Haru draws: the newest next-item screen, words and buttons.
        message, keyboard = bot.telegram.screens[users[0]]
        floor.text = bot.telegram.words[users[0]]
        floor.keyboard = InlineKeyboardMarkup.de_json({"inline_keyboard": keyboard},
                                                      floor.app.bot)
        floor.photo = message["photo"][0]["file_id"] if pictures else None
        active = list(users)
        turn = 0
        while active:
            still = []
            for user in active:
                update = bot.tap(user, CHOICES[(turn + user) % 2])
                if update is None:  # the day's work is done: only ▶️ / ↩️ left
                    continue
                bot.clock.advance(3)
                before = len(bot.telegram.arrivals)
                result.haru.append(await first_message(bot.telegram, bot.app, update))
                calls = bot.telegram.arrivals[before:]
                result.answers += 1
                messages = sum(1 for c in calls if c.method in MESSAGES)
                callbacks = sum(1 for c in calls if c.method == "answerCallbackQuery")
                result.per_answer.update(c.method for c in calls)
                result.most_messages = max(result.most_messages, messages)
                result.most_callbacks = max(result.most_callbacks, callbacks)
                result.floor.append(await first_message(floor.telegram, floor.app,
                                                        floor.tap(user)))
                still.append(user)
            active = still
            turn += 1
        calls = bot.telegram.arrivals[since:]
        result.batch_calls = len(calls)
        result.uploads = [c.upload for c in calls if c.upload]
        result.pictures_shown = sum(1 for c in calls
                                    if c.method in ("sendPhoto", "editMessageMedia"))
        async with bot.store.reader() as repo:
            rows = await repo._all("SELECT count(*) FROM answers")
        assert int(rows[0][0]) == result.answers, (rows[0][0], result.answers)
    finally:
        await floor.app.shutdown()
        await bot.stop()
    return result


async def throughput_run(folder: Path, workers: int, haru: bool) -> tuple[int, float, int]:
    """`workers` phones tapping at once, each as soon as their next screen arrives, through
    the update queue of a running Application. (answers saved, seconds, errors)."""
    errors: list[BaseException] = []
    if haru:
        bot = Bot(folder)
        await bot.start()
        await bot.project("p", workers * BATCH // 3 + BATCH, pictures=False, overlap=3)
        users = [1000 + n for n in range(workers)]
        for user in users:
            await bot.join(user, "p")
            update = bot.tap(user, "▶️")
            assert update is not None
            await bot.app.process_update(update)
        app, telegram = bot.app, bot.telegram
    else:
        floor = Floor()
        await floor.start(concurrent=True)
        app, telegram = floor.app, floor.telegram
        users = [1000 + n for n in range(workers)]

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            errors.append(context.error)

    app.add_error_handler(record)
    taps = 0

    async def phone(user: int) -> None:
        nonlocal taps
        event = telegram.changed.setdefault(user, asyncio.Event())
        for turn in range(BATCH):
            if haru:
                update = bot.tap(user, CHOICES[(turn + user) % 2])
                if update is None:
                    return
            else:
                update = floor.tap(user)
            event.clear()
            await app.update_queue.put(update)
            taps += 1
            await event.wait()

    if not haru:  # the floor's next screen: words and a button, like Haru's
        floor.keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=f"a.1.2.{i}")]
             for i, label in enumerate(CHOICES)])
        floor.text = "<b>What is it?</b>"
    await app.start()
    began = time.perf_counter()
    await asyncio.gather(*(phone(u) for u in users))
    # Everything handed over is handled (saved) before the clock stops.
    # (PTB offers no event for "all handled"; a millisecond's polling is not measured work.)
    while app.update_queue.qsize() or app.update_processor.current_concurrent_updates:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    seconds = time.perf_counter() - began
    await app.stop()
    if haru:
        async with bot.store.reader() as repo:
            rows = await repo._all("SELECT count(*) FROM answers")
        saved = int(rows[0][0])
        await bot.stop()
    else:
        saved = taps
        await floor.app.shutdown()
    return saved, seconds, len(errors)


def sections(quick: bool) -> list[Section]:
    """Sections 'tap' (1), 'calls' (2) and 'throughput' (3)."""
    workers = 6 if quick else 30
    crowd = 50 if quick else 200
    began = time.perf_counter()
    tap = Section("tap", "1. Per tap: update in → next item's Bot API call out")
    calls = Section("calls", "2. Bot API calls per answer, over whole batches")
    with tempfile.TemporaryDirectory(prefix="haru-bench-") as temp:
        runs = {}
        for pictures in (False, True):
            folder = Path(temp) / ("pictures" if pictures else "sentences")
            folder.mkdir()
            runs[pictures] = asyncio.run(tap_run(folder, pictures, workers))
        for pictures, r in runs.items():
            kind = "pictures" if pictures else "sentences"
            floor_ms = median(r.floor) * 1e3
            ms = median(r.haru) * 1e3
            ratio, ok = at_most(ms, floor_ms, GOAL_TAP)
            tap.add(Figure(f"{kind}: median per tap ({r.answers} taps, {workers} workers)",
                           ms, "ms", floor_ms, ratio, f"<= {GOAL_TAP}x floor", ok))
            p99, floor99 = percentile(r.haru, 0.99) * 1e3, percentile(r.floor, 0.99) * 1e3
            tap.add(Figure(f"{kind}: p99 per tap", p99, "ms", floor99, p99 / floor99,
                           "reported", None))
            callbacks = r.per_answer["answerCallbackQuery"] / r.answers
            messages = sum(n for m, n in r.per_answer.items() if m in MESSAGES) / r.answers
            calls.add(Figure(f"{kind}: send/edit calls per answer tap (most in one: "
                             f"{r.most_messages})", messages, "calls", 1.0, messages,
                             "= 1", r.most_messages == 1))
            calls.add(Figure(f"{kind}: answerCallbackQuery per answer tap (most in one: "
                             f"{r.most_callbacks})", callbacks, "calls", 1.0, callbacks,
                             "= 1", r.most_callbacks == 1))
            calls.add(Figure(f"{kind}: all calls per answer, whole batches with ▶️",
                             r.batch_calls / r.answers, "calls", 2.0,
                             r.batch_calls / r.answers / 2.0, "reported", None))
            if pictures:
                twice = len(r.uploads) - len(set(r.uploads))
                distinct = len(set(r.uploads))
                calls.add(Figure(f"pictures: uploads ({distinct} pictures, "
                                 f"{r.pictures_shown} shown, {twice} uploaded twice)",
                                 len(r.uploads), "uploads", distinct,
                                 len(r.uploads) / max(1, distinct), "each picture once",
                                 twice == 0))
            mix = collections.Counter({m: n for m, n in r.per_answer.items()})
            calls.notes.append(f"{kind}: calls of the {r.answers} answer taps: " + ", ".join(
                f"{m} {n}" for m, n in sorted(mix.items())))
        tap.seconds = time.perf_counter() - began
        began = time.perf_counter()
        through = Section("throughput", f"3. Throughput: {crowd} workers tapping at once")
        folder = Path(temp) / "crowd"
        folder.mkdir()
        saved, seconds, errors = asyncio.run(throughput_run(folder, crowd, haru=True))
        floor_saved, floor_seconds, _ = asyncio.run(throughput_run(folder, crowd, haru=False))
        rate = saved / seconds
        ratio, ok = at_least(rate, TELEGRAM_RATE, GOAL_THROUGHPUT)
        through.add(Figure(f"answers/s, {saved:,} answers saved, {errors} errors", rate,
                           "answers/s", TELEGRAM_RATE, ratio,
                           f">= {GOAL_THROUGHPUT:.0f}x Telegram's 30/s", ok and errors == 0))
        floor_rate = floor_saved / floor_seconds
        through.add(Figure("bare PTB handler, same phones (answer + edit)", floor_rate,
                           "taps/s", TELEGRAM_RATE, floor_rate / TELEGRAM_RATE, "reported",
                           None))
        through.notes.append(
            f"Each phone taps again as soon as its next screen arrives; {crowd} phones × "
            f"{BATCH} answers on sentences (overlap 3). Updates come through the running "
            "Application's update queue, handled by OnePerUser (concurrent across users, in "
            "order per user). Every answer is committed (synchronous=FULL) before the run "
            "is timed as over.")
        through.seconds = time.perf_counter() - began
    calls.seconds = 0.0
    return [tap, calls, through]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for section in sections(args.quick):
        print(f"\n{section.title} ({section.seconds:.1f} s)\n")
        for f in section.figures:
            ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
            floor = f"{f.floor:.3f}" if f.floor is not None else ""
            print(f"- {f.name}: {f.value:.3f} {f.unit} | floor {floor} | ratio {ratio} | "
                  f"{f.goal} | {f.verdict}")
        for note in section.notes:
            print(f"  {note}")


if __name__ == "__main__":
    main()
