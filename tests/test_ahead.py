"""The next item drawn ahead of the save (bot/ahead.py), and one user's updates in order
(bot/updates.py): fast, and never at the cost of a tap."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from bot.offline import EDITS, ApiError
from bot.updates import OnePerUser
from tests.harness import Harness, Phone

TEXTS = [f"Sentence number {n}." for n in range(1, 9)]


async def working(h: Harness) -> Phone:
    """A worker on a sentences project who has answered the first item (so the screen on
    their phone now has its next one prepared)."""
    project = await h.project()
    await h.sentences(project, TEXTS)
    phone = h.phone(111)
    await phone.join(await h.invite("민지"))
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    return phone


async def saved(h: Harness) -> list[tuple[int, int]]:
    async with h.store.db.read() as conn:
        cursor = await conn.execute("SELECT item_id, choice FROM answers ORDER BY id")
        return [(int(r[0]), int(r[1])) for r in await cursor.fetchall()]


async def on_record(h: Harness) -> tuple[int, int | None]:
    """(seq, item) of the worker's screen as the database has it."""
    async with h.store.db.read() as conn:
        cursor = await conn.execute("SELECT seq, item_id FROM worker_state")
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), row[1]


async def test_the_next_item_goes_out_with_one_edit_and_the_save_never_waits_for_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    phone = await working(harness)
    real = harness.telegram.answer
    saved_before_telegram_replied: list[bool] = []

    async def slow_edit(url: str, method: str, request_data: Any) -> Any:
        if url.endswith("/editMessageText"):
            # Telegram is slow to reply to the edit: the answer is saved meanwhile.
            for _ in range(200):
                if len(await saved(harness)) == 2:
                    break
                await asyncio.sleep(0.01)
            saved_before_telegram_replied.append(len(await saved(harness)) == 2)
        return await real(url, method, request_data)

    monkeypatch.setattr(harness.telegram, "answer", slow_edit)
    since = len(harness.telegram.calls)
    await phone.tap("🐱 Cat")
    assert harness.telegram.methods(since) == ["answerCallbackQuery", "editMessageText"]
    assert saved_before_telegram_replied == [True]
    assert [choice for _, choice in await saved(harness)] == [0, 1]
    assert "3 / 8" in phone.words() and TEXTS[2] in phone.words()
    assert "🐱 Cat" in phone.words().split("\n")[0]  # "saved: 🐱 Cat" on top
    seq, item = await on_record(harness)
    assert phone.button_data("🐶 Dog") == f"a.{seq}.{item}.0"


async def test_a_screen_drawn_ahead_that_proves_wrong_is_put_right_at_once(
    harness: Harness,
) -> None:
    phone = await working(harness)
    # Meanwhile the item that was to come next is no longer this worker's (released).
    async with harness.store.uow() as repo:
        await repo.conn.execute(
            "DELETE FROM reservations WHERE item_id ="
            " (SELECT item_id FROM reservations ORDER BY rank LIMIT 1 OFFSET 1)")
    await phone.tap("🐶 Dog")
    assert len(await saved(harness)) == 2
    seq, item = await on_record(harness)
    assert phone.button_data("🐶 Dog") == f"a.{seq}.{item}.0"
    async with harness.store.reader() as repo:
        shown = await repo.item(item or 0)
    assert shown.text is not None and shown.text in phone.words()
    assert "3 / 8" in phone.words() and TEXTS[2] not in phone.words()


