"""Practice before real work, and hidden gold among it: through the real bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from tasks.model import Role
from tests.harness import Harness, Phone

MARKS = ("❌", "⭕", "틀", "오답", "정답", "점수", "wrong", "correct", "score")


async def joined(h: Harness, user_id: int = 111, name: str = "민지") -> Phone:
    phone = h.phone(user_id, name)
    await phone.join(await h.invite(name))
    return phone


async def practice_project(h: Harness, **rules: int) -> int:
    project = await h.project()
    await h.sentences(project, ["real one", "real two"])
    await h.known(project, Role.PRACTICE,
                  [("a dog barks", 0), ("a cat meows", 1), ("a puppy plays", 0)],
                  reason="Listen to the sound it makes.")
    await h.rules(project, **rules)
    return project


async def count(h: Harness, sql: str) -> int:
    async with h.store.reader() as repo:
        rows = await repo._all(sql)
    return int(rows[0][0])


async def test_a_new_worker_practises_first_and_sees_the_answer_and_why_in_neutral_words(
    harness: Harness,
) -> None:
    await practice_project(harness, mastery_need=2, mastery_of=3)
    phone = await joined(harness)
    await phone.tap("▶️")
    words = phone.words()
    assert "연습이에요. 천천히 해 보세요." in words and "a dog barks" in words
    assert "/ " not in words  # no "n / N" progress in practice
    assert phone.buttons() == ["🐶 Dog", "🐱 Cat", "🤔 잘 모르겠어요", "☕ 쉬기", "🙋 도움"]

    await phone.tap("🐱 Cat")  # not the answer that fits: the same calm explanation
    words = phone.words()
    assert "알맞은 답: 🐶 Dog" in words and "💡 Listen to the sound it makes." in words
    assert not any(mark in words for mark in MARKS)
    assert phone.buttons() == ["▶️ 다음"]

    await phone.tap("▶️ 다음")
    assert "a cat meows" in phone.words() and "연습이에요" not in phone.words()
    await phone.tap("🐱 Cat")
    assert "알맞은 답: 🐱 Cat" in phone.words()
    await phone.tap("▶️ 다음")
    await phone.tap("🐶 Dog")  # two right among the last three: practice is over
    assert "연습을 마쳤어요" in phone.words() and phone.buttons() == ["▶️ 시작"]

    await phone.tap("▶️ 시작")
    assert "real one" in phone.words() and "1 / 2" in phone.words()
    assert await count(harness, "SELECT count(*) FROM practice_answers") == 3
    assert await count(harness, "SELECT count(*) FROM answers") == 0


async def test_practice_comes_round_again_until_the_mastery_rule_holds(harness: Harness) -> None:
    await practice_project(harness)  # the default rule: 8 right among the last 10
    phone = await joined(harness)
    await phone.tap("▶️")
    seen = []
    for _ in range(7):
        seen.append(next(t for t in ("dog barks", "cat meows", "puppy") if t in phone.words()))
        await phone.tap("🤔")
        await phone.tap("▶️ 다음")
    assert "real one" not in phone.words() and phone.buttons()[0] == "🐶 Dog"
    # Each item comes round as often as the others (least seen first).
    assert sorted(seen.count(t) for t in set(seen)) == [2, 2, 3]
    async with harness.store.reader() as repo:
        worker = await repo.worker_by_name("민지")
    assert worker is not None and worker.practiced_at is None


async def test_a_break_in_practice_resumes_at_the_same_item(harness: Harness) -> None:
    await practice_project(harness)
    phone = await joined(harness)
    await phone.tap("▶️")
    await phone.tap("☕")
    await phone.tap("▶️")
    assert "a dog barks" in phone.words() and "연습" in phone.words()


async def test_a_coordinator_can_let_a_worker_through_practice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await practice_project(harness)
    phone = await joined(harness)
    await phone.tap("▶️")
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    assert await asyncio.to_thread(main, ["worker", "pass", "민지"]) == 0
    assert "goes straight to real work" in capsys.readouterr().out
    await phone.tap("🐶 Dog")
    await phone.tap("▶️")
    assert "real one" in phone.words() and "1 / 2" in phone.words()
    assert await asyncio.to_thread(main, ["worker", "pass", "아무개"]) == 1


async def test_a_worker_who_already_worked_is_not_sent_back_to_practice(
    harness: Harness,
) -> None:
    project = await harness.project()
    await harness.sentences(project, ["one", "two", "three"])
    phone = await joined(harness)
    await phone.tap("▶️")
    await phone.tap("🐶 Dog")
    await harness.known(project, Role.PRACTICE, [("a dog barks", 0)])
    await phone.tap("☕")
    await phone.tap("▶️")
    assert "two" in phone.words() and "2 / 3" in phone.words()


async def test_gold_is_one_in_ten_of_a_batch_and_looks_like_any_other_item(
    harness: Harness,
) -> None:
    project = await harness.project(overlap=1)
    await harness.sentences(project, [f"work {i}" for i in range(30)])
    await harness.known(project, Role.GOLD, [(f"gold {i}", i % 2) for i in range(6)])
    phone = await joined(harness)
    await phone.tap("▶️")
    gold_seen, layouts, notes = 0, set(), set()
    for position in range(1, 21):
        words = phone.words()
        assert f"{position} / 20" in words
        gold_seen += "gold" in words
        layouts.add(tuple(phone.buttons()))
        await phone.tap("🐱 Cat")
        notes.add(phone.words().split("\n")[0])
    assert gold_seen == 2  # 20 items at one in ten
    assert len(layouts) == 1  # the same buttons on every item, gold or not
    assert notes <= {"✅ 🐱 Cat — 저장했어요", "🎉 다 했어요! 오늘 20개 했어요."}
    assert await count(harness, "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
                                " WHERE i.role = 'gold'") == 2


async def test_without_gold_left_for_a_worker_the_batch_is_all_work(harness: Harness) -> None:
    project = await harness.project(overlap=1)
    await harness.sentences(project, [f"work {i}" for i in range(30)])
    phone = await joined(harness)
    await phone.tap("▶️")
    assert "1 / 20" in phone.words()


def test_gold_share_keeps_the_rate_for_small_and_large_batches() -> None:
    from tasks.labeling import gold_share

    assert gold_share(20, 10, 0.99) == 2
    assert gold_share(25, 10, 0.49) == 3 and gold_share(25, 10, 0.5) == 2
    assert gold_share(5, 10, 0.2) == 1 and gold_share(5, 10, 0.7) == 0
    assert gold_share(20, 0, 0.0) == 0
    draws = [i / 1000 for i in range(1000)]
    assert sum(gold_share(7, 10, d) for d in draws) == 700  # 0.7 a batch on average


async def test_gold_and_practice_import_from_the_command_line(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await harness.project()
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    work = tmp_path / "work.csv"
    work.write_text("text\nalready work\n", encoding="utf-8")
    assert await asyncio.to_thread(main, ["import", "animals", str(work)]) == 0
    sheet = tmp_path / "gold.csv"
    sheet.write_text("text,answer\nbarks,Dog\nmeows,🐱\nthird,2\nbad,Horse\nbarks,Cat\n"
                     "already work,Dog\n", encoding="utf-8")
    assert await asyncio.to_thread(main, ["import", "animals", str(sheet), "--gold"]) == 0
    out = capsys.readouterr().out
    assert 'Imported 3 gold items into "animals"' in out
    assert 'gold.csv:5: answer "Horse" is not one of the project\'s choices' in out
    assert "gold.csv:6: the same sentence as gold.csv:2, with a different answer" in out
    assert "gold.csv:7: this sentence is already in the project as work" in out
    with pytest.raises(SystemExit):  # one or the other
        await asyncio.to_thread(main, ["import", "animals", str(sheet), "--gold", "--practice"])


async def test_a_database_from_before_quality_keeps_its_workers_at_work_and_judges_old_items(
    tmp_path: Path,
) -> None:
    import sqlite3

    from review.service import rejudge_project

    path = tmp_path / "old.db"
    folder = Path(__file__).parent.parent / "storage/migrations"
    with sqlite3.connect(path) as conn:
        for name in ("0001_initial.sql", "0002_schedule.sql"):
            conn.executescript((folder / name).read_text())
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO projects VALUES (1, 'animals', 'Q?', '[\"🐶 Dog\", \"🐱 Cat\"]',"
                     " 2, '2026-11-01T00:00:00+00:00')")
        conn.executemany("INSERT INTO items (project_id, kind, text, content_key, source,"
                         " created_at, wanted, n_answers, status) VALUES"
                         " (1, 'text', ?, ?, 'x', '2026-11-01', 2, 2, 'filled')",
                         [("agreed", "k1"), ("split", "k2")])
        conn.executemany("INSERT INTO workers (name, project_id, tg_user_id, chat_id,"
                         " created_at) VALUES (?, 1, ?, ?, '2026-11-01')",
                         [("민지", 111, 111), ("영수", 222, 222), ("새내기", 333, 333)])
        conn.executemany("INSERT INTO batches (worker_id, day, size, created_at, ends_at)"
                         " VALUES (?, '2026-11-02', 2, 'x', '2026-11-02T15:00:00+00:00')",
                         [(1,), (2,)])
        conn.executemany("INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at,"
                         " answered_at) VALUES (?, ?, ?, ?, '2026-11-02T01:00:00+00:00',"
                         " '2026-11-02T01:00:05+00:00')",
                         [(1, 1, 1, 0), (1, 2, 2, 0), (2, 1, 1, 0), (2, 2, 2, 1)])
    h = Harness(path)
    await h.start()
    try:
        async with h.store.reader() as repo:
            workers = {n: await repo.worker_by_name(n) for n in ("민지", "새내기")}
        assert workers["민지"] is not None and workers["민지"].practiced_at is not None
        assert workers["새내기"] is not None and workers["새내기"].practiced_at is None
        run = await rejudge_project(h.store.uow, 1, h.clock())
        assert run is not None
        async with h.store.reader() as repo:
            verdicts = await repo._all("SELECT text, verdict FROM items ORDER BY id")
        assert [tuple(v) for v in verdicts] == [("agreed", "agreement"), ("split", "review")]
    finally:
        await h.stop()


async def test_the_days_message_says_practice_comes_first(harness: Harness) -> None:
    from tests.test_schedule import at_ticks, set_time

    set_time(harness, "2026-11-23 08:00")
    await practice_project(harness)
    phone = await joined(harness)
    await at_ticks(harness, "2026-11-23 10:00")
    assert phone.words().endswith("먼저 연습부터 해요.")
    await phone.tap("▶️")
    assert "연습이에요" in phone.words() and "a dog barks" in phone.words()


async def test_a_worker_let_through_during_a_practice_break_goes_on_to_real_work(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await practice_project(harness)
    phone = await joined(harness)
    await phone.tap("▶️")
    await phone.tap("☕")
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    assert await asyncio.to_thread(main, ["worker", "pass", "민지"]) == 0
    await phone.tap("▶️")
    assert "real one" in phone.words() and "1 / 2" in phone.words()


async def test_a_longest_reason_on_a_picture_still_leaves_room_for_a_line_on_top(
    harness: Harness,
) -> None:
    from io import BytesIO

    from PIL import Image

    from storage.repo import SqlItemSink
    from tasks.importing import PreparedImage
    from tasks.known import Answer, KnownSpec

    project_id = await harness.project()
    async with harness.store.reader() as repo:
        project = await repo.project(project_id)
    room = KnownSpec(Role.PRACTICE, project.choices, project.question).max_reason
    buffer = BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "JPEG")
    item = PreparedImage(buffer.getvalue(), 8, 8, "img:p", "p.jpg", answer=Answer(0, "긴" * room))
    await SqlItemSink(harness.store).add_known(project_id, [item], Role.PRACTICE)
    phone = await joined(harness)
    await phone.tap("▶️")
    await phone.tap("🐱 Cat")
    await phone.send("what now?")  # the pointer line gives way; the explanation stays whole
    assert "긴" * room in phone.words() and phone.buttons() == ["▶️ 다음"]
    assert len(phone.words()) <= 1024
