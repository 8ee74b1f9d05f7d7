"""The daily schedule, driven through the real Application with a clock the test controls."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.offline import SENDS, flood
from tasks.schedule import parse_clock, parse_days
from tasks.workers import ScheduleChange, change_schedule
from tests.harness import Harness, Phone

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
MORNING = "좋은 아침이에요, 민지 님.\n오늘은 사진 20장이에요.\n15분쯤 걸려요."


def set_time(h: Harness, when: str, zone: ZoneInfo = SEOUL) -> None:
    """Set the clock to a local time, e.g. "2026-11-23 09:00" (a Monday)."""
    h.clock.now = datetime.fromisoformat(when).replace(tzinfo=zone)


async def worker(h: Harness, user_id: int = 111, name: str = "민지", pictures: int = 40,
                 **schedule: Any) -> Phone:
    """A worker on a project of pictures, joined at the current time, with a schedule."""
    async with h.store.reader() as repo:
        exists = await repo.project_by_name("animals") is not None
    if not exists:
        await h.pictures(await h.project(), pictures)
    phone = h.phone(user_id, name)
    await phone.join(await h.invite(name, schedule=ScheduleChange(**schedule)))
    return phone


def notices(phone: Phone) -> list[str]:
    """The messages the bot sent on its own: the day's batch and reminders."""
    return [phone.words(m) for m in phone.chat
            if "오늘은 사진" in phone.words(m) or "기다리고 있어요" in phone.words(m)]


async def count(h: Harness, sql: str) -> int:
    async with h.store.db.read() as conn:
        row = await (await conn.execute(sql)).fetchone()
    return int(row[0]) if row else 0


async def at_ticks(h: Harness, *times: str, zone: ZoneInfo = SEOUL) -> None:
    for when in times:
        set_time(h, when, zone)
        await h.tick()


# --- the day's batch -------------------------------------------------------------------------


