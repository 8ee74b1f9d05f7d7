"""Hours worked, for hourly pay: the counting rules on known timelines, and `haru report hours`
on a real database made by Haru's own code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.cli
from bot import cli_reports
from bot.config import Config
from review.hours import (
    DayHours,
    WorkerActivity,
    format_clock,
    format_hours,
    hours_report,
    whole_minutes,
    worked_per_day,
)
from storage.db import Database
from storage.errors import StorageError
from storage.hours import activity, queries
from storage.repo import SqlItemSink, Store
from tasks.errors import TaskError
from tasks.importing import PreparedText

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Seoul


def seconds(*offsets: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in offsets]


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


# --- the counting rules ------------------------------------------------------------------

def test_answers_30_seconds_apart_count_every_gap() -> None:
    points = seconds(*range(0, 300, 30))  # 10 moments, 9 gaps
    assert worked_per_day(points, SEOUL) == {date(2026, 11, 23): timedelta(seconds=270)}


def test_a_gap_of_exactly_five_minutes_counts_and_one_second_more_does_not() -> None:
    assert worked_per_day(seconds(0, 300), SEOUL) == {date(2026, 11, 23): timedelta(minutes=5)}
    assert worked_per_day(seconds(0, 301), SEOUL) == {date(2026, 11, 23): timedelta(0)}
    # Away in the middle: the two sessions count, the long gap between them does not.
    assert worked_per_day(seconds(0, 60, 120, 3720, 3780), SEOUL) == {
        date(2026, 11, 23): timedelta(minutes=3)}


def test_a_session_across_midnight_in_seoul_is_split_between_the_two_dates() -> None:
    points = [at(SEOUL, 2026, 11, 24, 23, 57), at(SEOUL, 2026, 11, 24, 23, 59, 30),
              at(SEOUL, 2026, 11, 25, 0, 1)]
    assert worked_per_day(points, SEOUL) == {
        date(2026, 11, 24): timedelta(minutes=3), date(2026, 11, 25): timedelta(minutes=1)}
    # The same moments in UTC fall on one date (15:00 UTC): the split is at *local* midnight.
    assert worked_per_day(points, UTC) == {date(2026, 11, 24): timedelta(minutes=4)}


def test_the_clock_change_in_new_york_does_not_add_or_lose_an_hour() -> None:
    # 2026-03-08: 01:59 EST is followed by 03:00 EDT. 01:58 -> 03:01 is three real minutes.
    points = [at(NEW_YORK, 2026, 3, 8, 1, 58), at(NEW_YORK, 2026, 3, 8, 3, 1)]
    assert worked_per_day(points, NEW_YORK) == {date(2026, 3, 8): timedelta(minutes=3)}


def test_the_repeated_hour_in_berlin_counts_real_time_in_real_order() -> None:
    # 2026-10-25: 02:00-02:59 happens twice. 02:58 CEST, then 02:01 CET (3 minutes later).
    first = datetime(2026, 10, 25, 2, 58, tzinfo=BERLIN)
    second = datetime(2026, 10, 25, 2, 1, tzinfo=BERLIN, fold=1)
    assert worked_per_day([second, first], BERLIN) == {date(2026, 10, 25): timedelta(minutes=3)}
    row = hours_report([WorkerActivity(1, "Anna", "Europe/Berlin", (second, first), ())],
                       date(2026, 10, 25), date(2026, 10, 25)).rows[0]
    assert (row.first, row.last) == (first, second)  # first 02:58, last the later 02:01


def test_a_midnight_that_does_not_exist_still_splits_the_day() -> None:
    # Chile moves its clocks at midnight: Saturday 23:59:59 -04 is followed by Sunday 01:00 -03.
    zone = ZoneInfo("America/Santiago")
    points = [at(zone, 2026, 9, 5, 23, 58), at(zone, 2026, 9, 6, 1, 1)]
    assert worked_per_day(points, zone) == {
        date(2026, 9, 5): timedelta(minutes=2), date(2026, 9, 6): timedelta(minutes=1)}


def test_a_single_tap_shows_the_day_with_no_time() -> None:
    assert worked_per_day(seconds(0), SEOUL) == {date(2026, 11, 23): timedelta(0)}
    assert worked_per_day([], SEOUL) == {}


def test_duplicates_and_any_order_give_the_same_time() -> None:
    ordered = seconds(0, 30, 60, 90)
    shuffled = [ordered[2], ordered[0], ordered[3], ordered[0], ordered[1], ordered[2]]
    in_other_zones = [p.astimezone(NEW_YORK) for p in shuffled]
    expected = {date(2026, 11, 23): timedelta(seconds=90)}
    assert worked_per_day(shuffled, SEOUL) == expected
    assert worked_per_day(in_other_zones, SEOUL) == expected


def test_moments_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        worked_per_day([datetime(2026, 11, 23, 10, 0)], SEOUL)


def test_durations_are_rounded_half_up_from_the_exact_time() -> None:
    assert (format_clock(timedelta(minutes=65)), format_hours(timedelta(minutes=65))) == (
        "1:05", "1.08")
    assert format_hours(timedelta(seconds=54)) == "0.02"  # 0.015 h: a float would give 0.01
    assert format_hours(timedelta(seconds=450)) == "0.13"  # 0.125 h: half to even gives 0.12
    assert format_hours(timedelta(seconds=53, microseconds=999_999)) == "0.01"
    assert format_hours(timedelta(0)) == "0.00"
    assert format_hours(timedelta(hours=25, minutes=30)) == "25.50"
    assert whole_minutes(timedelta(minutes=2, seconds=30)) == 3
    assert whole_minutes(timedelta(minutes=2, seconds=29, microseconds=999_999)) == 2
    assert format_clock(timedelta(hours=1, minutes=4, seconds=30)) == "1:05"
    assert format_clock(timedelta(hours=1, minutes=59, seconds=30)) == "2:00"
    assert format_clock(timedelta(hours=30, minutes=7)) == "30:07"
    with pytest.raises(ValueError):
        format_hours(timedelta(seconds=-1))


def test_the_report_keeps_each_workers_own_local_dates_sorted_with_totals() -> None:
    # Seoul: 23:58 on the 22nd (outside the range) to 00:01 on the 23rd: 1 minute is inside.
    seoul = WorkerActivity(1, "민지", "Asia/Seoul", (
        at(SEOUL, 2026, 11, 22, 23, 58), at(SEOUL, 2026, 11, 23, 0, 1),
        at(SEOUL, 2026, 11, 24, 10, 0), at(SEOUL, 2026, 11, 24, 10, 2),
    ), answers=(at(SEOUL, 2026, 11, 22, 23, 58), at(SEOUL, 2026, 11, 24, 10, 2)))
    # New York's 23rd is Seoul's 24th: still the 23rd for Tom.
    york = WorkerActivity(2, "Tom", "America/New_York", (
        at(NEW_YORK, 2026, 11, 23, 21, 0), at(NEW_YORK, 2026, 11, 23, 21, 4),
        at(NEW_YORK, 2026, 11, 25, 9, 0),  # after the range
    ), answers=(at(NEW_YORK, 2026, 11, 23, 21, 4),))
    nobody = WorkerActivity(3, "Aaron", "Asia/Seoul", (at(SEOUL, 2026, 11, 25, 9, 0),), ())
    report = hours_report([york, nobody, seoul], date(2026, 11, 23), date(2026, 11, 24))
    assert [w.worker for w in report.workers] == ["Tom", "민지"]
    assert report.rows == [
        DayHours("Tom", date(2026, 11, 23), timedelta(minutes=4), 1,
                 at(NEW_YORK, 2026, 11, 23, 21, 0), at(NEW_YORK, 2026, 11, 23, 21, 4)),
        DayHours("민지", date(2026, 11, 23), timedelta(minutes=1), 0,
                 at(SEOUL, 2026, 11, 23, 0, 1), at(SEOUL, 2026, 11, 23, 0, 1)),
        DayHours("민지", date(2026, 11, 24), timedelta(minutes=2), 1,
                 at(SEOUL, 2026, 11, 24, 10, 0), at(SEOUL, 2026, 11, 24, 10, 2)),
    ]
    assert [(w.worked, w.answers) for w in report.workers] == [
        (timedelta(minutes=4), 1), (timedelta(minutes=3), 1)]
    assert (report.worked, report.answers) == (timedelta(minutes=7), 2)


# --- a real database ---------------------------------------------------------------------

@contextlib.asynccontextmanager
async def opened(path: Path) -> AsyncIterator[Store]:
    store = Store(await Database.open(path))
    try:
        yield store
    finally:
        await store.db.close()


def kst(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SEOUL)


async def build(path: Path) -> None:
    """민지 (Seoul), Tom (New York) and Idle (no work), with a known timeline.

    민지, 23rd: practice 09:58, 09:59; answers 10:00-10:01:30 every 30 s; away; an answer shown
    11:05 and given 11:07; a change at 11:09 -> 3.5 + 4 = 7.5 minutes, 4 answers.
    민지, 24th 23:58 -> 25th 00:01: one answer across midnight (2 minutes + 1 minute).
    Tom, 23rd: one answer shown 09:00:00 and given 09:00:40 (his time).
    """
    async with opened(path) as store:
        async with store.uow() as repo:
            project = await repo.create_project("animals", "What animal is this?",
                                                ("🐶 Dog", "🐱 Cat"), 3, T0)
        await SqlItemSink(store).add_items(
            project.id, [PreparedText(f"item {i}", f"txt:{i}", f"t.csv:{i}") for i in range(8)])
        async with store.uow() as repo:
            minji = await repo.create_worker("민지", project.id, T0)
            tom = await repo.create_worker("Tom", project.id, T0)
            await repo.create_worker("Idle", project.id, T0)
            await repo.conn.execute("UPDATE workers SET tz = 'America/New_York' WHERE id = ?",
                                    (tom.id,))
            day1 = await repo.create_batch(minji.id, "2026-11-23", T0, T0 + timedelta(hours=14),
                                           scheduled=False)
            day2 = await repo.create_batch(minji.id, "2026-11-24", T0, T0 + timedelta(days=2),
                                           scheduled=False)
            await repo.add_practice_answer(minji.id, 8, 0, True, kst(23, 9, 58))
            await repo.add_practice_answer(minji.id, 8, 1, False, kst(23, 9, 59))
            for item, start in ((1, 0), (2, 30), (3, 60)):
                shown = kst(23, 10, 0) + timedelta(seconds=start)
                await repo.add_answer(item, minji.id, day1.id, 0, shown,
                                      shown + timedelta(seconds=30))
            await repo.add_answer(4, minji.id, day1.id, 1, kst(23, 11, 5), kst(23, 11, 7))
            assert await repo.change_answer(1, minji.id, 1, kst(23, 11, 9))
            await repo.add_answer(5, minji.id, day2.id, 0, kst(24, 23, 58), kst(25, 0, 1))
            tom_day = await repo.create_batch(tom.id, "2026-11-23", T0, T0 + timedelta(days=1),
                                              scheduled=False)
            shown = datetime(2026, 11, 23, 9, 0, tzinfo=NEW_YORK)
            await repo.add_answer(6, tom.id, tom_day.id, 0, shown, shown + timedelta(seconds=40))


@pytest.fixture
async def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "haru.db"
    monkeypatch.setenv("HARU_DB", str(path))
    await build(path)
    return path


WIRED = hasattr(bot.cli, "cli_reports")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haru")
    cli_reports.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


async def run(*argv: str) -> int:
    """`haru ...`: through bot.cli.main once the command is wired in there; until then the same
    way main runs a command (a task or storage error is one line "haru: ...", exit 1)."""
    if WIRED:
        return await asyncio.to_thread(bot.cli.main, list(argv))
    args = _parser().parse_args(list(argv))
    command = cli_reports.COMMANDS[(args.command, args.report_command)]
    try:
        return await command(args, Config.from_env())
    except (TaskError, StorageError) as exc:
        print(f"haru: {exc}", file=sys.stderr)
        return 1


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def cells(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


HEADER = ["WORKER", "DATE", "WORKED", "HOURS", "ANSWERS", "FIRST", "LAST"]
MINJI = [
    ["민지", "2026-11-23", "0:08", "0.13", "4", "09:58", "11:09"],
    ["민지", "2026-11-24", "0:02", "0.03", "0", "23:58", "23:58"],
    ["민지", "2026-11-25", "0:01", "0.02", "1", "00:01", "00:01"],
    ["민지", "total", "0:11", "0.18", "5"],  # 10.5 minutes: 0.175 h
]
TOM = [
    ["Tom", "2026-11-23", "0:01", "0.01", "1", "09:00", "09:00"],
    ["Tom", "total", "0:01", "0.01", "1"],
]


async def test_the_table_shows_each_workers_days_in_their_own_time_with_totals(
    db: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-25") == 0
    lines = cells(capsys.readouterr().out)
    assert lines[0][:3] == ["Hours", "worked,", "2026-11-23"]
    # Idle did nothing and is not listed; the grand total is 670 s: 0.186 h.
    assert lines[1:] == [HEADER, *TOM, *MINJI, ["all", "workers", "total", "0:11", "0.19", "6"]]


async def test_one_worker_and_part_of_a_night_session(
    db: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run("report", "hours", "--from", "2026-11-24", "--to", "2026-11-24",
                     "--worker", "민지") == 0
    assert cells(capsys.readouterr().out)[1:] == [
        HEADER, MINJI[1], ["민지", "total", "0:02", "0.03", "0"],
        ["all", "workers", "total", "0:02", "0.03", "0"]]
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-30",
                     "--worker", "Idle") == 0
    assert capsys.readouterr().out == "Idle did not work on 2026-11-23 to 2026-11-30.\n"
    assert await run("report", "hours", "--from", "2026-12-01", "--to", "2026-12-31") == 0
    assert capsys.readouterr().out == "Nobody worked on 2026-12-01 to 2026-12-31.\n"


async def test_the_csv_has_a_row_per_worker_and_day(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hours.csv"
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-25",
                     "--csv", str(out)) == 0
    assert out.read_bytes().decode("utf-8") == (
        "worker,date,minutes,hours,answers,first,last\n"
        "Tom,2026-11-23,1,0.01,1,09:00,09:00\n"
        "민지,2026-11-23,8,0.13,4,09:58,11:09\n"
        "민지,2026-11-24,2,0.03,0,23:58,23:58\n"
        "민지,2026-11-25,1,0.02,1,00:01,00:01\n"
    )
    assert "Wrote 4 rows to" in capsys.readouterr().out
    assert "hours.csv" in names(tmp_path)
    assert [n for n in names(tmp_path) if n.endswith(".tmp")] == []


async def test_an_existing_csv_is_kept_unless_forced(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hours.csv"
    out.write_text("keep me\n", encoding="utf-8")
    argv = ("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23", "--worker", "Tom",
            "--csv", str(out))
    assert await run(*argv) == 1
    assert "already exists: add --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me\n"
    assert await run(*argv, "--force") == 0
    capsys.readouterr()
    assert out.read_text(encoding="utf-8") == (
        "worker,date,minutes,hours,answers,first,last\nTom,2026-11-23,1,0.01,1,09:00,09:00\n")
    # Nobody worked: the file still comes, with its header, and one line says so.
    empty = tmp_path / "empty.csv"
    assert await run("report", "hours", "--from", "2027-01-01", "--to", "2027-01-02",
                     "--csv", str(empty)) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert empty.read_text(encoding="utf-8") == "worker,date,minutes,hours,answers,first,last\n"


@pytest.mark.parametrize(("dates", "message"), [
    (("2026-02-30", "2026-03-01"), '--from "2026-02-30" is not a real date.'),
    (("2026-11-01", "2026-13-01"), '--to "2026-13-01" is not a real date.'),
    (("23/11/2026", "2026-11-30"), '--from "23/11/2026" is not a date: use YYYY-MM-DD'),
    (("20261123", "2026-11-30"), '--from "20261123" is not a date'),
    (("2026-W48-1", "2026-11-30"), '--from "2026-W48-1" is not a date'),
    (("2026-11-1", "2026-11-30"), '--from "2026-11-1" is not a date'),
    (("", "2026-11-30"), '--from "" is not a date'),
    (("2026-11-30", "2026-11-23"), "--from 2026-11-30 is after --to 2026-11-23."),
    (("2025-01-01", "2026-01-02"), "is 367 days; a report covers at most 366."),
    (("0001-01-01", "0001-01-02"), "out of the calendar's range"),
])
async def test_bad_dates_are_one_line_and_write_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    dates: tuple[str, str], message: str,
) -> None:
    out = tmp_path / "hours.csv"
    assert await run("report", "hours", "--from", dates[0], "--to", dates[1],
                     "--csv", str(out)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("haru: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert not out.exists()


async def test_a_whole_leap_year_is_allowed(db: Path) -> None:
    assert await run("report", "hours", "--from", "2028-01-01", "--to", "2028-12-31") == 0


async def test_an_unknown_worker_points_to_the_worker_list(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hours.csv"
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23",
                     "--worker", "Nobody", "--csv", str(out)) == 1
    assert capsys.readouterr().err == (
        'haru: There is no worker called "Nobody". See `haru worker list`.\n')
    assert not out.exists()


async def test_no_database_or_no_workers_is_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "haru.db"
    monkeypatch.setenv("HARU_DB", str(path))
    out = tmp_path / "hours.csv"
    argv = ("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23", "--csv", str(out))
    assert await run(*argv) == 1
    assert "There are no workers yet" in capsys.readouterr().err
    assert not path.exists() and not out.exists()
    async with opened(path):
        pass  # a database with no workers in it
    assert await run(*argv) == 1
    assert "There are no workers yet" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("where", ["folder", "missing", "database"])
async def test_a_csv_place_that_cannot_be_a_file_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str,
) -> None:
    target = {"folder": tmp_path, "missing": tmp_path / "no" / "such" / "hours.csv",
              "database": db}[where]
    before = names(tmp_path)
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23",
                     "--csv", str(target), "--force") == 1
    err = capsys.readouterr().err
    assert err.startswith("haru: --csv ") and err.count("\n") == 1
    assert names(tmp_path) == before


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
async def test_a_read_only_folder_is_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23",
                         "--csv", str(folder / "hours.csv")) == 1
    assert capsys.readouterr().err.startswith("haru: Cannot write ")
    assert names(folder) == []


async def test_a_failed_write_leaves_no_file_and_no_temporary_file(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_reports.os, "fsync", full)
    folder = tmp_path / "out"
    folder.mkdir()
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23",
                     "--csv", str(folder / "hours.csv")) == 1
    assert capsys.readouterr().err == (
        f"haru: Cannot write {folder / 'hours.csv'}: No space left on device\n")
    assert names(folder) == []


async def test_activity_reads_only_the_span_and_knows_real_answers(db: Path) -> None:
    async with opened(db) as store, store.reader() as repo:
        # 민지's 23rd, from 10:00:30 to 11:07 (excluded): shown/given times in between.
        found = await activity(repo.conn, kst(23, 10, 0, 30), kst(23, 11, 7))
        assert [(a.name, a.tz) for a in found] == [("민지", "Asia/Seoul")]
        [minji] = found
        assert sorted(minji.points) == [kst(23, 10, 0, 30), kst(23, 10, 0, 30),
                                        kst(23, 10, 1), kst(23, 10, 1), kst(23, 10, 1, 30),
                                        kst(23, 11, 5)]
        assert sorted(minji.answers) == [kst(23, 10, 0, 30), kst(23, 10, 1), kst(23, 10, 1, 30)]
        # Only the change of the first answer (11:09) and practice are found on their own.
        [changed] = await activity(repo.conn, kst(23, 11, 8), kst(23, 12, 0), minji.worker_id)
        assert (changed.points, changed.answers) == ((kst(23, 11, 9),), ())
        [practice] = await activity(repo.conn, kst(23, 9, 0), kst(23, 9, 59, 30))
        assert (practice.points, practice.answers) == ((kst(23, 9, 58), kst(23, 9, 59)), ())
        assert await activity(repo.conn, kst(23, 9, 0), kst(23, 10, 0), 2) == []


async def test_one_workers_activity_is_found_through_their_index(db: Path) -> None:
    async with opened(db) as store, store.reader() as repo:
        for sql in queries(1):
            cursor = await repo.conn.execute(
                f"EXPLAIN QUERY PLAN {sql}", {"since": "a", "until": "b", "worker": 1})
            plan = " ".join(str(row[3]) for row in await cursor.fetchall())
            assert "USING INDEX answers_worker (worker_id=?)" in plan or (
                "USING INDEX practice_answers_worker (worker_id=?)" in plan), plan


@pytest.mark.skipif(not WIRED, reason="bot.cli does not include cli_reports yet")
def test_haru_main_knows_the_report(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bot.cli.main(["report", "hours", "--from", "2026-11-23", "--to", "2026-11-23",
                         "--worker", "Tom"]) == 0
    assert cells(capsys.readouterr().out)[1:3] == [HEADER, TOM[0]]
    assert bot.cli.main(["report", "hours", "--from", "2026-11-23", "--to", "x"]) == 1


async def test_a_worker_in_an_unknown_zone_is_named_in_one_line(
    db: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    async with opened(db) as store, store.uow() as repo:
        await repo.conn.execute("UPDATE workers SET tz = 'Mars/Olympus' WHERE name = 'Tom'")
    assert await run("report", "hours", "--from", "2026-11-23", "--to", "2026-11-23") == 1
    assert capsys.readouterr().err == (
        "haru: Tom's time zone \"Mars/Olympus\" is not one I know: set it with "
        "`haru worker set Tom --tz Asia/Seoul` (or theirs).\n")
