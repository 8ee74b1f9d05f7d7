"""Bad input on Telegram: a short friendly notice, nothing recorded, and the bot keeps working."""

from __future__ import annotations

from tests.harness import Harness
from tests.test_bot_loop import answers, joined, ready


async def test_a_stranger_gets_one_polite_message_and_nothing_more(harness: Harness) -> None:
    stranger = harness.phone(999, "Eve", "en")
    await stranger.send("hello")
    assert len(stranger.chat) == 1
    assert "coordinator" in stranger.words() and stranger.buttons() == []
    await stranger.send("/start")
    await stranger.send("/whatever")
    for _ in range(5):
        await stranger.send("spam")
    assert len(stranger.chat) == 3  # then silence, so nobody is flooded
    async with harness.store.uow() as repo:
        assert await repo.worker_by_tg(999) is None


async def test_an_unknown_or_malformed_invite_code_links_nothing(harness: Harness) -> None:
    await harness.project()
    phone = harness.phone(555)
    for code in ("nope", "A" * 22, "../../etc"):
        await phone.join(code)
        assert "새 링크" in phone.words()
    for _ in range(5):
        await phone.join("x" * 200)
    assert len(phone.chat) == 3  # then silence: a stranger guessing codes is not answered
    async with harness.store.uow() as repo:
        assert await repo.worker_by_tg(555) is None


async def test_an_invite_is_single_use(harness: Harness) -> None:
    await harness.project()
    code = await harness.invite("민지")
    await harness.phone(111).join(code)
    other = harness.phone(222)
    await other.join(code)
    assert "새 링크" in other.words()
    async with harness.store.uow() as repo:
        worker = await repo.worker_by_name("민지")
        assert worker is not None and worker.tg_user_id == 111
        assert await repo.worker_by_tg(222) is None


async def test_an_invite_used_again_by_its_own_worker_just_says_welcome_back(
    harness: Harness,
) -> None:
    await harness.project()
    code = await harness.invite("민지")
    phone = harness.phone(111)
    await phone.join(code)
    await phone.join(code)
    assert "다시 만나서" in phone.words() and phone.buttons() == ["▶️ 시작"]


async def test_an_expired_invite_links_nothing(harness: Harness) -> None:
    await harness.project()
    code = await harness.invite("민지", days=14)
    harness.clock.advance(days=14, seconds=1)
    phone = harness.phone(111)
    await phone.join(code)
    assert "새 링크" in phone.words()
    async with harness.store.uow() as repo:
        assert await repo.worker_by_tg(111) is None


async def test_an_account_of_one_worker_cannot_take_another_workers_invite(
    harness: Harness,
) -> None:
    await harness.project()
    phone = await joined(harness, 111, "민지")
    await phone.join(await harness.invite("영수"))
    assert "민지 님으로 등록" in phone.words()
    async with harness.store.uow() as repo:
        other = await repo.worker_by_name("영수")
        assert other is not None and other.tg_user_id is None


async def test_a_new_invite_moves_a_worker_to_a_new_phone(harness: Harness) -> None:
    await harness.project()
    await joined(harness, 111, "민지")
    new_phone = harness.phone(112)
    await new_phone.join(await harness.invite("민지"))
    assert "반가워요" in new_phone.words()
    async with harness.store.uow() as repo:
        assert await repo.worker_by_tg(111) is None
        worker = await repo.worker_by_tg(112)
        assert worker is not None and worker.name == "민지"


