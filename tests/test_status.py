"""`haru status` and /status: the numbers add up, and "today" is each worker's own day."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage.repo import SqlRepo
from storage.status import ItemCounts, total
from storage.times import ts
from tasks.model import Role
from tests.harness import Harness
from tests.test_coordinators import coach

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 00:30 on the 24th in Seoul


async def sentences(h: Harness, project: str, count: int, verdicts: list[str | None]) -> int:
    """A project of `count` sentences; the first ones get `verdicts` (review ones enter the
    queue at the harness clock)."""
    project_id = await h.project(project)
    await h.sentences(project_id, [f"{project} {i}" for i in range(count)])
    async with h.store.uow() as repo:
        cursor = await repo.conn.execute(
            "SELECT id FROM items WHERE project_id = ? ORDER BY id", (project_id,))
        ids = [r[0] for r in await cursor.fetchall()]
        for item_id, verdict in zip(ids, verdicts, strict=False):
            await repo.conn.execute(
                "UPDATE items SET verdict = ?, review_at = CASE WHEN ? = 'review' THEN ?"
                " END WHERE id = ?", (verdict, verdict, ts(h.clock()), item_id))
    return project_id


async def worker(h: Harness, name: str, project: str, tz: str, *, joined: bool = True) -> int:
    await h.invite(name, project)
    async with h.store.uow() as repo:
        await repo.conn.execute(
            "UPDATE workers SET tz = ?, tg_user_id = CASE WHEN ? THEN abs(random()) END"
            " WHERE name = ?", (tz, joined, name))
        found = await repo.worker_by_name(name)
    assert found is not None
    return found.id


async def answer(repo: SqlRepo, worker_id: int, item_id: int, when: datetime) -> None:
    cursor = await repo.conn.execute(
        "INSERT INTO batches (worker_id, day, size, created_at, ends_at) VALUES (?, ?, 1, ?, ?)"
        " ON CONFLICT (worker_id, day) DO UPDATE SET size = size RETURNING id",
        (worker_id, ts(when)[:10], ts(when), ts(when + timedelta(days=1))))
    batch = (await cursor.fetchone())[0]  # type: ignore[index]
    await repo.conn.execute(
        "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at, answered_at)"
        " VALUES (?, ?, ?, 0, ?, ?)", (item_id, worker_id, batch, ts(when), ts(when)))


async def items_of(h: Harness, project_id: int) -> list[int]:
    async with h.store.reader() as repo:
        cursor = await repo.conn.execute(
            "SELECT id FROM items WHERE project_id = ? AND role = 'work' ORDER BY id",
            (project_id,))
        return [r[0] for r in await cursor.fetchall()]


async def test_finished_dropped_in_review_and_open_add_up_to_the_items(
    harness: Harness,
) -> None:
    verdicts = ["agreement", "agreement", "agreement", "model", "reviewer", "dropped",
                "dropped", "review", "more", None]
    animals = await sentences(harness, "animals", 10, verdicts)
    await harness.known(animals, Role.GOLD, [("gold one", 0)])  # not work: not counted
    await harness.known(animals, Role.PRACTICE, [("practice one", 1)], reason="because")
    await harness.project("empty")
    async with harness.store.reader() as repo:
        found = await repo.project_status(NOW)
    assert [p.name for p in found] == ["animals", "empty"]
    counts = found[0].counts
    assert counts == ItemCounts(items=10, finished=5, dropped=2, review=1)
    assert counts.open == 2
    assert counts.finished + counts.dropped + counts.review + counts.open == counts.items
    assert counts.percent_done == 70
    assert found[1].counts == ItemCounts() and found[1].counts.percent_done is None
    assert total(found) == counts


async def test_the_digest_counts_the_same_items_as_status(harness: Harness) -> None:
    await sentences(harness, "animals", 6, ["agreement", "dropped", "review", "model"])
    async with harness.store.reader() as repo:
        digest = (await repo.progress(NOW))[0]
        status = (await repo.project_status(NOW))[0].counts
    assert (digest.items, digest.done, digest.review, digest.left) == (
        status.items, status.done, status.review, status.open)


async def test_today_is_each_workers_own_day_in_their_time_zone(harness: Harness) -> None:
    animals = await sentences(harness, "animals", 6, [])
    items = await items_of(harness, animals)
    seoul = await worker(harness, "서울", "animals", "Asia/Seoul")
    york = await worker(harness, "뉴욕", "animals", "America/New_York")
    london = await worker(harness, "런던", "animals", "Europe/London")
    await worker(harness, "초대만", "animals", "Asia/Seoul", joined=False)
    await harness.known(animals, Role.PRACTICE, [("practice one", 1)], reason="because")
    async with harness.store.uow() as repo:
        # 23:30 on the 23rd in Seoul: yesterday there, whatever UTC says.
        await answer(repo, seoul, items[0], datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
        # 00:10 on the 24th in Seoul: today.
        await answer(repo, seoul, items[1], datetime(2026, 11, 23, 15, 10, tzinfo=UTC))
        # 09:30 on the 23rd in New York: today there, though before Seoul's midnight.
        await answer(repo, york, items[2], datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
        # 23:00 on the 22nd in New York: yesterday.
        await answer(repo, york, items[3], datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
        # London only practised today: active, but no real answer.
        cursor = await repo.conn.execute("SELECT id FROM items WHERE role = 'practice'")
        practice = (await cursor.fetchone())[0]  # type: ignore[index]
        await repo.conn.execute(
            "INSERT INTO practice_answers (worker_id, item_id, choice, is_right, answered_at)"
            " VALUES (?, ?, 1, 1, ?)", (london, practice, ts(NOW - timedelta(minutes=5))))
    async with harness.store.reader() as repo:
        status = (await repo.project_status(NOW))[0]
        people = await repo.workers_today(animals, NOW)
    assert (status.answers_today, status.active_today, status.workers) == (2, 3, 4)
    assert [(w.name, w.joined, w.answers_today, w.practice_today) for w in people] == [
        ("뉴욕", True, 1, 0), ("런던", True, 0, 1), ("서울", True, 1, 0), ("초대만", False, 0, 0),
    ]


async def test_status_asks_the_same_number_of_queries_for_3_or_60_workers(
    harness: Harness,
) -> None:
    animals = await sentences(harness, "animals", 70, [])
    items = await items_of(harness, animals)
    zones = ["Asia/Seoul", "America/New_York", "Europe/London", "Asia/Tokyo",
             "Australia/Sydney", "America/Los_Angeles"]

    async def statements(workers: int) -> int:
        for n in range(workers):
            worker_id = await worker(harness, f"w{workers}-{n}", "animals", zones[n % 6])
            async with harness.store.uow() as repo:
                await answer(repo, worker_id, items[n], NOW - timedelta(minutes=1))
        seen: list[str] = []
        async with harness.store.reader() as repo:
            await repo.conn.set_trace_callback(seen.append)
            await repo.project_status(NOW)
            await repo.workers_today(animals, NOW)
            await repo.conn.set_trace_callback(None)
        return len(seen)

    assert await statements(3) == await statements(60)


async def test_the_review_queue_waits_since_the_last_answer_even_after_later(
    harness: Harness,
) -> None:
    animals = await sentences(harness, "animals", 3, ["review"])
    items = await items_of(harness, animals)
    minji = await worker(harness, "민지", "animals", "Asia/Seoul")
    answered = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    async with harness.store.uow() as repo:
        await answer(repo, minji, items[0], answered)
        await repo.later(items[0], NOW)  # ⏭: to the back of the queue, not younger
    async with harness.store.reader() as repo:
        status = (await repo.project_status(NOW))[0]
    assert status.review_since == answered


# --- haru status, the command -----------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "work.db"
    monkeypatch.setenv("HARU_DB", str(db))
    monkeypatch.delenv("HARU_BOT_USERNAME", raising=False)
    return db


def midday_zone() -> str:
    """A zone where it is about noon now, so "a minute ago" is today there, whenever the
    test runs."""
    offset = 12 - datetime.now(UTC).hour  # hours ahead of UTC
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def test_status_without_a_database_says_so_kindly(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    assert "No projects yet" in capsys.readouterr().out
    assert main(["status", "animals"]) == 1
    assert capsys.readouterr().err == (
        'haru: There is no project called "animals". Projects: none yet '
        "(`haru project create`).\n")
    assert not env.exists()


def test_status_of_an_unknown_project_names_the_projects(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("animals", "문장"):
        assert main(["project", "create", name, "--question", "What is it?",
                     "--choice", "🐶 Dog", "--choice", "🐱 Cat"]) == 0
    capsys.readouterr()
    assert main(["status", "plants"]) == 1
    assert capsys.readouterr().err == (
        'haru: There is no project called "plants". Projects: animals, 문장.\n')


def test_status_prints_a_table_with_totals_and_a_project_with_its_workers(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("animals", "문장"):
        assert main(["project", "create", name, "--question", "What is it?",
                     "--choice", "🐶 Dog", "--choice", "🐱 Cat"]) == 0
    sheet = tmp_path / "s.csv"
    sheet.write_text("text\n" + "\n".join(f"문장 {i}" for i in range(4)) + "\n",
                     encoding="utf-8")
    assert main(["import", "문장", str(sheet)]) == 0
    now = datetime.now(UTC)
    with sqlite3.connect(env) as conn:
        conn.execute("INSERT INTO workers (name, project_id, created_at, tz, tg_user_id)"
                     " VALUES ('민지', 2, ?, ?, 5)", (ts(now), midday_zone()))
        conn.execute("INSERT INTO workers (name, project_id, created_at, paused_at)"
                     " VALUES ('영수', 2, ?, ?)", (ts(now), ts(now)))
        conn.execute("UPDATE items SET verdict = 'agreement' WHERE id = 1")
        conn.execute("UPDATE items SET verdict = 'review', review_at = ? WHERE id = 2",
                     (ts(now - timedelta(days=2, hours=1)),))
        conn.execute("INSERT INTO batches (worker_id, day, size, created_at, ends_at)"
                     " VALUES (1, 'x', 1, ?, ?)", (ts(now), ts(now)))
        conn.execute("INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at,"
                     " answered_at) VALUES (3, 1, 1, 0, ?, ?)",
                     (ts(now), ts(now - timedelta(minutes=1))))
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PROJECT", "ITEMS", "FINISHED", "DROPPED", "IN", "REVIEW", "OPEN",
                              "DONE", "ANSWERS", "TODAY", "ACTIVE", "TODAY", "WORKERS"]
    assert out[1].split() == ["animals", "0", "0", "0", "0", "0", "-", "0", "0", "0"]
    assert out[2].split() == ["문장", "4", "1", "0", "1", "2", "25%", "1", "1", "2"]
    assert out[3].split() == ["total", "4", "1", "0", "1", "2", "25%", "1", "1", "2"]
    assert out[4].startswith("Review queue: 1 item (/review in Telegram); the oldest has "
                             "waited since ") and out[4].endswith("(2 days).")
    assert main(["status", "문장"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 8 and out[1].split()[0] == "문장"
    assert [line.split() for line in out[5:]] == [
        ["WORKER", "JOINED", "ANSWERED", "TODAY", "PAUSED"],
        ["민지", "yes", "1", "no"],
        ["영수", "no", "0", "yes"],
    ]


# --- /status in Telegram -------------------------------------------------------------------


async def test_slash_status_shows_the_same_numbers_in_the_coordinators_words(
    harness: Harness,
) -> None:
    await sentences(harness, "animals", 10, ["agreement", "model", "dropped", "review"])
    await harness.project("plants")
    phone = harness.phone(111)
    await phone.join(await harness.invite("민지"))
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await phone.tap("🐱 Cat")
    boss = await coach(harness)
    await boss.send("/status")
    words = boss.words()
    assert words.startswith("📊 지금 상황 · 11/23 10:00")  # the coordinator's zone (Seoul)
    assert ("animals · 완료 30%\n끝남 2 · 버림 1 · 검토 1\n남음 6 · 모두 10\n"
            "오늘 답 2 · 오늘 일한 분 1/1명") in words
    assert "plants · 아직 항목이 없어요\n끝남 0 · 버림 0 · 검토 0\n남음 0 · 모두 0" in words
    assert "합계 · 완료 30%" in words
    assert "🔎 검토 1개 · 11/23 10:00부터 기다려요" in words
    english = await coach(harness, 901, "en")
    await english.send("/status animals")
    assert english.words().splitlines()[2:] == [
        "animals · 30% done", "finished 2 · dropped 1 · in review 1", "open 6 · all 10",
        "answers today 2 · worked today 1/1", "🔎 1 in review · waiting since 11/23 10:00",
        "Today is each worker's own day, in their time zone.", "", "민지 · today 2 · working",
    ]


async def test_slash_status_of_an_unknown_project_names_the_ones_there_are(
    harness: Harness,
) -> None:
    boss = await coach(harness)
    await boss.send("/status")
    assert boss.words() == "아직 프로젝트가 없어요.\n서버에서 haru project create 로 만들어요."
    await harness.project("animals")
    await harness.project("plants")
    await boss.send("/status birds")
    assert boss.words() == "birds 프로젝트가 없어요.\n있는 프로젝트: animals, plants"


async def test_workers_and_strangers_get_no_status(harness: Harness) -> None:
    await harness.pictures(await harness.project(), 3)
    worker_phone = harness.phone(111)
    await worker_phone.join(await harness.invite("민지"))
    await worker_phone.send("/status")
    assert "아래 버튼을 눌러서 답해 주세요" in worker_phone.words()
    stranger = harness.phone(555)
    await stranger.send("/status")
    assert stranger.words() == ("안녕하세요. 초대받은 분만 쓸 수 있어요.\n"
                                "담당 선생님께 링크를 받아 주세요.")
