"""Coordinators in Telegram: joining, /workers, /pause and /resume, and who may use them."""

from __future__ import annotations

from tests.harness import Harness, Phone


async def coach(h: Harness, user_id: int = 900, language: str = "ko") -> Phone:
    phone = h.phone(user_id, "Coach", language)
    await phone.join(await h.invite_coordinator("지수"))
    return phone


async def test_a_coordinator_joins_by_link_and_sees_what_they_can_do(harness: Harness) -> None:
    phone = await coach(harness)
    assert "지수 님, 코디네이터로 등록했어요" in phone.words()
    assert "/pause 이름" in phone.words()
    await phone.send("hello")
    assert "/workers" in phone.words()


async def test_a_coordinator_link_works_once(harness: Harness) -> None:
    code = await harness.invite_coordinator("지수")
    first, second = harness.phone(900), harness.phone(901)
    await first.join(code)
    await second.join(code)
    assert "이 링크는 쓸 수 없어요" in second.words()
    async with harness.store.reader() as repo:
        assert await repo.coordinator_by_tg(901) is None


async def test_workers_and_strangers_cannot_pause_anyone(harness: Harness) -> None:
    await harness.pictures(await harness.project(), 3)
    worker = harness.phone(111)
    await worker.join(await harness.invite("민지"))
    stranger = harness.phone(555)
    await stranger.send("/pause 민지")
    assert "초대받은 분만 쓸 수 있어요" in stranger.words()
    await worker.send("/pause 민지")
    assert "아래 버튼을 눌러서 답해 주세요" in worker.words()
    async with harness.store.reader() as repo:
        found = await repo.worker_by_name("민지")
    assert found is not None and not found.paused


async def test_pause_needs_a_name_that_exists(harness: Harness) -> None:
    phone = await coach(harness, language="en")
    await phone.send("/pause")
    assert "Please add the worker's name" in phone.words()
    await phone.send("/resume 아무개")
    assert "There is no worker called 아무개" in phone.words()
    await phone.send("/workers")
    assert phone.words() == "There are no workers yet."


async def test_workers_lists_schedule_and_status(harness: Harness) -> None:
    await harness.project()
    await harness.invite("영수")
    worker = harness.phone(111)
    await worker.join(await harness.invite("민지"))
    phone = await coach(harness)
    await phone.send("/pause 민지")
    await phone.send("/workers")
    assert phone.words().splitlines() == [
        "민지 · animals · mon-fri 10:00 · 쉬는 중",
        "영수 · animals · mon-fri 10:00 · 가입 전",
    ]
    await phone.send("/resume 민지")
    await phone.send("/resume 민지")
    assert phone.words() == "민지 님은 쉬고 있지 않아요."


async def test_a_worker_can_also_be_a_coordinator(harness: Harness) -> None:
    await harness.pictures(await harness.project(), 3)
    phone = harness.phone(111)
    await phone.join(await harness.invite("민지"))
    await phone.join(await harness.invite_coordinator("민지 선생님"))
    assert "코디네이터로 등록했어요" in phone.words()
    await phone.send("/workers")
    assert "민지 · animals" in phone.words()
    await phone.tap("▶️")
    assert "1 / 3" in phone.words()


async def test_a_long_list_of_workers_fits_in_one_message(harness: Harness) -> None:
    await harness.project()
    for i in range(150):
        await harness.invite(f"작업자 {i:03d}")
    phone = await coach(harness)
    await phone.send("/workers")
    lines = phone.words().splitlines()
    assert len(phone.words()) < 4096
    assert lines[0].startswith("작업자 000 · animals")
    assert lines[-1].startswith("그 밖에") and "haru worker list" in lines[-1]
    shown = len(lines) - 1
    assert f"{150 - shown}명" in lines[-1]
