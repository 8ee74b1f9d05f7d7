"""`haru worker set/list/pause/resume` and `haru invite coordinator`, as typed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "work.db"
    monkeypatch.setenv("HARU_DB", str(db))
    monkeypatch.setenv("HARU_BOT_USERNAME", "haru_test_bot")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["project", "create", "animals", "--question", "What animal is this?",
                 "--choice", "🐶 Dog", "--choice", "🐱 Cat"]) == 0
    assert main(["invite", "worker", "민지", "--project", "animals"]) == 0
    return db


SCHEDULE = "SELECT days, start_at, tz, batch_size, reminder_at, paused_at FROM workers"
EVERYTHING = "SELECT * FROM workers"


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_a_new_worker_works_weekdays_at_ten_in_seoul_twenty_a_day_without_reminder(
    env: Path,
) -> None:
    assert rows(env, SCHEDULE) == [("0,1,2,3,4", "10:00", "Asia/Seoul", 20, None, None)]


def test_worker_set_changes_only_what_is_given_and_says_the_whole_schedule(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["worker", "set", "민지", "--days", "mon,wed,fri", "--at", "9:30",
                 "--batch", "15", "--tz", "Europe/Berlin", "--reminder", "14:00"]) == 0
    out = capsys.readouterr().out
    assert "민지: mon,wed,fri at 09:30 Europe/Berlin, 15 a day, reminder 14:00." in out
    assert rows(env, SCHEDULE) == [("0,2,4", "09:30", "Europe/Berlin", 15, "14:00", None)]
    assert main(["worker", "set", "민지", "--reminder", "off", "--days", "sat-mon"]) == 0
    assert rows(env, SCHEDULE) == [("0,5,6", "09:30", "Europe/Berlin", 15, None, None)]


@pytest.mark.parametrize(("options", "words"), [
    (["--tz", "Mars/Olympus"], "not a time zone"),
    (["--tz", "../../etc/passwd"], "not a time zone"),
    (["--at", "25:00"], "not a time of day"),
    (["--at", "10:60"], "not a time of day"),
    (["--at", "ten"], "not a time of day"),
    (["--days", ""], "at least one working day"),
    (["--days", ","], "at least one working day"),
    (["--days", "mon-fry"], '"fry" is not a day'),
    (["--batch", "0"], "1 to 500"),
    (["--batch", "10000"], "1 to 500"),
    (["--batch", "10,000"], "1 to 500"),
    (["--batch", "many"], "not a number"),
    (["--batch", "1,0"], "not a number"),
    (["--days", "mon-"], "a first and a last day"),
    (["--reminder", "26:00"], "not a time of day"),
    (["--reminder", "09:00"], "later in the day than the start"),
    ([], "Nothing to change"),
])
def test_a_bad_schedule_is_one_clear_line_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], options: list[str], words: str
) -> None:
    before = rows(env, EVERYTHING)
    capsys.readouterr()
    # A good change given with the bad one is not made either.
    good = ["--batch", "30"] if options else []
    assert main(["worker", "set", "민지", *good, *options]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and err.startswith("haru: ")
    assert rows(env, EVERYTHING) == before


def test_worker_set_for_someone_unknown_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "set", "영수", "--at", "09:00"]) == 1
    assert 'no worker called "영수"' in capsys.readouterr().err


def test_schedule_defaults_can_be_given_with_the_invite(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["invite", "worker", "영수", "--project", "animals", "--days", "tue-thu",
                 "--at", "13:00", "--batch", "10", "--valid-days", "3"]) == 0
    err = capsys.readouterr().err
    assert "valid for 3 days" in err and "tue-thu at 13:00 Asia/Seoul, 10 a day" in err
    assert rows(env, SCHEDULE + " WHERE name = '영수'") == [
        ("1,2,3", "13:00", "Asia/Seoul", 10, None, None)]
    assert main(["invite", "worker", "지훈", "--project", "animals", "--days", "14"]) == 1
    assert "--valid-days 14" in capsys.readouterr().err
    assert main(["invite", "worker", "지훈", "--project", "animals", "--at", "24:00"]) == 1
    assert rows(env, "SELECT count(*) FROM workers WHERE name = '지훈'") == [(0,)]


def test_worker_list_shows_schedule_and_status(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "set", "민지", "--reminder", "15:00"]) == 0
    capsys.readouterr()
    assert main(["worker", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "PROJECT", "DAYS", "AT", "TIME", "ZONE", "BATCH",
                                "REMINDER", "STATUS", "NEXT", "BATCH", "(LOCAL)"]
    assert lines[1].split()[:7] == ["민지", "animals", "mon-fri", "10:00", "Asia/Seoul", "20",
                                    "15:00"]
    assert "invited, not joined" in lines[1]


def test_pause_and_resume_from_the_command_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(env) as conn:  # as if 민지 had joined
        conn.execute("UPDATE workers SET tg_user_id = 5, chat_id = 5,"
                     " next_due_at = '2026-11-23T01:00:00+00:00'")
    capsys.readouterr()
    assert main(["worker", "pause", "민지"]) == 0
    assert "Paused 민지" in capsys.readouterr().out
    assert rows(env, "SELECT paused_at IS NOT NULL, next_due_at FROM workers") == [(1, None)]
    assert main(["worker", "pause", "민지"]) == 0
    assert "already paused" in capsys.readouterr().out
    assert main(["worker", "list"]) == 0
    assert "paused" in capsys.readouterr().out
    assert main(["worker", "resume", "민지"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Resumed 민지: next batch ") and "10:00 (Asia/Seoul)" in out
    assert rows(env, "SELECT paused_at, next_due_at IS NOT NULL FROM workers") == [(None, 1)]
    assert main(["worker", "resume", "민지"]) == 0
    assert "not paused" in capsys.readouterr().out
    assert main(["worker", "pause", "아무개"]) == 1
    assert 'no worker called "아무개"' in capsys.readouterr().err


def test_invite_coordinator_prints_a_link(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["invite", "coordinator", "지수"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("https://t.me/haru_test_bot?start=")
    assert "/pause NAME" in captured.err
    assert rows(env, "SELECT name, tg_user_id FROM coordinators") == [("지수", None)]
    assert rows(env, "SELECT role FROM invites WHERE coordinator_id = 1") == [("coordinator",)]
    assert main(["invite", "coordinator", " "]) == 1
