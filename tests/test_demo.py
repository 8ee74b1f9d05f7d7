"""`haru demo`: the whole system offline in one process; its numbers add up and repeat."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.demo import DemoOptions, Result, report, run_demo, working_days
from bot.demo_content import IMAGES, SENTENCES, pictures, sentences

TODAY = date(2026, 11, 21)  # a Saturday: the demo's days are the five working days before it
SMALL = {"workers": 4, "items": 12, "days": 3, "overlap": 2}


def db_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


async def small(tmp_path: Path, name: str = "demo", **options: object) -> Result:
    merged: dict[str, object] = {**SMALL, **options}
    return await run_demo(DemoOptions(out=tmp_path / name, **merged), TODAY)  # type: ignore[arg-type]


def test_the_demo_works_on_the_working_days_just_before_today() -> None:
    days = working_days(5, TODAY)
    assert [d.isoformat() for d in days] == ["2026-11-16", "2026-11-17", "2026-11-18",
                                             "2026-11-19", "2026-11-20"]
    assert working_days(2, date(2026, 11, 23)) == [date(2026, 11, 19), date(2026, 11, 20)]


def test_generated_items_are_distinct_and_come_with_their_answers() -> None:
    shots = pictures(30, seed=3)
    assert len({s.data for s in shots}) == 30
    assert {s.answer for s in shots} == {0, 1, 2}
    with Image.open(__import__("io").BytesIO(shots[0].data)) as image:  # a real JPEG
        assert image.format == "JPEG" and image.size == (320, 240)
    texts = sentences(400, seed=3)  # more than the templates make: still all different
    assert len({t.text for t in texts}) == 400
    assert any(ord(c) > 0xAC00 for c in texts[0].key) and texts[1].key.isascii()
    assert pictures(5, seed=3) == pictures(5, seed=3)


async def test_the_numbers_add_up_against_the_database(tmp_path: Path) -> None:
    result = await small(tmp_path)
    db = tmp_path / "demo" / "haru.db"
    # answers = the sum over workers, counted independently in the database
    (total,), = db_rows(db, "SELECT count(*) FROM answers")
    per_worker = db_rows(db, "SELECT w.name, count(a.id) FROM workers w"
                             " LEFT JOIN answers a ON a.worker_id = w.id GROUP BY w.id")
    assert total > 0 and result.answers == total == sum(int(n) for _, n in per_worker)  # type: ignore[call-overload]
    assert result.answers_by_worker == {name: n for name, n in per_worker}
    assert len(per_worker) == 4
    # finished + in review + open = items, per project, and each count is the database's
    for project in result.projects:
        assert (project.finished + project.dropped + project.review + project.open
                == project.items == 12)
        (finished,), = db_rows(db, "SELECT count(*) FROM items i JOIN projects p ON"
                                   " p.id = i.project_id WHERE p.name = '" + project.name +
                                   "' AND i.role = 'work' AND i.verdict IN ('agreement',"
                                   " 'model', 'reviewer')")
        assert project.finished == finished  # the same "finished" as haru status and exports
    assert {p.name for p in result.projects} == {IMAGES, SENTENCES}
    (batches,), = db_rows(db, "SELECT count(*) FROM batches")
    assert result.batches == batches == sum(d.batches for d in result.days) >= 4
    assert sum(d.answers for d in result.days) == total
    # practice came first, gold was mixed in, a coordinator reviewed, the judge ran
    (practice,), = db_rows(db, "SELECT count(*) FROM practice_answers")
    assert result.practice_answers == practice > 0
    (gold,), = db_rows(db, "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
                           " WHERE i.role = 'gold'")
    assert gold > 0
    (decided,), = db_rows(db, "SELECT count(*) FROM items WHERE decided_by IS NOT NULL")
    assert decided == sum(d.reviewed for d in result.days)
    judged = db_rows(db, "SELECT judged_answers FROM projects ORDER BY id")
    assert all(int(n) > 0 for n, in judged)  # type: ignore[call-overload]


async def test_it_writes_charts_and_the_guardian_heard_with_consent(tmp_path: Path) -> None:
    result = await small(tmp_path)
    out = tmp_path / "demo"
    charts = {p.name for p in (out / "charts").iterdir()}
    assert charts == {"guardian-summary.png", "stats-14-days.png"}
    for chart in (out / "charts").iterdir():
        with Image.open(chart) as image:
            assert image.format == "PNG" and image.size[0] >= 400
    assert result.guardian_summaries >= 1 and "민지" in result.guardian_text
    (share,), = db_rows(out / "haru.db", "SELECT share FROM guardians")
    assert share == "amount"
    assert "📋" in result.digest_text
    assert (out / "samples" / IMAGES / "work").is_dir()
    assert (out / "samples" / SENTENCES / "work.csv").is_file()
    text = report(result)
    for project in result.projects:
        assert project.name in text
    work = sum(p.answers for p in result.projects)
    assert 0 < work < result.answers  # the rest are hidden gold's
    assert (f"Answers: {result.answers} in all ({work} on work items, as in the projects "
            f"table, and {result.answers - work} on hidden gold) = {result.answers} summed "
            "over workers") in text
    # a worker's figures leave practice out: their real and gold answers only
    for worker in result.workers:
        assert worker.answered == result.answers_by_worker[worker.name]


async def test_its_exports_hold_what_the_database_holds(tmp_path: Path) -> None:
    import pandas

    result = await small(tmp_path)
    out = tmp_path / "demo"
    db = out / "haru.db"
    for project in result.projects:
        labelled = project.agreement + project.model + project.reviewer
        table = pandas.read_csv(out / "exports" / f"{project.name}.csv")
        assert len(table) == labelled
        assert set(table["decided"]) <= {"agreement", "model", "reviewer"}
        (answers,), = db_rows(db, "SELECT count(*) FROM answers a JOIN items i ON"
                                  " i.id = a.item_id JOIN projects p ON p.id = i.project_id"
                                  f" WHERE p.name = '{project.name}' AND i.role = 'work' AND"
                                  " i.verdict IN ('agreement', 'model', 'reviewer')"
                                  " AND a.choice IS NOT NULL")
        raw = pandas.read_csv(out / "exports" / f"{project.name}.answers.csv")
        assert list(raw.columns) == ["worker", "task", "label"] and len(raw) == answers
        assert (out / "exports" / f"{project.name}.label-studio.label-config.xml").is_file()
    pictures = list((out / "exports" / "demo-images-imagefolder").glob("*/*.jpg"))
    assert len(pictures) == result.projects[0].labelled


async def test_the_same_seed_gives_the_same_run_and_another_seed_another(
    tmp_path: Path,
) -> None:
    sql = "SELECT worker_id, item_id, choice, answered_at FROM answers ORDER BY id"
    await small(tmp_path, "one", seed=11)
    await small(tmp_path, "two", seed=11)
    await small(tmp_path, "three", seed=12)
    one, two, three = (db_rows(tmp_path / n / "haru.db", sql) for n in ("one", "two", "three"))
    assert one == two and one != three


async def test_an_earlier_demo_is_replaced_only_with_force(tmp_path: Path) -> None:
    await small(tmp_path, days=1)
    (before,), = db_rows(tmp_path / "demo" / "haru.db", "SELECT count(*) FROM answers")
    with pytest.raises(Exception, match="already holds a demo"):
        await small(tmp_path, days=1, seed=99)
    assert db_rows(tmp_path / "demo" / "haru.db", "SELECT count(*) FROM answers") == [(before,)]
    result = await small(tmp_path, days=2, force=True)
    (after,), = db_rows(tmp_path / "demo" / "haru.db", "SELECT count(*) FROM answers")
    assert after == result.answers and len(result.days) == 2


async def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = await asyncio.to_thread(main, ["demo", "--out", str(out), "--workers", "4",
                                          "--items", "8", "--days", "2", "--seed", "5"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Day by day" in printed.out and "Capacity" in printed.out
    assert f"HARU_DB={out / 'haru.db'}" in printed.out
    assert (out / "haru.db").is_file()
    # again without --force: one clear line, nothing changed
    (answers,), = db_rows(out / "haru.db", "SELECT count(*) FROM answers")
    code = await asyncio.to_thread(main, ["demo", "--out", str(out), "--days", "1"])
    printed = capsys.readouterr()
    assert code == 1 and printed.err.startswith("haru: ") and "--force" in printed.err
    assert len(printed.err.strip().splitlines()) == 1
    assert db_rows(out / "haru.db", "SELECT count(*) FROM answers") == [(answers,)]


async def test_the_planner_says_when_too_few_workers_can_never_finish(tmp_path: Path) -> None:
    result = await small(tmp_path, workers=4, overlap=3, days=1)
    text = report(result)
    assert "cannot finish: each item needs 3 different workers and this project has 2" in text
    assert all(p.finished == 0 for p in result.projects)


@pytest.mark.parametrize("args, words", [
    (["--workers", "1"], "--workers 1"),
    (["--items", "0"], "--items 0"),
    (["--overlap", "11"], "--overlap 11"),
    (["--days", "0"], "--days 0"),
])
def test_bad_options_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str,
) -> None:
    out = tmp_path / "bad"
    assert main(["demo", "--out", str(out), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"haru: {words}:") and len(err.strip().splitlines()) == 1
    assert not out.exists()


async def test_every_other_command_works_on_the_demos_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await small(tmp_path)
    monkeypatch.setenv("HARU_DB", str(tmp_path / "demo" / "haru.db"))
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["project", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        [IMAGES, "12 items (+6 gold, 6 practice)"], [SENTENCES, "12 items (+6 gold, 6 practice)"]]
    assert await asyncio.to_thread(main, ["status"]) == 0
    status = capsys.readouterr().out
    assert IMAGES in status and SENTENCES in status
    assert await asyncio.to_thread(main, ["backup", str(tmp_path / "copy.db")]) == 0
    assert db_rows(tmp_path / "copy.db", "PRAGMA integrity_check") == [("ok",)]


def test_force_never_replaces_what_the_demo_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A coordinator's own folder, with their haru.db and exports: refused even with --force."""
    folder = tmp_path / "work"
    (folder / "exports").mkdir(parents=True)
    (folder / "exports" / "contract.pdf").write_text("precious")
    (folder / "haru.db").write_bytes(b"real data")
    for extra in ([], ["--force"]):
        assert main(["demo", "--out", str(folder), "--days", "1", *extra]) == 1
        err = capsys.readouterr()
        assert "not made by a demo" in err.err and "--force" not in err.err
        assert "Running" not in err.out
    assert (folder / "haru.db").read_bytes() == b"real data"
    assert (folder / "exports" / "contract.pdf").read_text() == "precious"
    assert sorted(p.name for p in folder.iterdir()) == ["exports", "haru.db"]


def test_an_out_that_is_a_file_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "afile"
    target.write_text("mine")
    assert main(["demo", "--out", str(target), "--days", "1"]) == 1
    printed = capsys.readouterr()
    assert "is a file" in printed.err and printed.out == ""
    assert target.read_text() == "mine"
