"""The summary's pieces (streak, missed days, levels), the preview command, the coordinators'
digest and /stats, and a database from before guardians."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from dataclasses import fields, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.family import summary_chart, summary_text
from tasks.family import Every, Share
from tasks.model import ItemKind, Worker
from tasks.summary import Day, build_summary, missed_run, streak
from tests.harness import Harness
from tests.test_guardians import answer, linked
from tests.test_schedule import at_ticks, set_time, worker

MON = date(2026, 11, 23)


def someone(days: frozenset[int] = frozenset(range(5))) -> Worker:
    return Worker(1, "민지", 1, 111, 111, "ko", "Asia/Seoul", 20, days=days)


def worked(*offsets: int, items: int = 5) -> dict[date, Day]:
    return {MON + timedelta(days=n): Day(MON + timedelta(days=n), items, timedelta(minutes=3))
            for n in offsets}


def test_a_streak_counts_working_days_in_a_row_and_a_day_off_does_not_break_it() -> None:
    active = set(worked(-3, 0, 1, 2))  # last Friday, then Monday to Wednesday
    assert streak(someone(), active, MON + timedelta(days=2)) == 4
    # Thursday not over yet: still 4; Friday after a missed Thursday: 0.
    assert streak(someone(), active, MON + timedelta(days=3)) == 4
    assert streak(someone(), active, MON + timedelta(days=4)) == 0
    # A Saturday worked counts too.
    week = active | set(worked(3, 4, 5))
    assert streak(someone(), week, MON + timedelta(days=5)) == 7


def test_missed_days_are_working_days_after_consent_and_before_today() -> None:
    active = set(worked(0))
    # Tue, Wed, Thu, Fri missed; the weekend is not work; today (next Monday) is not over.
    run = missed_run(someone(), active, MON + timedelta(days=7), MON)
    assert run == [MON + timedelta(days=n) for n in (1, 2, 3, 4)]
    assert missed_run(someone(), active, MON + timedelta(days=7), MON + timedelta(days=3)) == [
        MON + timedelta(days=3), MON + timedelta(days=4)]
    assert missed_run(someone(frozenset({0})), active, MON + timedelta(days=7), MON) == []


def test_the_days_level_holds_nothing_about_how_much() -> None:
    summary = build_summary(someone(), Share.DAYS, Every.WEEK, MON + timedelta(days=6),
                            worked(0, 2), ItemKind.IMAGE)
    assert (summary.items, summary.minutes, summary.week_items, summary.kind) == (
        None, None, None, None)
    assert summary.worked_days == 2
    # Nothing in a summary could carry accuracy, speed or others: its fields say so.
    names = {f.name for f in fields(summary)}
    assert not names & {"accuracy", "speed", "errors", "rank", "others", "seconds"}
    text = summary_text("ko", summary)
    assert "📅 일한 날: 2일" in text and "한 일" not in text and "시간" not in text
    full = build_summary(someone(), Share.AMOUNT, Every.WEEK, MON + timedelta(days=6),
                         worked(0, 2), ItemKind.TEXT)
    assert (full.items, full.minutes, full.week_items) == (10, 6, (5, 0, 5, 0, 0, 0, 0))
    assert "📝 한 일: 문장 10개" in summary_text("ko", full)
    assert "📝 Done: 10 sentences" in summary_text("en", full)


def test_a_rest_week_and_its_chart_make_sense_in_both_languages() -> None:
    for share in Share:
        rest = build_summary(someone(), share, Every.WEEK, MON + timedelta(days=6), {})
        assert rest.rested and "쉬었어요" in summary_text("ko", rest)
        assert "rest week" in summary_text("en", rest)
        for lang in ("ko", "en"):
            png = summary_chart(lang, rest)
            assert png.startswith(b"\x89PNG")
    a, b = (summary_chart(lang, build_summary(someone(), Share.AMOUNT, Every.WEEK, MON, {}))
            for lang in ("ko", "en"))
    assert a != b  # labelled in the reader's language


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_summary_preview_writes_exactly_what_the_guardian_gets(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    phone, mother = await linked(harness)
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    out = tmp_path / "preview"
    assert await run("summary", "preview", "민지", "--out", str(out)) == 0  # nothing shared yet
    assert "No guardian of 민지 receives anything now" in capsys.readouterr().err
    await phone.tap("📊 일한 날과 한 양")
    await phone.tap("🔕 알리지 않기")
    await at_ticks(harness, "2026-11-24 10:00")
    await answer(phone, 3)
    assert await run("summary", "preview", "민지", "--out", str(out), "--date", "2026-11-29") == 0
    text = (out / "summary.txt").read_text(encoding="utf-8")
    assert "🖼 한 일: 사진 3장" in text
    with Image.open(out / "summary.png") as picture:
        assert picture.size == (800, 500)
    assert await run("summary", "preview", "민지", "--out", str(out), "--level", "days",
                     "--date", "2026-11-29") == 0
    assert "한 일" not in (out / "summary.txt").read_text(encoding="utf-8")
    assert len(mother.chat) == 2  # the welcome, "shared": the preview sent nothing
    assert await run("summary", "preview", "누구", "--out", str(out)) == 1
    assert await run("summary", "preview", "민지", "--out", str(out / "summary.txt")) == 1
    assert await run("summary", "preview", "민지", "--out", str(out), "--date", "29/11") == 1


async def test_invite_guardian_and_guardian_list(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    set_time(harness, "2026-11-23 08:00")
    await worker(harness)
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    monkeypatch.setenv("HARU_BOT_USERNAME", "haru_test_bot")
    assert await run("invite", "guardian", "어머니", "--worker", "민지", "--every", "day",
                     "--tz", "Europe/Berlin") == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://t.me/haru_test_bot?start=")
    for bad in (["--worker", "누구"], ["--worker", "민지", "--every", "month"],
                ["--worker", "민지", "--tz", "Mars/Base"], ["--worker", "민지", "--valid-days",
                                                          "0"]):
        assert await run("invite", "guardian", "아버지", *bad) == 1
    mother = harness.phone(500)
    await mother.join(link.rsplit("=", 1)[1])
    assert await run("guardian", "list") == 0
    out = capsys.readouterr().out
    assert "어머니" in out and "nothing yet" in out and "every day at 18:00 Europe/Berlin" in out
    assert "아버지" not in out


async def test_coordinator_digest_at_the_set_time_with_progress_people_and_coaching(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_time(harness, "2026-11-23 08:00")
    minji = await worker(harness, 111, "민지")
    await worker(harness, 222, "영수")
    coach = harness.phone(900, "Coach")
    await coach.join(await harness.invite_coordinator("지수"))
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    assert await run("coordinator", "set", "지수", "--digest", "17:00") == 0
    await coach.send("/pause 영수")
    await at_ticks(harness, "2026-11-23 10:00")
    if "▶️ 시작" in " ".join(minji.buttons()):
        await minji.tap("▶️ 시작")
    for _ in range(20):
        harness.clock.advance(seconds=20)
        await minji.tap("🤔")
    await at_ticks(harness, "2026-11-23 16:59")
    assert not any("📋 오늘의 요약" in coach.words(m) for m in coach.chat)
    await at_ticks(harness, "2026-11-23 17:00", "2026-11-23 17:00:20")
    digests = [coach.words(m) for m in coach.chat if "📋 오늘의 요약" in coach.words(m)]
    assert len(digests) == 1
    digest = digests[0]
    assert "animals\n끝남 0 · 남음 40 · 검토 0\n오늘 답 20" in digest
    assert "⏸ 쉬는 중: 영수" in digest
    assert "민지: 잘 모르겠다는 답이 많아요 (100%)" in digest and "벌점이 아니에요" in digest
    assert not any("잘 모르겠다는 답이 많아요" in minji.words(m) for m in minji.chat)
    # Three working days later 민지 has not been seen.
    await at_ticks(harness, "2026-11-27 17:00")
    assert "👀 일하는 날 3일째 안 보여요: 민지" in coach.words()
    # /stats: the 14-day chart, then the same figures now.
    await coach.send("/stats")
    photo, text = coach.chat[-2], coach.chat[-1]
    assert photo["caption"] == "📈 최근 14일 동안 답 20개" and "photo" in photo
    assert text["text"].startswith("📋 오늘의 요약")
    # A worker or a stranger sending /stats gets nothing of it.
    await minji.send("/stats")
    assert "📋" not in minji.words()


async def test_a_database_from_before_guardians_opens_with_digests_on(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    folder = Path(__file__).parent.parent / "storage/migrations"
    with sqlite3.connect(path) as conn:
        for name in ("0001_initial.sql", "0002_schedule.sql", "0003_quality.sql"):
            conn.executescript((folder / name).read_text())
        conn.execute("PRAGMA user_version = 3")
        conn.execute("INSERT INTO coordinators (name, tg_user_id, chat_id, created_at)"
                     " VALUES ('지수', 900, 900, '2026-11-01')")
        conn.execute("INSERT INTO invites (code_hash, role, coordinator_id, created_at,"
                     " expires_at) VALUES ('h', 'coordinator', 1, '2026-11-01T00:00:00+00:00',"
                     " '2026-11-02T00:00:00+00:00')")
    h = Harness(path)
    await h.start()
    try:
        await at_ticks(h, "2026-11-23 17:00", "2026-11-23 18:00")
        assert "오늘의 요약" in h.telegram.last_message(900)["text"]
        async with h.store.reader() as repo:
            invite = await repo.invite("h")
        assert invite is not None and invite.guardian_id is None
    finally:
        await h.stop()


def test_the_weekly_chart_draws_hangul_as_letters_not_boxes() -> None:
    """Two charts that differ only in one syllable of the title differ in their pixels; a
    title of a character no font has is drawn without it, so boxes never appear."""
    def pixels(name: str) -> bytes:
        summary = build_summary(replace(someone(), name=name), Share.AMOUNT, Every.WEEK, MON,
                                worked(0))
        with Image.open(io.BytesIO(summary_chart("ko", summary))) as picture:
            return picture.convert("L").tobytes()

    ga, na, none = pixels("가"), pixels("나"), pixels("\ue000")
    assert ga != na
    assert ga != none and na != none
