"""Guardians: the worker's consent (each level, revocation), summaries and alerts gated by it,
and every bad way to use a guardian's link or write to the bot as a guardian."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from tests.harness import Harness, Phone
from tests.test_schedule import at_ticks, count, set_time, worker

GUARDIAN = 500


async def linked(h: Harness, phone: Phone | None = None, name: str = "민지",
                 guardian_id: int = GUARDIAN, guardian: str = "어머니") -> tuple[Phone, Phone]:
    """A worker (joined Monday 2026-11-23, 08:00) and a guardian who opened their link."""
    if phone is None:
        set_time(h, "2026-11-23 08:00")
        phone = await worker(h, name=name)
    mother = h.phone(guardian_id, guardian)
    await mother.join(await h.invite_guardian(guardian, name))
    return phone, mother


async def answer(phone: Phone, times: int) -> None:
    """Start the day's work (if needed) and answer `times` items, 20 seconds apart."""
    screens = [m for m in phone.chat if any(b.startswith(("▶️", "🐶")) for b in phone.buttons(m))]
    start = [b for b in phone.buttons(screens[-1]) if b.startswith("▶️")]
    if start:
        await phone.tap(start[0], screens[-1])
    for _ in range(times):
        phone.h.clock.advance(seconds=20)
        await phone.tap("🐶")


def texts(phone: Phone) -> list[str]:
    return [phone.words(m) for m in phone.chat]


def summaries(phone: Phone) -> list[dict[str, Any]]:
    return [m for m in phone.chat if "photo" in m and "소식이에요" in phone.words(m)]


async def test_nothing_is_shared_before_the_worker_chooses(harness: Harness) -> None:
    phone, mother = await linked(harness)
    assert "민지 님의 보호자로 연결했어요" in mother.words(mother.chat[0])
    ask = phone.screen
    assert "어머니 님이 보호자로 연결했어요" in phone.words(ask)
    assert phone.buttons(ask) == ["📅 일한 날만", "📊 일한 날과 한 양", "🙅 보여 주지 않기"]
    # 👀 is in the worker's own menu now.
    assert ["start", "share"] in harness.telegram.menus.values()
    await at_ticks(harness, "2026-11-23 10:00")
    await answer(phone, 5)
    await at_ticks(harness, "2026-11-29 18:00", "2026-11-30 18:00")  # Sunday, Monday
    assert summaries(mother) == []
    assert len(mother.chat) == 1  # the welcome only
    assert await count(harness, "SELECT count(*) FROM sends") == 0


async def test_days_level_shares_days_and_a_streak_but_never_how_much(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness, days=frozenset({0, 1, 2}))  # works Monday to Wednesday
    phone, mother = await linked(harness, phone)
    await phone.tap("📅 일한 날만")
    assert "✅ 저장했어요: 📅 일한 날만" in texts(phone)
    assert "쉬면" in phone.words()  # alerts are asked on their own
    await phone.tap("🔕 알리지 않기")
    view = phone.screen
    assert "photo" in view and "어머니 님이 받는 소식이에요" in phone.words(view)
    assert "민지 님이 소식을 나누기로 했어요" in mother.words()
    for day in ("2026-11-23", "2026-11-24", "2026-11-25"):
        await at_ticks(harness, f"{day} 10:00")
        await answer(phone, 4)
    await at_ticks(harness, "2026-11-29 17:59", "2026-11-29 18:00", "2026-11-29 18:00:20")
    [summary] = summaries(mother)
    words = mother.words(summary)
    assert "🌱 민지 님의 이번 주 소식이에요." in words
    assert "📅 일한 날: 3일" in words and "🔥 3일 이어서 일했어요." in words
    assert "한 일" not in words and "일한 시간" not in words and "사진" not in words
    assert summary["photo"]  # the chart came with it