async def test_a_save_that_fails_brings_the_tapped_item_back_to_answer_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    phone = await working(harness)
    from storage.repo import SqlRepo

    real = SqlRepo.add_answer
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def add_answer(self: SqlRepo, *args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(SqlRepo, "add_answer", add_answer)
    with pytest.raises(AssertionError, match="failed on an update"):
        await phone.tap("🐱 Cat")
    harness.errors.clear()
    assert len(await saved(harness)) == 1  # nothing half-saved
    # The item that was tapped is on the screen again, with buttons that work.
    assert TEXTS[1] in phone.words() and "2 / 8" in phone.words()
    seq, item = await on_record(harness)
    assert phone.button_data("🐶 Dog") == f"a.{seq}.{item}.0"
    await phone.tap("🐱 Cat")
    assert [choice for _, choice in await saved(harness)] == [0, 1]
    assert "3 / 8" in phone.words()


async def test_telegram_failing_to_take_the_early_edit_never_loses_the_answer(
    harness: Harness,
) -> None:
    phone = await working(harness)
    harness.telegram.fail_next["answerCallbackQuery"] = ApiError(400, "Bad Request: query is "
                                                                 "too old")
    harness.telegram.fail_next["editMessageText"] = ApiError(502, "Bad Gateway")
    harness.errors.clear()
    try:
        await phone.tap("🐱 Cat")
    except AssertionError:
        harness.errors.clear()  # the answer is unanswerable after a failure; it is logged
    assert [choice for _, choice in await saved(harness)] == [0, 1]
    assert "3 / 8" in phone.words()  # drawn again after the failed early edit


async def test_a_double_tap_on_a_screen_drawn_ahead_is_saved_once(harness: Harness) -> None:
    phone = await working(harness)
    screen = phone.screen
    data = phone.button_data("🐶 Dog")
    await phone.press(data, screen)
    since = len(harness.telegram.calls)
    await phone.press(data, screen)
    assert len(await saved(harness)) == 2
    answered = [c for c in harness.telegram.calls[since:] if c.method == "answerCallbackQuery"]
    assert answered and "저장" in str(answered[0].params.get("text", ""))
    assert not [c for c in harness.telegram.calls[since:] if c.method in EDITS]
    assert "3 / 8" in phone.words()


async def test_each_answer_of_a_whole_day_is_saved_in_order_with_the_words_it_showed(
    harness: Harness,
) -> None:
    phone = await working(harness)
    for n in range(2, 9):
        assert f"{n} / 8" in phone.words() and TEXTS[n - 1] in phone.words()
        await phone.tap("🐱 Cat" if n % 2 else "🐶 Dog")
    assert [choice for _, choice in await saved(harness)] == [0, 0, 1, 0, 1, 0, 1, 0]
    assert phone.buttons()[0].startswith("▶️")  # the thank-you of a finished day


async def test_a_notice_forgets_the_screen_prepared_for_the_old_message(
    harness: Harness,
) -> None:
    phone = await working(harness)
    haru = harness.app.bot_data["haru"] if harness.app else None
    assert haru is not None and len(haru.ahead) == 1
    haru.ahead.forget(111)
    assert len(haru.ahead) == 0
    await phone.tap("🐶 Dog")  # the usual way: the same result
    assert "3 / 8" in phone.words() and len(await saved(harness)) == 2


async def test_one_users_updates_run_in_order_and_different_users_side_by_side() -> None:
    from telegram import Update

    processor = OnePerUser(8)
    log: list[str] = []
    gate = asyncio.Event()

    def update(user: int, n: int) -> Update:
        return Update.de_json({"update_id": n, "message": {
            "message_id": n, "date": 1, "text": "x", "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "W"}}}, None)

    async def work(name: str, wait: bool) -> None:
        log.append(f"{name} starts")
        if wait:
            await gate.wait()
        log.append(f"{name} ends")

    first = asyncio.create_task(processor.process_update(update(1, 1), work("1a", True)))
    second = asyncio.create_task(processor.process_update(update(1, 2), work("1b", False)))
    other = asyncio.create_task(processor.process_update(update(2, 3), work("2a", False)))
    await asyncio.sleep(0.01)
    assert log == ["1a starts", "2a starts", "2a ends"]  # 1b waits for 1a; 2 does not
    gate.set()
    await asyncio.gather(first, second, other)
    assert log[3:] == ["1a ends", "1b starts", "1b ends"]


async def test_a_worker_who_moved_to_a_new_phone_cannot_answer_from_the_old_one(
    harness: Harness,
) -> None:
    old = await working(harness)
    new = harness.phone(222)
    await new.join(await harness.invite("민지"))
    before = await on_record(harness)
    since = len(harness.telegram.calls)
    await old.tap("🐱 Cat", old.screen)  # the old phone still shows a prepared screen
    assert len(await saved(harness)) == 1
    assert await on_record(harness) == before
    calls = harness.telegram.calls[since:]
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # "not yours", nothing drawn
    assert calls[0].params.get("text")


async def test_a_coordinators_reply_during_a_tap_drawn_ahead_loses_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from telegram import Update

    project = await harness.project()
    await harness.sentences(project, TEXTS)
    coach = harness.phone(900, "지수")
    await coach.join(await harness.invite_coordinator("지수"))
    phone = harness.phone(111)
    await phone.join(await harness.invite("민지"))
    await phone.tap("▶️")
    await phone.tap("🙋")
    asked = coach.screen
    await phone.tap("🐶 Dog")  # item 2 on screen, item 3 prepared
    app = harness.app
    assert app is not None
    real = harness.telegram.answer

    async def slow(url: str, method: str, request_data: Any) -> Any:
        if url.endswith("/editMessageText") and request_data is not None \
                and "a." in str(request_data.parameters.get("reply_markup", "")):
            await asyncio.sleep(0.2)  # the early edit's round trip
        return await real(url, method, request_data)

    monkeypatch.setattr(harness.telegram, "answer", slow)

    async def through_the_processor(data: dict[str, Any], after: float) -> None:
        await asyncio.sleep(after)
        update = Update.de_json({"update_id": 900 + int(after * 100), **data}, app.bot)
        await app.update_processor.process_update(update, app.process_update(update))

    harness.telegram.open_queries.add("77")
    tap = {"callback_query": {"id": "77", "from": phone.user, "chat_instance": "ci",
                              "data": phone.button_data("🐱 Cat", phone.screen),
                              "message": phone.screen}}
    reply = {"message": {**coach._message(text="잘하고 있어요!"), "reply_to_message": asked}}
    await asyncio.gather(through_the_processor(tap, 0), through_the_processor(reply, 0.05))
    assert not harness.errors and "77" not in harness.telegram.open_queries
    assert [choice for _, choice in await saved(harness)] == [0, 1]
    # Only the newest message has buttons, below the reply, and they are the database's.
    with_buttons = [m for m in phone.chat if phone.buttons(m)]
    assert with_buttons == [phone.screen] and "잘하고 있어요" not in phone.words()
    seq, item = await on_record(harness)
    assert phone.button_data("🐶 Dog") == f"a.{seq}.{item}.0"
