"""The `haru` command as a coordinator uses it: one clear line for bad input, nothing written."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "work.db"
    monkeypatch.setenv("HARU_DB", str(db))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("HARU_BOT_USERNAME", raising=False)
    return db


def create(*extra: str) -> int:
    return main(["project", "create", "animals", "--question", "What animal is this?",
                 "--choice", "🐶 Dog", "--choice", "🐱 Cat", *extra])


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_project_create_stores_the_question_choices_and_overlap(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create("--overlap", "2") == 0
    assert rows(env, "SELECT name, question, choices, overlap FROM projects") == [
        ("animals", "What animal is this?", '["🐶 Dog", "🐱 Cat"]', 2)
    ]
    assert "animals" in capsys.readouterr().out


def test_the_default_overlap_is_three(env: Path) -> None:
    assert create() == 0
    assert rows(env, "SELECT overlap FROM projects") == [(3,)]


@pytest.mark.parametrize("choices", [
    ["🐶 Dog"],  # too few
    ["🐶 Dog", "🐱 Cat", "🐭 Mouse", "🐰 Rabbit", "🐻 Bear"],  # too many
    ["Dog", "🐱 Cat"],  # no emoji
    ["🐶", "🐱 Cat"],  # emoji alone
    ["🐶 Big brown dog", "🐱 Cat"],  # three words
    ["🐶 Dog", "🐶 Puppy"],  # the same emoji twice
    ["🤔 Maybe", "🐱 Cat"],  # an emoji that already means "not sure"
    ["🐶 Dog", "🐱 dog"],  # the same words twice
    ["👍 예", "👎 아니요"],  # yes/no instead of named options
    ["👍 Yes", "👎 No"],
    ["👍 맞아요", "👎 틀려요"],
])
def test_a_bad_choice_is_one_clear_line_and_nothing_is_written(
    env: Path, capsys: pytest.CaptureFixture[str], choices: list[str]
) -> None:
    args = ["project", "create", "p", "--question", "Q?"]
    for choice in choices:
        args += ["--choice", choice]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("haru: ") and "\n" not in err
    assert not env.exists()


@pytest.mark.parametrize("name", ["has space", "", "a/b", "x" * 41])
def test_a_bad_project_name_is_refused(env: Path, name: str) -> None:
    assert main(["project", "create", name, "--question", "Q?", "--choice", "🐶 Dog",
                 "--choice", "🐱 Cat"]) == 1
    assert not env.exists()


def test_a_second_project_with_the_same_name_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create() == 0
    assert create() == 1
    assert "already exists" in capsys.readouterr().err
    assert rows(env, "SELECT count(*) FROM projects") == [(1,)]


def test_a_project_that_does_not_exist_is_one_clear_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "nope", str(tmp_path)]) == 1
    assert main(["invite", "worker", "민지", "--project", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['haru: There is no project called "nope". See `haru project list`.'] * 2
    assert not env.exists()
    assert create() == 0
    assert main(["import", "nope", str(tmp_path)]) == 1
    assert rows(env, "SELECT count(*) FROM items") == [(0,)]


def test_import_reports_imported_duplicates_and_rejected(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    Image.new("RGB", (2000, 1000), "red").save(folder / "a.jpg")
    Image.new("RGB", (2000, 1000), "red").save(folder / "a-copy.jpg")
    Image.new("RGB", (300, 300), "blue").save(folder / "b.png")
    (folder / "notes.txt").write_text("not a picture")
    assert create() == 0
    assert main(["import", "animals", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Imported 2" in out and "Duplicates skipped: 1" in out
    assert "notes.txt: not an image" in out
    assert rows(env, "SELECT count(*), max(width) FROM media") == [(2, 1280)]
    assert main(["import", "animals", str(folder)]) == 0
    assert "Duplicates skipped: 3" in capsys.readouterr().out
    assert rows(env, "SELECT count(*) FROM items") == [(2,)]


def test_pictures_and_sentences_are_not_mixed_in_one_project(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    Image.new("RGB", (50, 50), "red").save(folder / "a.jpg")
    sentences = tmp_path / "s.csv"
    sentences.write_text("text\nThe tea is warm.\n", encoding="utf-8")
    assert create() == 0
    assert main(["import", "animals", str(folder)]) == 0
    capsys.readouterr()
    assert main(["import", "animals", str(sentences)]) == 1
    assert "holds pictures" in capsys.readouterr().err
    assert rows(env, "SELECT kind, count(*) FROM items GROUP BY kind") == [("image", 1)]


def test_invite_prints_a_deep_link_without_the_network(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create() == 0
    capsys.readouterr()
    assert main(["invite", "worker", "민지", "--project", "animals"]) == 1
    assert "HARU_BOT_USERNAME" in capsys.readouterr().err
    monkeypatch.setenv("HARU_BOT_USERNAME", "haru_test_bot")
    assert main(["invite", "worker", "민지", "--project", "animals"]) == 0
    link = capsys.readouterr().out.strip()
    match = re.fullmatch(r"https://t\.me/haru_test_bot\?start=([A-Za-z0-9_-]{16,64})", link)
    assert match is not None
    code = match.group(1)
    # Only a hash of the code is stored; two invites never share a code.
    assert rows(env, f"SELECT count(*) FROM invites WHERE code_hash = '{code}'") == [(0,)]
    assert main(["invite", "worker", "민지", "--project", "animals"]) == 0
    again = capsys.readouterr()
    assert again.out.strip() != link and "earlier unused link no longer works" in again.err
    assert rows(env, "SELECT count(*) FROM workers") == [(1,)]
    assert main(["project", "create", "other", "--question", "Q?", "--choice", "🙂 Good",
                 "--choice", "🙁 Bad"]) == 0
    assert main(["invite", "worker", "민지", "--project", "other"]) == 0
    assert 'moved from project "animals" to "other"' in capsys.readouterr().err


def test_invite_uses_the_username_haru_run_learned(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create() == 0
    with sqlite3.connect(env) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('bot_username', 'learned_bot')")
    capsys.readouterr()
    assert main(["invite", "worker", "민지", "--project", "animals"]) == 0
    assert capsys.readouterr().out.startswith("https://t.me/learned_bot?start=")


def test_run_without_a_token_exits_at_once_with_one_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "TELEGRAM_BOT_TOKEN" in err and "\n" not in err
    assert not env.exists()