async def test_the_batch_goes_out_at_the_start_time_with_one_easy_message(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 08:30")  # Monday
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-23 09:00", "2026-11-23 09:59:59")
    assert notices(phone) == []
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 10:00:20", "2026-11-23 11:00")
    assert notices(phone) == [MORNING]
    assert phone.buttons() == ["▶️ 시작"]
    await phone.tap("▶️")
    assert "1 / 20" in phone.words()


async def test_no_batch_on_a_day_off_and_one_on_each_working_day(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness, days=parse_days("mon,wed"))
    for day in range(23, 30):  # Monday to Sunday
        await at_ticks(harness, f"2026-11-{day} 10:00", f"2026-11-{day} 18:00")
    assert len(notices(phone)) == 2
    async with harness.store.db.read() as conn:
        rows = await (await conn.execute("SELECT day FROM batches ORDER BY day")).fetchall()
    assert [r[0] for r in rows] == ["2026-11-23", "2026-11-25"]


async def test_a_start_on_a_day_off_says_when_the_next_work_comes(harness: Harness) -> None:
    set_time(harness, "2026-11-28 10:00")  # Saturday
    phone = await worker(harness)
    await phone.tap("▶️")
    assert "오늘은 쉬는 날이에요" in phone.words()
    assert "월요일 10:00" in phone.words()
    assert await count(harness, "SELECT count(*) FROM batches") == 0


async def test_the_days_of_two_time_zones_roll_over_at_their_own_midnights(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 08:00")  # Seoul Monday 08:00 = New York Sunday 18:00
    seoul = await worker(harness, 111, "민지", days=parse_days("daily"))
    york = await worker(harness, 222, "Tom", days=parse_days("daily"), tz="America/New_York")
    await at_ticks(harness, "2026-11-23 10:00")  # Seoul Monday 10:00; New York Sunday 20:00
    assert len(notices(seoul)) == 1 and notices(york) == []  # Tom's Sunday evening
    await at_ticks(harness, "2026-11-23 10:00", zone=NEW_YORK)  # Seoul Tuesday 00:00
    async with harness.store.db.read() as conn:
        rows = await (await conn.execute(
            "SELECT w.name, b.day, b.ends_at FROM batches b JOIN workers w ON w.id = b.worker_id"
            " ORDER BY b.id")).fetchall()
    assert [tuple(r) for r in rows] == [
        ("민지", "2026-11-23", "2026-11-23T15:00:00+00:00"),  # Seoul midnight in UTC
        ("Tom", "2026-11-23", "2026-11-24T05:00:00+00:00"),  # New York midnight in UTC
    ]
    # Seoul's Monday is over: what 민지 did not do is free again; Tom's day goes on.
    assert await count(harness, "SELECT count(*) FROM reservations r JOIN workers w"
                       " ON w.id = r.worker_id WHERE w.name = '민지'") == 0
    assert await count(harness, "SELECT count(*) FROM reservations") == 20
    await at_ticks(harness, "2026-11-24 10:00")  # Seoul Tuesday
    assert len(notices(seoul)) == 2


@pytest.mark.parametrize("moment", ["before", "planned", "after"])
async def test_a_restart_around_the_start_time_sends_exactly_one_batch(
    harness: Harness, moment: str
) -> None:
    set_time(harness, "2026-11-23 09:59")
    phone = await worker(harness)
    if moment == "before":
        await harness.restart()
    set_time(harness, "2026-11-23 10:00")
    if moment == "planned":  # the batch was reserved; the bot stopped before sending
        await harness.app.bot_data["haru"].daily.plan(harness.clock())  # type: ignore[union-attr]
        await harness.restart()
    else:
        await harness.tick()
    if moment == "after":
        await harness.restart()
    await at_ticks(harness, "2026-11-23 10:00:20", "2026-11-23 12:00")
    assert notices(phone) == [MORNING]
    assert await count(harness, "SELECT count(*) FROM batches") == 1


async def test_a_restart_in_the_middle_of_sending_never_sends_twice(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    set_time(harness, "2026-11-23 10:00")
    haru = harness.app.bot_data["haru"]  # type: ignore[union-attr]
    await haru.daily.plan(harness.clock())
    claimed = await haru.daily.claim(harness.clock(), 10)  # handed to Telegram, then a crash
    assert len(claimed) == 1
    await harness.restart()
    await at_ticks(harness, "2026-11-23 10:01", "2026-11-23 12:00")
    assert notices(phone) == []  # it may have arrived: it is not sent again...
    assert await count(harness, "SELECT count(*) FROM notices WHERE state = 'uncertain'") == 1
    await phone.send("안녕하세요")  # ...and the worker's next word brings the day's work
    await phone.tap("▶️")
    assert "1 / 20" in phone.words()


async def test_two_ticks_at_once_even_from_two_processes_send_one_batch(
    harness: Harness, tmp_path: Path
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    other = Harness(harness.db_path)  # a second bot process on the same database
    other.telegram, other.clock = harness.telegram, harness.clock
    await other.start()
    try:
        set_time(harness, "2026-11-23 10:00")
        await asyncio.gather(harness.tick(), other.tick(), harness.tick(), other.tick())
    finally:
        await other.stop()
    assert notices(phone) == [MORNING]


async def test_a_tick_that_comes_late_still_sends_the_days_batch(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-23 12:00")  # the bot was down from 09:30 to 12:00
    assert notices(phone) == ["안녕하세요, 민지 님.\n오늘은 사진 20장이에요.\n15분쯤 걸려요."]


async def test_a_day_that_ended_while_the_bot_was_down_is_not_sent(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-24 09:00")  # down all Monday, back Tuesday morning
    assert notices(phone) == []
    await at_ticks(harness, "2026-11-24 10:00")
    assert len(notices(phone)) == 1
    async with harness.store.db.read() as conn:
        rows = await (await conn.execute("SELECT day FROM batches")).fetchall()
    assert [r[0] for r in rows] == ["2026-11-24"]


async def test_catching_up_after_downtime_sends_today_only_once(harness: Harness) -> None:
    set_time(harness, "2026-11-20 09:00")  # Friday
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-25 15:00")  # back on Wednesday afternoon
    await at_ticks(harness, "2026-11-25 15:00:20", "2026-11-25 23:59")
    assert len(notices(phone)) == 1
    async with harness.store.db.read() as conn:
        rows = await (await conn.execute("SELECT day FROM batches")).fetchall()
    assert [r[0] for r in rows] == ["2026-11-25"]


async def test_a_worker_who_joins_after_the_start_time_gets_the_next_days_batch(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 14:00")
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-23 14:01")
    assert notices(phone) == []  # today's work is the ▶️ under the welcome
    await at_ticks(harness, "2026-11-24 10:00")
    assert len(notices(phone)) == 1


# --- the end of the day ----------------------------------------------------------------------


async def test_unfinished_items_go_back_to_the_pool_at_the_end_of_the_day(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    await harness.pictures(await harness.project(overlap=1), 3)
    first = await worker(harness, 111, "민지")
    second = await worker(harness, 222, "영수", start=parse_clock("10:30"))
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 10:30")
    assert "오늘은 사진 3장이에요" in first.words()
    assert notices(second) == [] and "오늘은" not in second.words()  # nothing was left
    await first.tap("▶️")
    await first.tap("🐶 Dog")  # 1 of 3; the other two are still 민지's today
    await second.tap("▶️")
    assert "지금은 할 일이 없어요" in second.words()
    await at_ticks(harness, "2026-11-24 00:00:10")  # 민지's day is over
    assert await count(harness, "SELECT sum(n_reserved) FROM items") == 0
    await second.tap("▶️")
    assert "1 / 2" in second.words()
    # 민지 comes back after midnight: her tap is saved, and she is thanked, not told off.
    await first.tap("🐱 Cat")
    assert "2개 했어요" in first.words() and "오늘은 여기까지예요" in first.words()
    assert await count(harness, "SELECT count(*) FROM answers WHERE worker_id = 1") == 2


async def test_the_next_morning_starts_fresh(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness, batch=3)
    await at_ticks(harness, "2026-11-23 10:00")
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await at_ticks(harness, "2026-11-24 10:00")
    assert phone.words() == "좋은 아침이에요, 민지 님.\n오늘은 사진 3장이에요.\n2분쯤 걸려요."
    assert harness.telegram.with_buttons(111) == [phone.screen]  # yesterday's buttons went
    await phone.tap("▶️")
    assert "1 / 3" in phone.words()


# --- reminders, pauses, and people who cannot be reached ---------------------------------------


async def test_one_reminder_when_asked_for_and_the_work_was_not_started(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness, reminder=parse_clock("14:00"))
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 13:59", "2026-11-23 14:00",
                   "2026-11-23 14:00:20", "2026-11-23 18:00")
    assert notices(phone) == [MORNING, "민지 님, 오늘 일이 기다리고 있어요.\n"
                                       "준비되면 ▶️ 시작을 눌러 주세요."]
    assert harness.telegram.with_buttons(111) == [phone.screen]
    await phone.tap("▶️")
    assert "1 / 20" in phone.words()


async def test_no_reminder_once_the_work_has_started(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness, reminder=parse_clock("14:00"))
    await at_ticks(harness, "2026-11-23 10:00")
    await phone.tap("▶️")
    await phone.tap("☕")
    await at_ticks(harness, "2026-11-23 14:00", "2026-11-23 15:00")
    assert notices(phone) == [MORNING]
    assert "쉬어요" in phone.words()


async def test_no_reminder_without_asking(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    before = len(phone.chat)
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 14:00", "2026-11-23 20:00",
                   "2026-11-23 23:59")
    assert len(phone.chat) == before + 1


async def test_a_paused_worker_gets_no_batch_and_no_reminder(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness, reminder=parse_clock("14:00"))
    coach = harness.phone(900, "Coach")
    await coach.join(await harness.invite_coordinator("지수"))
    assert "코디네이터로 등록했어요" in coach.words()
    await coach.send("/pause 민지")
    assert coach.words() == "민지 님을 쉬게 했어요.\n일과 알림을 보내지 않아요."
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 14:00", "2026-11-24 10:00")
    assert notices(phone) == []
    await phone.tap("▶️")
    assert "쉬는 기간이에요" in phone.words()
    set_time(harness, "2026-11-24 11:00")
    await coach.send("/resume 민지")
    assert "다음 일은 수요일 10:00에 보내요" in coach.words()
    await at_ticks(harness, "2026-11-24 14:00", "2026-11-25 10:00")
    assert notices(phone) == [MORNING]


async def test_a_worker_paused_after_planning_is_not_sent_the_message(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    set_time(harness, "2026-11-23 10:00")
    haru = harness.app.bot_data["haru"]  # type: ignore[union-attr]
    await haru.daily.plan(harness.clock())
    async with harness.store.uow() as repo:
        from tasks.workers import pause_worker
        await pause_worker(repo, "민지", harness.clock())
    await harness.tick()
    assert notices(phone) == []


async def test_a_worker_who_blocked_the_bot_is_marked_reported_and_not_retried(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    coach = harness.phone(900, "Coach")
    await coach.join(await harness.invite_coordinator("지수"))
    harness.telegram.blocked.add(111)
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 10:01")
    assert notices(phone) == []
    assert "⚠️ 민지 님에게 메시지를 보낼 수 없어요" in coach.words()
    alerts = [m for m in coach.chat if "⚠️" in coach.words(m)]
    sends = len([c for c in harness.telegram.calls if c.method in SENDS
                 and int(c.params["chat_id"]) == 111])
    await at_ticks(harness, "2026-11-24 10:00", "2026-11-25 10:00")
    assert len([c for c in harness.telegram.calls if c.method in SENDS
                and int(c.params["chat_id"]) == 111]) == sends  # never tried again
    assert len([m for m in coach.chat if "⚠️" in coach.words(m)]) == len(alerts) == 1
    await coach.send("/workers")
    assert "연락 안 됨" in coach.words()
    # The worker unblocks the bot and writes: work comes again.
    harness.telegram.blocked.discard(111)
    await phone.send("/start")
    await at_ticks(harness, "2026-11-26 10:00")
    assert len(notices(phone)) == 1


async def test_a_send_that_never_reached_telegram_is_retried_once_it_can(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    cut = NetworkError("httpx.ConnectError: connection refused")
    cut.__cause__ = httpx.ConnectError("connection refused")
    harness.telegram.cut_next["sendMessage"] = (cut, False)
    await at_ticks(harness, "2026-11-23 10:00")
    assert notices(phone) == []
    await at_ticks(harness, "2026-11-23 10:00:02")  # backing off: not yet
    assert notices(phone) == []
    await at_ticks(harness, "2026-11-23 10:00:06", "2026-11-23 10:01")
    assert notices(phone) == [MORNING]


async def test_a_send_that_timed_out_after_reaching_telegram_is_not_sent_again(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    timeout = TimedOut()
    timeout.__cause__ = httpx.ReadTimeout("read timed out")
    harness.telegram.cut_next["sendMessage"] = (timeout, True)
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 10:05", "2026-11-23 12:00")
    assert notices(phone) == [MORNING]  # it arrived once, and only once
    await phone.tap("▶️")
    assert "1 / 20" in phone.words()


async def test_flood_control_is_waited_out(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness)
    harness.telegram.fail_next["sendMessage"] = flood(30)
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 10:00:20")
    assert notices(phone) == []
    await at_ticks(harness, "2026-11-23 10:00:31")
    assert notices(phone) == [MORNING]


# --- how much, and how long ------------------------------------------------------------------


async def test_fewer_items_left_than_the_batch_size_says_the_real_number(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness, pictures=3)
    await at_ticks(harness, "2026-11-23 10:00")
    assert "오늘은 사진 3장이에요.\n2분쯤 걸려요." in phone.words()
    await phone.tap("▶️")
    assert "1 / 3" in phone.words()


async def test_no_items_left_means_no_message(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    await harness.project()
    phone = await worker(harness)
    before = len(phone.chat)
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-23 14:00")
    assert len(phone.chat) == before


async def test_sentences_are_called_sentences(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    await harness.sentences(await harness.project(), [f"문장 {i}" for i in range(5)])
    phone = await worker(harness)
    await at_ticks(harness, "2026-11-23 10:00")
    assert "오늘은 글 5개예요." in phone.words()


async def test_the_estimate_follows_the_workers_own_pace(harness: Harness) -> None:
    set_time(harness, "2026-11-23 09:00")
    phone = await worker(harness, pictures=60)
    await phone.tap("▶️")
    for _ in range(20):
        harness.clock.advance(seconds=12)  # 12 s an item, much quicker than the default 45 s
        await phone.tap("🐶 Dog")
    await at_ticks(harness, "2026-11-24 10:00")
    assert "오늘은 사진 20장이에요.\n4분쯤 걸려요." in phone.words()


# --- found by review: schedules that change, databases from before schedules ------------------


async def test_a_time_zone_change_mid_day_sends_no_second_batch(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness, days=parse_days("daily"), batch=5)
    await at_ticks(harness, "2026-11-23 10:00")  # Seoul Monday: the day's batch
    set_time(harness, "2026-11-23 11:00")  # = New York Sunday 21:00
    async with harness.store.uow() as repo:
        await change_schedule(repo, "민지", ScheduleChange(tz="America/New_York"),
                              harness.clock())
    await at_ticks(harness, "2026-11-23 11:00:20")
    await at_ticks(harness, "2026-11-23 10:00", "2026-11-24 10:00", zone=NEW_YORK)
    async with harness.store.db.read() as conn:
        rows = await (await conn.execute("SELECT day FROM batches ORDER BY id")).fetchall()
    # 2026-11-23 had its batch (in Seoul); New York's next date is the 24th.
    assert [r[0] for r in rows] == ["2026-11-23", "2026-11-24"]
    assert len(notices(phone)) == 2


async def test_setting_a_start_time_after_todays_batch_went_out_plans_tomorrow(
    harness: Harness,
) -> None:
    set_time(harness, "2026-11-23 08:00")
    await worker(harness)
    await at_ticks(harness, "2026-11-23 10:00")
    set_time(harness, "2026-11-23 10:30")
    async with harness.store.uow() as repo:
        changed = await change_schedule(repo, "민지", ScheduleChange(start=parse_clock("09:00")),
                                        harness.clock())
    assert changed.next_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL)


async def test_notices_no_longer_wanted_do_not_hold_up_the_others(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phones = [await worker(harness, 100 + i, f"w{i}", pictures=400,
                           reminder=parse_clock("14:00")) for i in range(40)]
    await at_ticks(harness, "2026-11-23 10:00")
    for phone in phones[:30]:  # 30 of them start: their reminders are not wanted
        await phone.tap("▶️")
    await at_ticks(harness, "2026-11-23 14:00")  # one tick sends all 10 remaining reminders
    reminded = [p for p in phones if any("기다리고 있어요" in p.words(m) for m in p.chat)]
    assert reminded == phones[30:]


async def test_a_database_from_before_schedules_gets_its_workers_batches(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    first = (Path(__file__).parent.parent / "storage/migrations/0001_initial.sql").read_text()
    with sqlite3.connect(path) as conn:
        conn.executescript(first)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO projects VALUES (1, 'animals', 'Q?', '[\"🐶 Dog\", \"🐱 Cat\"]',"
                     " 3, '2026-11-01T00:00:00+00:00')")
        conn.executemany("INSERT INTO items (project_id, kind, text, content_key, source,"
                         " created_at) VALUES (1, 'text', ?, ?, 'x', '2026-11-01')",
                         [(f"s{i}", f"k{i}") for i in range(5)])
        conn.execute("INSERT INTO workers (name, project_id, tg_user_id, chat_id, created_at,"
                     " joined_at) VALUES ('민지', 1, 111, 111, '2026-11-01', '2026-11-01')")
    h = Harness(path)
    set_time(h, "2026-11-23 08:00")
    await h.start()
    try:
        await at_ticks(h, "2026-11-23 10:00")
        phone = h.phone(111)
        assert phone.words().startswith("좋은 아침이에요, 민지 님.\n오늘은 글 5개예요.")
    finally:
        await h.stop()


async def test_a_coordinator_who_writes_again_hears_of_workers_again(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    await worker(harness, 111, "민지")
    await worker(harness, 222, "영수")
    coach = harness.phone(900, "Coach")
    await coach.join(await harness.invite_coordinator("지수"))
    harness.telegram.blocked.update({111, 900})
    await at_ticks(harness, "2026-11-23 10:00")  # 민지 and the coordinator both blocked
    harness.telegram.blocked.discard(900)
    await coach.send("/workers")
    harness.telegram.blocked.add(222)
    await at_ticks(harness, "2026-11-24 10:00")
    # (Since schema 4 the coordinator's daily digest may come after the alert.)
    assert any("⚠️ 영수 님에게" in coach.words(m) for m in coach.chat)


async def test_a_blocked_worker_who_opens_a_new_link_gets_work_again(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    phone = await worker(harness)
    harness.telegram.blocked.add(111)
    await at_ticks(harness, "2026-11-23 10:00")
    harness.telegram.blocked.discard(111)
    await phone.join(await harness.invite("민지"))
    async with harness.store.reader() as repo:
        found = await repo.worker_by_name("민지")
    assert found is not None and found.unreachable_at is None
    assert found.next_due_at == datetime(2026, 11, 24, 10, 0, tzinfo=SEOUL)


async def test_one_item_left_is_said_in_the_singular(harness: Harness) -> None:
    set_time(harness, "2026-11-23 08:00")
    await harness.pictures(await harness.project(), 1)
    phone = harness.phone(222, "Tom", "en")
    await phone.join(await harness.invite("Tom"))
    await at_ticks(harness, "2026-11-23 10:00")
    assert phone.words() == "Good morning, Tom.\nToday there is 1 picture.\nIt takes about 1 min."
