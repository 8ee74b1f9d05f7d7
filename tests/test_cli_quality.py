"""The quality commands as a coordinator types them: project rules, quality, aggregate."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli import main
from tests.harness import Harness
from tests.test_review_queue import disputed


async def run(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_quality_reports_agreement_and_each_worker_for_coordinators(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await disputed(harness, ["a", "b", "c"],
                   [["🐶 Dog", "🐱 Cat", "🐶 Dog"], ["🐶 Dog", "🐱 Cat", "🐱 Cat"]])
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    assert await run("quality", "animals") == 0
    out = capsys.readouterr().out
    assert "animals: 3 items (2 agreement, 1 review); 1 waiting for review." in out
    # 2 of 3 items agreed: pairwise agreement 2/3; alpha from the coincidence matrix.
    assert "percent agreement: 67%" in out and "Krippendorff's alpha (nominal): 0.444" in out
    assert "w0" in out and "w1" in out and "100% (2)" in out  # agrees with both final labels
    assert await run("quality", "nope") == 1


async def test_project_set_checks_every_rule_and_changes_nothing_on_a_bad_one(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await harness.project()
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    for bad in (["--threshold", "2"], ["--mastery", "0/0"], ["--mastery", "eight"],
                ["--gold-every", "1"], ["--max-overlap", "0"], []):
        assert await run("project", "set", "animals", *bad) == 1
    assert await run("project", "set", "animals", "--threshold", "0.8", "--gold-every", "0",
                     "--mastery", "3/5") == 0
    assert "done at confidence 0.8; hidden gold none; practice ends at 3/5" in (
        capsys.readouterr().out)
    async with harness.store.reader() as repo:
        project = await repo.project(1)
    assert (project.threshold, project.gold_every, project.mastery_need, project.mastery_of,
            project.max_overlap) == (0.8, 0, 3, 5, 5)


def test_aggregate_writes_a_row_for_every_task(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("worker,task,label\nw1,t1,cat\nw2,t1,cat\nw3,t1,dog\nw1,t2,\n"
                       "w2,t3,dog\nw3,t3,cat\n", encoding="utf-8")
    out = tmp_path / "labels.csv"
    assert main(["aggregate", str(answers), "--method", "mv", "--out", str(out)]) == 0
    assert "6 answers from 3 workers on 3 tasks (majority vote): 2 labels written" in (
        capsys.readouterr().out)
    with out.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["task"], r["label"], r["confidence"]) for r in rows] == [
        ("t1", "cat", "0.6667"), ("t2", "", "0.0000"), ("t3", "cat", "0.5000")]
    assert main(["aggregate", str(answers), "--out", str(out)]) == 0  # ds, overwriting


def test_aggregate_refuses_bad_files_in_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\n1,2\n", encoding="utf-8")
    out = tmp_path / "labels.csv"
    assert main(["aggregate", str(bad), "--out", str(out)]) == 1
    assert main(["aggregate", str(tmp_path / "none.csv"), "--out", str(out)]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("haru: ") for e in errors)
    assert not out.exists()
    good = tmp_path / "good.csv"
    good.write_text("worker,task,label\n1,1,1\n", encoding="utf-8")
    assert main(["aggregate", str(good), "--out", str(tmp_path / "no" / "such" / "dir.csv")]) == 1


async def test_the_most_answers_cannot_be_fewer_than_the_first_ones(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    await harness.project(overlap=3)
    monkeypatch.setenv("HARU_DB", str(harness.db_path))
    assert await run("project", "set", "animals", "--max-overlap", "2") == 1
    assert "--max-overlap (2) is below the overlap (3)" in capsys.readouterr().err


def test_aggregate_never_writes_over_its_own_input(tmp_path: Path) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("worker,task,label\n1,1,1\n", encoding="utf-8")
    assert main(["aggregate", str(answers), "--out", str(answers)]) == 1
    assert answers.read_text(encoding="utf-8") == "worker,task,label\n1,1,1\n"
