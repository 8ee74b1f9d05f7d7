"""The worker's labeling loop, driven through the real Application over an offline Telegram."""

from __future__ import annotations

from datetime import datetime

from bot.offline import EDITS, SENDS
from tests.harness import Harness, Phone


async def joined(h: Harness, user_id: int = 111, name: str = "민지", language: str = "ko",
                 project: str = "animals") -> Phone:
    phone = h.phone(user_id, name, language)
    await phone.join(await h.invite(name, project))
    return phone


async def ready(h: Harness, pictures: int) -> Phone:
    """A project of `pictures` pictures and one worker who has joined it."""
    await h.pictures(await h.project(), pictures)
    return await joined(h)


async def days_of(h: Harness, items: int) -> None:
    """Make every worker's day `items` long (the CLI for it comes with the schedule)."""
    async with h.store.uow() as repo:
        await repo.conn.execute("UPDATE workers SET batch_size = ?", (items,))


async def answers(h: Harness) -> list[tuple[str, int, int | None, int]]:
    async with h.store.db.read() as conn:
        cursor = await conn.execute(
            "SELECT w.name, a.item_id, a.choice, a.not_sure FROM answers a"
            " JOIN workers w ON w.id = a.worker_id ORDER BY a.id"
        )
        return [tuple(r) for r in await cursor.fetchall()]  # type: ignore[misc]


async def test_a_new_worker_joins_by_invite_and_sees_one_start_button(harness: Harness) -> None:
    phone = await ready(harness, 3)
    assert "민지 님" in phone.words()
    assert phone.buttons() == ["▶️ 시작"]
    async with harness.store.uow() as repo:
        worker = await repo.worker_by_tg(111)
    assert worker is not None and worker.name == "민지"


async def test_each_item_shows_question_progress_answers_not_sure_and_controls(
    harness: Harness,
) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    assert "photo" in phone.screen
    words = phone.words()
    assert words.startswith("오늘은 3개예요. 2분쯤 걸려요.")
    assert "What animal is this?" in words
    assert "1 / 3  ■■■□□□□□□□" in words
    rows = phone.screen["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [
        ["🐶 Dog"], ["🐱 Cat"], ["🤔 잘 모르겠어요"], ["↩️ 되돌리기", "☕ 쉬기", "🙋 도움"],
    ]


async def test_a_whole_batch_of_twenty_ends_with_thanks_and_the_count(harness: Harness) -> None:
    phone = await ready(harness, 25)
    await phone.tap("▶️")
    for n in range(1, 21):
        assert f"{n} / 20" in phone.words()
        await phone.tap("🐶 Dog" if n % 3 else "🤔")
    assert "20개" in phone.words()
    assert phone.buttons() == ["▶️ 시작", "↩️ 되돌리기"]  # no typing is ever needed
    saved = await answers(harness)
    assert len(saved) == 20 and len({item for _, item, _, _ in saved}) == 20
    assert sum(not_sure for *_, not_sure in saved) == 6
    await phone.send("/start")
    await phone.tap("▶️")
    assert "오늘 할 일은 다 했어요" in phone.words()
    assert len(await answers(harness)) == 20