async def test_amount_level_adds_items_and_time(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(phone, 6)  # six answers, 20 s apart: 2 minutes
    await at_ticks(harness, "2026-11-29 18:00")
    [summary] = summaries(mother)
    words = mother.words(summary)
    assert "📅 일한 날: 1일" in words
    assert "🖼 한 일: 사진 6장" in words and "⏱ 일한 시간: 2분" in words
    for never in ("%", "정답", "틀", "빠르", "다른"):
        assert never not in words


async def test_the_worker_sees_exactly_what_the_guardian_gets_and_can_stop(
    harness: Harness,
) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(phone, 3)
    await at_ticks(harness, "2026-11-29 18:00")
    [summary] = summaries(mother)
    await phone.send("/share")
    view = phone.screen
    assert "⏱ 일한 시간" in phone.words(view) and "🖼 한 일: 사진 3장" in phone.words(view)
    assert "🙅 그만 보여 주기" in phone.buttons(view)
    # The view holds the guardian's summary word for word, and the same picture.
    assert mother.words(summary) in phone.words(view)
    assert view["photo"][0]["file_unique_id"] == summary["photo"][0]["file_unique_id"]
    await phone.tap("🙅 그만 보여 주기", view)
    assert "멈췄어요" in mother.words()
    await phone.send("/share")
    assert "아무것도 보여 주지 않아요" in phone.words()
    await at_ticks(harness, "2026-12-06 18:00")
    assert len(summaries(mother)) == 1  # nothing after the stop
    async with harness.store.reader() as repo:
        [guardian] = await repo.guardians_of(1)
    assert guardian.share is None and guardian.stopped_at is not None


async def test_a_double_tap_on_a_choice_saves_it_once(harness: Harness) -> None:
    phone, mother = await linked(harness)
    ask = phone.screen
    await phone.tap("📅 일한 날만", ask)
    before = len(phone.chat)
    await phone.tap("📅 일한 날만", ask)  # the same old message, again
    assert len(phone.chat) == before
    answers = [c for c in harness.telegram.calls if c.method == "answerCallbackQuery"]
    assert answers[-1].params.get("text") == t("ko", "stale_saved")
    assert sum("나누기로 했어요" in w for w in texts(mother)) == 1


async def test_a_guardian_never_sees_another_familys_worker(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    minji = await worker(harness, 111, "민지")
    youngsu = await worker(harness, 222, "영수")
    _, mother = await linked(harness, minji, "민지", 500, "어머니")
    _, father = await linked(harness, youngsu, "영수", 600, "아버지")
    await youngsu.tap("📊 일한 날과 한 양")
    await youngsu.tap("🔔 알려 주세요")
    # 민지 chose nothing yet; a stranger and 영수 press 민지's guardian's buttons.
    data = minji.button_data("📊 일한 날과 한 양", minji.chat[-1])
    await youngsu.press(data, minji.chat[-1], user=youngsu.user)
    await harness.phone(999, "X").press(data, minji.chat[-1])
    async with harness.store.reader() as repo:
        [guardian] = await repo.guardians_of(1)
    assert guardian.share is None
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(youngsu, 2)
    await at_ticks(harness, "2026-11-29 18:00")
    assert summaries(mother) == [] and len(summaries(father)) == 1
    assert not any("영수" in w for w in texts(mother))
    assert not any("민지" in w for w in texts(father))


async def test_alerts_only_when_the_worker_agreed(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    minji = await worker(harness, 111, "민지")
    youngsu = await worker(harness, 222, "영수")
    _, mother = await linked(harness, minji, "민지", 500, "어머니")
    _, father = await linked(harness, youngsu, "영수", 600, "아버지")
    await minji.tap("📅 일한 날만")
    await minji.tap("🔔 알려 주세요")
    await youngsu.tap("📅 일한 날만")
    await youngsu.tap("🔕 알리지 않기")
    # Monday to Wednesday pass with no work from either; the alert comes the next evening.
    await at_ticks(harness, "2026-11-25 18:00")
    assert not any("쉬었어요" in w for w in texts(mother))
    await at_ticks(harness, "2026-11-26 18:00", "2026-11-26 18:00:20", "2026-11-27 18:00")
    alerts = [w for w in texts(mother) if w.startswith("🔔")]
    assert alerts == ["🔔 민지 님이 일하는 날에 3일 이어서 쉬었어요.\n안부를 물어봐 주세요."]
    assert not any(w.startswith("🔔") for w in texts(father))


async def test_a_rest_week_still_makes_sense(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-29 18:00")
    [summary] = summaries(mother)
    assert mother.words(summary) == ("🌱 민지 님의 이번 주 소식이에요.\n🌿 이번 주는 쉬었어요.\n"
                                     "다음 주도 따뜻하게 응원해 주세요.")


async def test_a_daily_guardian_hears_every_evening(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await mother.tap("📆 매일")
    assert "✅ 📆 매일 받아요." in texts(mother)
    await phone.tap("📅 일한 날만")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(phone, 2)
    await at_ticks(harness, "2026-11-24 18:00", "2026-11-25 18:00")
    days = [mother.words(m) for m in mother.chat if "photo" in m]
    assert days[0].startswith("🌱 민지 님의 오늘 소식이에요.\n📅 오늘 일했어요.")
    assert days[1].startswith("🌱 민지 님의 오늘 소식이에요.\n🌿 오늘은 쉬었어요.")


async def test_a_summary_survives_a_restart_and_is_never_sent_twice(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📅 일한 날만")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-29 18:00")
    await harness.restart()
    await at_ticks(harness, "2026-11-29 18:00:20", "2026-11-29 19:00")
    assert len(summaries(mother)) == 1


async def test_the_worker_opening_their_guardians_link_links_nothing(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness)
    code = await harness.invite_guardian("어머니", "민지")
    await phone.join(code)
    assert "이 링크는 보호자용이에요" in phone.words()
    assert "▶️" in " ".join(phone.buttons())  # their work stays right there
    mother = harness.phone(GUARDIAN)
    await mother.join(code)  # the link still works for the guardian
    assert "보호자로 연결했어요" in mother.words()


async def test_a_used_or_expired_guardian_link_links_nothing(harness: Harness) -> None:
    await linked(harness)
    code = await harness.invite_guardian("아버지", "민지", days=1)
    second = harness.phone(600)
    await second.join(code)
    third = harness.phone(700)
    await third.join(code)  # used already
    assert third.words() == t("ko", "invite_invalid")
    late = await harness.invite_guardian("이모", "민지", days=1)
    harness.clock.advance(days=1, seconds=1)
    await harness.phone(800).join(late)
    assert harness.telegram.last_message(800)["text"] == t("ko", "invite_invalid")
    async with harness.store.reader() as repo:
        joined = [g.name for g in await repo.guardians_of(1) if g.joined]
    assert joined == ["어머니", "아버지"]


async def test_a_guardian_sending_commands_is_refused_politely(harness: Harness) -> None:
    phone, mother = await linked(harness)
    before = await count(harness, "SELECT count(*) FROM answers") + await count(
        harness, "SELECT count(*) FROM workers WHERE paused_at IS NOT NULL")
    for command in ("/workers", "/pause 민지", "/review", "/stats", "/share", "hello"):
        await mother.send(command)
        assert mother.words() == ("이 대화에서는 민지 님의 소식만 받아요.\n"
                                  "궁금한 점은 담당 선생님께 물어봐 주세요.")
    after = await count(harness, "SELECT count(*) FROM answers") + await count(
        harness, "SELECT count(*) FROM workers WHERE paused_at IS NOT NULL")
    assert after == before
    # A worker's button pressed by the guardian does nothing either.
    await mother.press(phone.button_data("📅 일한 날만"), phone.screen, user=mother.user)
    async with harness.store.reader() as repo:
        [guardian] = await repo.guardians_of(1)
    assert guardian.share is None


async def test_a_worker_who_joins_after_their_guardian_is_asked_then(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    await harness.pictures(await harness.project(), 10)
    code = await harness.invite("민지")
    mother = harness.phone(GUARDIAN)
    await mother.join(await harness.invite_guardian("어머니", "민지"))
    phone = harness.phone(111)
    await phone.join(code)
    assert any("어머니 님이 보호자로 연결했어요" in w for w in texts(phone))
    harness.clock.advance(minutes=1)
    assert timedelta(0) < timedelta(minutes=1)


async def test_a_guardian_who_blocked_the_bot_gets_nothing_until_they_write_again(
    harness: Harness,
) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📅 일한 날만")
    await phone.tap("🔕 알리지 않기")
    harness.telegram.blocked.add(GUARDIAN)
    await at_ticks(harness, "2026-11-29 18:00", "2026-12-06 18:00")
    assert await count(harness, "SELECT count(*) FROM sends WHERE state = 'blocked'") == 1
    harness.telegram.blocked.discard(GUARDIAN)
    await mother.send("안녕하세요")
    await at_ticks(harness, "2026-12-13 18:00")
    assert len(summaries(mother)) == 1


async def test_an_older_view_cannot_undo_a_later_choice(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await phone.send("/share")
    old = phone.screen
    await phone.send("/share")
    await phone.tap("🙅 그만 보여 주기", phone.screen)
    await phone.tap("📅 일한 날만", old)  # the earlier view's button
    assert t("ko", "stale") in [c.params.get("text") for c in harness.telegram.calls
                                if c.method == "answerCallbackQuery"]
    async with harness.store.reader() as repo:
        [guardian] = await repo.guardians_of(1)
    assert guardian.share is None
    assert sum("나누기로 했어요" in w for w in texts(mother)) == 1


async def test_a_guardians_phone_never_becomes_a_worker(harness: Harness) -> None:
    _, mother = await linked(harness)
    await mother.join(await harness.invite("영수"))
    async with harness.store.reader() as repo:
        assert await repo.worker_by_tg(GUARDIAN) is None
    assert "소식" in mother.words()  # still their guardian's welcome


async def test_a_new_phone_for_the_guardian_starts_from_nothing_shared(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    other = harness.phone(777)
    await other.join(await harness.invite_guardian("어머니", "민지"))
    async with harness.store.reader() as repo:
        [guardian] = await repo.guardians_of(1)
    assert guardian.tg_user_id == 777 and guardian.share is None
    assert "어머니 님이 보호자로 연결했어요" in phone.words()  # asked again
    await at_ticks(harness, "2026-11-29 18:00")
    assert summaries(other) == [] and summaries(mother) == []


async def test_work_while_sharing_was_stopped_is_never_shown(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await phone.send("/share")
    await phone.tap("🙅 그만 보여 주기")
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(phone, 4)  # Tuesday, not shared
    await at_ticks(harness, "2026-11-28 09:00")
    await phone.send("/share")
    await phone.tap("📊 일한 날과 한 양")  # Saturday: shared again
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-29 18:00")
    [summary] = summaries(mother)
    assert "🌿 이번 주는 쉬었어요." in mother.words(summary)


async def test_paused_days_are_not_missed_days(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📅 일한 날만")
    await phone.tap("🔔 알려 주세요")
    coach = harness.phone(900)
    await coach.join(await harness.invite_coordinator("지수"))
    await coach.send("/pause 민지")
    await at_ticks(harness, "2026-11-26 07:00")
    await coach.send("/resume 민지")  # Thursday morning, after three days off sick
    await at_ticks(harness, "2026-11-26 18:00", "2026-11-27 18:00")
    assert not any(w.startswith("🔔") for w in texts(mother))


async def test_a_summary_after_a_restart_covers_the_week_that_was_due(harness: Harness) -> None:
    phone, mother = await linked(harness)
    await phone.tap("📅 일한 날만")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-23 10:00")
    await answer(phone, 2)
    await at_ticks(harness, "2026-11-29 12:00")
    await at_ticks(harness, "2026-11-30 05:00")  # down over Sunday 18:00, back within 12 h
    [summary] = summaries(mother)
    assert "📅 일한 날: 1일" in mother.words(summary)


async def test_a_guardian_far_ahead_hears_about_the_workers_finished_day(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness, tz="America/New_York")
    mother = harness.phone(GUARDIAN)
    await mother.join(await harness.invite_guardian("어머니", "민지"))
    await mother.tap("📆 매일")
    await phone.tap("📅 일한 날만")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-24 10:00", zone=ZoneInfo("America/New_York"))
    await answer(phone, 2)
    # Seoul 18:00 on the 25th is 04:00 in New York: the 24th there is finished.
    await at_ticks(harness, "2026-11-25 18:00")
    assert any("📅 오늘 일했어요." in mother.words(m) for m in summaries(mother))