async def test_a_double_tap_records_one_answer(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    screen = phone.screen
    await phone.tap("🐶 Dog", screen)
    await phone.tap("🐱 Cat", screen)  # the same, older drawing of the message
    saved = await answers(harness)
    assert len(saved) == 1 and saved[0][2] == 0
    assert "2 / 3" in phone.words()


async def test_a_tap_on_an_old_message_gets_a_friendly_notice_and_loses_its_buttons(
    harness: Harness,
) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    old_work = phone.screen
    await phone.send("what now?")  # the item is drawn anew below; the old copy loses its buttons
    assert not harness.telegram.messages(111)[old_work["message_id"] - 1].get("reply_markup")
    before = len(harness.telegram.calls)
    await phone.tap("🐶 Dog", old_work)  # as the phone showed it before
    assert await answers(harness) == []
    notice = harness.telegram.calls[before].params.get("text")
    assert notice == "지난 버튼이에요. 맨 아래 메시지를 봐 주세요."
    await phone.tap("🐶 Dog")
    assert len(await answers(harness)) == 1 and "2 / 3" in phone.words()


async def test_a_stale_old_message_keyboard_is_taken_off_when_tapped(harness: Harness) -> None:
    phone = await ready(harness, 3)
    welcome = phone.screen
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    harness.telegram.chats[111][welcome["message_id"]] = welcome  # as if its edit was lost
    before = len(harness.telegram.calls)
    await phone.tap("▶️", welcome)
    assert harness.telegram.methods(before) == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert "2 / 3" in phone.words() and len(await answers(harness)) == 1


async def test_a_button_replayed_from_another_account_does_nothing(harness: Harness) -> None:
    project = await harness.project()
    await harness.pictures(project, 3)
    owner = await joined(harness, 111, "민지")
    other = await joined(harness, 222, "영수")
    stranger = harness.phone(999, "Eve")
    await owner.tap("▶️")
    data = owner.button_data("🐶 Dog", owner.screen)
    await other.press(data, owner.screen, user=other.user)
    await stranger.press(data, owner.screen, user=stranger.user)
    assert await answers(harness) == []
    await owner.tap("🐱 Cat")
    assert [(name, choice) for name, _, choice, _ in await answers(harness)] == [("민지", 1)]


async def test_altered_or_foreign_callback_data_is_refused_kindly(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    screen = phone.screen
    seq_item = phone.button_data("🐶 Dog", screen).rsplit(".", 1)[0]
    for data in (f"{seq_item}.7", f"{seq_item}.3", "a.1.999999.0", "hello", "s.-1",
                 "a.1.2.0" + "0" * 60, "", "🐶"):
        await phone.press(data, screen)
    assert await answers(harness) == []
    await phone.tap("🐶 Dog", phone.screen)
    assert len(await answers(harness)) == 1


async def test_typed_text_and_unknown_commands_get_a_gentle_pointer(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    for text in ("개", "/help", "/stats"):
        await phone.send(text)
        assert phone.words().startswith("아래 버튼을 눌러서 답해 주세요.")
        assert "1 / 3" in phone.words() and phone.buttons()[0] == "🐶 Dog"
    assert await answers(harness) == []


async def test_only_the_newest_invite_of_a_worker_works(harness: Harness) -> None:
    await harness.project()
    first = await harness.invite("민지")
    second = await harness.invite("민지")
    phone = harness.phone(111)
    await phone.join(first)
    assert "새 링크" in phone.words()
    await phone.join(second)
    assert "반가워요" in phone.words()


async def test_a_worker_opening_their_own_new_link_uses_it_up(harness: Harness) -> None:
    await harness.project()
    phone = await joined(harness, 111, "민지")
    code = await harness.invite("민지")
    await phone.join(code)
    assert "다시 만나서" in phone.words()
    other = harness.phone(222, "Eve")
    await other.join(code)
    async with harness.store.uow() as repo:
        worker = await repo.worker_by_name("민지")
    assert worker is not None and worker.tg_user_id == 111


async def test_a_worker_with_a_dead_link_gets_their_screen_back(harness: Harness) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    await phone.join("A" * 22)
    assert phone.words().startswith("이 링크는 쓸 수 없어요")
    assert "1 / 3" in phone.words() and phone.buttons()[0] == "🐶 Dog"
    assert len(harness.telegram.with_buttons(111)) == 1


async def test_a_worker_moved_to_another_project_mid_item_cannot_answer_the_old_screen(
    harness: Harness,
) -> None:
    phone = await ready(harness, 3)
    mood = await harness.project("mood", ("😊 Good", "😞 Bad"), question="How is it?")
    await harness.sentences(mood, ["The tea is warm."])
    await phone.tap("▶️")
    old = phone.screen
    await harness.invite("민지", "mood")
    await phone.tap("🐱 Cat", old)
    assert await answers(harness) == []
    await phone.send("/start")
    await phone.tap("▶️")
    assert "The tea is warm." in phone.words() and "😊 Good" in phone.buttons()
    await phone.tap("😞 Bad")
    assert [(choice, ns) for *_, choice, ns in await answers(harness)] == [(1, 0)]


async def test_a_worker_on_a_new_phone_continues_there_and_the_old_phone_is_refused(
    harness: Harness,
) -> None:
    phone = await ready(harness, 3)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    old = phone.screen
    new_phone = harness.phone(112)
    await new_phone.join(await harness.invite("민지"))
    assert "반가워요" in new_phone.words() and "2 / 3" in new_phone.words()
    before = len(harness.telegram.calls)
    await phone.tap("🐱 Cat", old)
    assert harness.telegram.methods(before) == ["answerCallbackQuery"]
    assert len(await answers(harness)) == 1
    await new_phone.tap("🐱 Cat")
    assert "3 / 3" in new_phone.words()
    assert all(c.params.get("chat_id") in (None, 112) for c in harness.telegram.calls[before:])