async def test_the_saved_answer_is_shown_in_the_message_itself(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    await phone.tap("🐱 Cat")
    assert phone.words().startswith("✅ 🐱 Cat — 저장했어요")
    assert "2 / 3" in phone.words()


async def test_back_shows_the_saved_answer_and_lets_the_worker_change_it(
    harness: Harness,
) -> None:
    phone = await ready(harness, 5)
    await phone.tap("▶️")
    await phone.tap("🐱 Cat")
    await phone.tap("🐶 Dog")
    await phone.tap("↩️")
    assert "2 / 5" in phone.words() and "🐶 Dog" in phone.words()
    assert "✅ 🐶 Dog" in phone.buttons()
    await phone.tap("↩️")
    assert "1 / 5" in phone.words() and "✅ 🐱 Cat" in phone.buttons()
    await phone.tap("↩️")  # nothing further back: a note, nothing changes
    assert "오늘 첫 번째" in phone.words() and "1 / 5" in phone.words()
    await phone.tap("🤔")
    assert "바꿨어요" in phone.words()
    assert "3 / 5" in phone.words()  # straight back to where the worker was
    saved = await answers(harness)
    assert [(c, ns) for _, _, c, ns in saved] == [(None, 1), (0, 0)]
    await phone.tap("🐱 Cat")
    assert len(await answers(harness)) == 3


async def test_break_says_all_is_saved_and_resume_shows_the_same_item(harness: Harness) -> None:
    phone = await ready(harness, 4)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    before = phone.screen["photo"][0]["file_unique_id"]
    await phone.tap("☕")
    assert "저장" in phone.words() and phone.buttons() == ["▶️ 다시 하기"]
    harness.clock.advance(hours=3)
    await phone.tap("▶️ 다시 하기")
    assert phone.screen["photo"][0]["file_unique_id"] == before
    assert "2 / 4" in phone.words()


async def test_a_restart_mid_batch_continues_at_the_right_item(harness: Harness) -> None:
    phone = await ready(harness, 6)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐱 Cat")
    on_screen = phone.screen
    await harness.restart()
    await phone.tap("🐶 Dog", on_screen)  # the same message, after the restart
    assert "4 / 6" in phone.words()
    assert len(await answers(harness)) == 3
    await phone.tap("↩️")
    assert "3 / 6" in phone.words() and "✅ 🐶 Dog" in phone.buttons()


async def test_an_answer_is_saved_even_when_telegram_fails_to_show_the_next_item(
    harness: Harness,
) -> None:
    from bot.offline import ApiError

    phone = await ready(harness, 4)
    await phone.tap("▶️")
    on_screen = phone.screen
    harness.telegram.fail_next["editMessageMedia"] = ApiError(502, "Bad Gateway")
    harness.errors.clear()
    try:
        await phone.tap("🐶 Dog")
    except AssertionError:
        harness.errors.clear()  # the bot logged the failure; the answer must still be there
    assert len(await answers(harness)) == 1
    await harness.restart()
    await phone.tap("🐶 Dog", on_screen)  # the stale screen is redrawn, nothing recorded twice
    assert len(await answers(harness)) == 1
    assert "2 / 4" in phone.words()


async def test_two_workers_share_an_overlap_two_project_and_a_third_finds_no_work(
    harness: Harness,
) -> None:
    project = await harness.project(overlap=2)
    await harness.pictures(project, 3)
    first = await joined(harness, 111, "민지")
    second = await joined(harness, 222, "Tom", "en")
    third = await joined(harness, 333, "영수")
    for phone in (first, second):
        await phone.tap("▶️")
        for _ in range(3):
            await phone.tap("🐶 Dog")
    assert "3" in second.words() and "All done" in second.words()
    await third.tap("▶️")
    assert "지금은 할 일이 없어요" in third.words()
    saved = await answers(harness)
    assert len(saved) == 6
    per_item: dict[int, set[str]] = {}
    for name, item, _, _ in saved:
        per_item.setdefault(item, set()).add(name)
    assert all(names == {"민지", "Tom"} for names in per_item.values())


async def test_a_days_batch_is_not_handed_to_more_workers_than_it_needs(
    harness: Harness,
) -> None:
    project = await harness.project(overlap=1)
    await harness.pictures(project, 2)
    first = await joined(harness, 111, "민지")
    second = await joined(harness, 222, "영수")
    third = await joined(harness, 333, "지훈")
    await days_of(harness, 1)
    await first.tap("▶️")
    await second.tap("▶️")
    assert first.screen["photo"][0]["file_unique_id"] != second.screen["photo"][0][
        "file_unique_id"]
    await third.tap("▶️")
    assert "지금은 할 일이 없어요" in third.words()
    await first.tap("☕")  # a break keeps the day's batch: it is still 민지's today
    await third.send("/start")
    await third.tap("▶️")
    assert "지금은 할 일이 없어요" in third.words()
    harness.clock.advance(days=1)  # 민지's day is over: what she left goes back to the pool
    await third.send("/start")
    await third.tap("▶️")
    assert "1 / 1" in third.words()


async def test_a_worker_never_gets_the_same_item_twice(harness: Harness) -> None:
    project = await harness.project(overlap=3)
    await harness.pictures(project, 3)
    phone = await joined(harness)
    await phone.tap("▶️")
    for _ in range(3):
        await phone.tap("🐶 Dog")
    harness.clock.advance(days=1)
    await phone.send("/start")
    await phone.tap("▶️")
    assert "지금은 할 일이 없어요" in phone.words()
    items = [item for _, item, _, _ in await answers(harness)]
    assert len(items) == len(set(items)) == 3


async def test_each_answer_records_worker_item_choice_and_both_times(harness: Harness) -> None:
    phone = await ready(harness, 2)
    await phone.tap("▶️")
    shown = harness.clock()
    harness.clock.advance(seconds=7)
    await phone.tap("🐱 Cat")
    async with harness.store.db.read() as conn:
        cursor = await conn.execute("SELECT worker_id, item_id, choice, shown_at, answered_at"
                                    " FROM answers")
        row = await cursor.fetchone()
    assert row is not None and row[2] == 1
    assert datetime.fromisoformat(row[3]) == shown
    assert (datetime.fromisoformat(row[4]) - shown).total_seconds() == 7


async def test_an_english_telegram_gets_english_words(harness: Harness) -> None:
    project = await harness.project()
    await harness.pictures(project, 2)
    phone = await joined(harness, 222, "Tom", "en-GB")
    assert "Welcome, Tom" in phone.words() and phone.buttons() == ["▶️ Start"]
    await phone.tap("▶️")
    assert phone.buttons()[2:] == ["🤔 Not sure", "↩️ Back", "☕ Break", "🙋 Help"]


async def test_sentences_are_shown_as_text_and_edited_in_place(harness: Harness) -> None:
    project = await harness.project(
        "feelings", ("🙂 Good", "🙁 Bad"), question="How does this sound?"
    )
    await harness.sentences(project, ["오늘은 날씨가 좋아요.", "Service was <slow> & rude."])
    phone = await joined(harness, project="feelings")
    await phone.tap("▶️")
    assert "오늘은 날씨가 좋아요." in phone.words() and "How does this sound?" in phone.words()
    before = len(harness.telegram.calls)
    await phone.tap("🙂 Good")
    assert "Service was <slow> & rude." in phone.words()
    assert harness.telegram.methods(before) == ["answerCallbackQuery", "editMessageText"]


async def test_each_answered_item_costs_one_edit_and_one_callback_answer(
    harness: Harness,
) -> None:
    phone = await ready(harness, 12)
    await phone.tap("▶️")
    for _ in range(10):
        before = len(harness.telegram.calls)
        await phone.tap("🐶 Dog")
        methods = harness.telegram.methods(before)
        assert methods.count("answerCallbackQuery") == 1
        assert sum(m in SENDS or m in EDITS for m in methods) == 1
        assert len(methods) == 2


async def test_each_picture_is_uploaded_once_and_then_reused_by_file_id(
    harness: Harness,
) -> None:
    project = await harness.project(overlap=2)
    await harness.pictures(project, 3)
    for user_id, name in ((111, "민지"), (222, "영수")):
        phone = await joined(harness, user_id, name)
        await phone.tap("▶️")
        for _ in range(3):
            await phone.tap("🐶 Dog")
    uploads = [c for c in harness.telegram.calls if c.files]
    assert len(uploads) == 3
    async with harness.store.db.read() as conn:
        cursor = await conn.execute("SELECT count(*) FROM media WHERE tg_file_id IS NULL")
        row = await cursor.fetchone()
    assert row is not None and row[0] == 0


async def test_the_last_answer_of_the_day_can_still_be_changed_from_the_thank_you(
    harness: Harness,
) -> None:
    phone = await ready(harness, 2)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐶 Dog")
    assert "2개" in phone.words()
    await phone.tap("↩️")
    assert "2 / 2" in phone.words() and "✅ 🐶 Dog" in phone.buttons()
    await phone.tap("🐱 Cat")
    assert "바꿨어요" in phone.words() and "2개" in phone.words()
    assert [choice for *_, choice, _ in await answers(harness)] == [0, 1]


async def test_tapping_the_saved_answer_again_keeps_it_and_says_so(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("↩️")
    await phone.tap("✅ 🐶 Dog")
    assert "그대로 두었어요" in phone.words() and "바꿨어요" not in phone.words()
    async with harness.store.db.read() as conn:
        cursor = await conn.execute("SELECT changed_at FROM answers")
        assert [tuple(row) for row in await cursor.fetchall()] == [(None,)]


async def test_a_break_taken_while_looking_back_resumes_at_that_answer(harness: Harness) -> None:
    phone = await ready(harness, 4)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐱 Cat")
    await phone.tap("↩️")
    await phone.tap("↩️")
    await phone.tap("☕")
    await phone.tap("▶️ 다시 하기")
    assert "1 / 4" in phone.words() and "✅ 🐶 Dog" in phone.buttons()
    await phone.tap("🐶 Dog")
    assert "3 / 4" in phone.words()


async def test_the_next_day_starts_fresh_from_the_thank_you_button(harness: Harness) -> None:
    await harness.pictures(await harness.project(), 5)
    phone = await joined(harness)
    await days_of(harness, 2)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐶 Dog")
    await phone.tap("▶️")
    assert "오늘 할 일은 다 했어요" in phone.words()
    harness.clock.advance(days=1)
    await phone.tap("▶️")
    assert "1 / 2" in phone.words()


async def test_only_the_newest_message_has_buttons(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    await phone.send("/start")
    await phone.send("hello?")
    await phone.tap("🐶 Dog")
    await phone.tap("☕")
    await phone.send("/start")
    with_buttons = harness.telegram.with_buttons(111)
    assert with_buttons == [phone.screen]
    assert "다시 만나서" in phone.words() and phone.buttons() == ["▶️ 다시 하기"]


async def test_a_picture_id_telegram_no_longer_knows_is_uploaded_again(harness: Harness) -> None:
    phone = await ready(harness, 3)
    async with harness.store.uow() as repo:
        await repo.conn.execute("UPDATE media SET tg_file_id = 'AgACforgotten'")
    await phone.tap("▶️")
    assert "photo" in phone.screen and "1 / 3" in phone.words()
    await phone.tap("🐶 Dog")
    assert "2 / 3" in phone.words()
    async with harness.store.db.read() as conn:
        cursor = await conn.execute("SELECT count(*) FROM media WHERE tg_file_id LIKE 'AgACforg%'")
        row = await cursor.fetchone()
    assert row is not None and row[0] == 1  # the third picture was never shown yet


async def test_reserved_items_count_toward_the_overlap_until_they_are_answered(
    harness: Harness,
) -> None:
    await harness.pictures(await harness.project(overlap=2), 3)
    a = await joined(harness, 111, "A")
    b = await joined(harness, 222, "B")
    c = await joined(harness, 333, "C")
    await a.tap("▶️")
    await a.tap("🐶 Dog")  # A: item 1 answered; items 2 and 3 reserved for A today
    await a.tap("↩️")
    await a.tap("☕")
    await b.tap("▶️")
    for _ in range(3):
        await b.tap("🐶 Dog")  # B: items 1, 2 and 3
    await c.tap("▶️")
    assert "지금은 할 일이 없어요" in c.words()  # every item has two hands already
    await a.tap("▶️ 다시 하기")
    assert "✅ 🐶 Dog" in a.buttons()  # back on item 1, as A left it
    await a.tap("🐶 Dog")  # kept; item 2 is next, still A's
    assert "2 / 3" in a.words()
    await a.tap("🐱 Cat")
    await a.tap("🐱 Cat")
    assert "다 했어요" in a.words()
    async with harness.store.db.read() as conn:
        cursor = await conn.execute("SELECT item_id, count(*) FROM answers GROUP BY item_id")
        counts = dict(tuple(row) for row in await cursor.fetchall())  # type: ignore[misc]
    assert counts == {1: 2, 2: 2, 3: 2}


async def test_a_day_made_small_grows_when_more_work_arrives(harness: Harness) -> None:
    project = await harness.project(overlap=1)
    await harness.pictures(project, 2)
    a = await joined(harness, 111, "A")
    b = await joined(harness, 222, "B")
    await a.tap("▶️")  # both pictures are A's today
    await b.tap("▶️")
    assert "지금은 할 일이 없어요" in b.words()
    await a.tap("🐶 Dog")
    await a.tap("🐶 Dog")
    assert "2개" in a.words()
    await harness.pictures(project, 6)  # 4 new pictures (the first 2 are duplicates)
    await a.tap("▶️")
    assert "3 / 6" in a.words()  # A's day grows to take the new work
    await b.tap("▶️")
    assert "지금은 할 일이 없어요" in b.words()  # ...which is A's now: overlap 1


async def test_the_next_morning_a_typed_word_brings_a_start_button_not_yesterdays_count(
    harness: Harness,
) -> None:
    phone = await ready(harness, 4)
    await days_of(harness, 2)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐶 Dog")
    assert "오늘 2개" in phone.words()
    harness.clock.advance(days=1)
    await phone.send("안녕하세요")
    assert "오늘" not in phone.words() and phone.buttons() == ["▶️ 시작"]
    await phone.tap("▶️")
    assert "1 / 2" in phone.words()
