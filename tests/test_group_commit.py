"""Quick transactions (a worker's tap) waiting at once are saved by one COMMIT, and each one
still succeeds or fails on its own (storage/db.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database


async def opened(tmp_path: Path) -> tuple[Database, list[str]]:
    db = await Database.open(tmp_path / "haru.db")
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    commits: list[str] = []
    real = db.conn.commit

    async def commit() -> None:
        commits.append("commit")
        await real()

    db.conn.commit = commit  # type: ignore[method-assign]
    return db, commits


async def on_disk(path: Path) -> list[int]:
    """What another connection (another process) reads: only what was committed."""
    with sqlite3.connect(path) as other:
        return [r[0] for r in other.execute("SELECT n FROM t ORDER BY n")]


async def test_taps_waiting_at_once_share_one_commit_and_all_are_on_disk(
    tmp_path: Path,
) -> None:
    db, commits = await opened(tmp_path)
    done: list[int] = []

    async def tap(n: int) -> None:
        async with db.quick_transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
            await asyncio.sleep(0)  # others queue up meanwhile
        done.append(n)
        # When it returns, it is on disk, for anyone.
        assert n in await on_disk(tmp_path / "haru.db")

    await asyncio.gather(*(tap(n) for n in range(20)))
    assert sorted(done) == list(range(20))
    assert await on_disk(tmp_path / "haru.db") == list(range(20))
    assert 1 <= len(commits) < 10
    await db.close()


async def test_one_failing_tap_undoes_only_its_own_changes(tmp_path: Path) -> None:
    db, _ = await opened(tmp_path)

    async def tap(n: int) -> None:
        async with db.quick_transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
            await asyncio.sleep(0)
            if n == 3:
                raise ValueError("a bug in this one tap")

    results = await asyncio.gather(*(tap(n) for n in range(6)), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["ValueError"] + \
        ["NoneType"] * 2
    assert await on_disk(tmp_path / "haru.db") == [0, 1, 2, 4, 5]
    await db.close()


async def test_a_commit_that_fails_fails_every_tap_in_it_and_saves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, _ = await opened(tmp_path)
    real = db.conn.commit
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def commit() -> None:
        if failures:
            raise failures.pop()
        await real()

    db.conn.commit = commit  # type: ignore[method-assign]

    async def tap(n: int) -> None:
        async with db.quick_transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
            await asyncio.sleep(0)

    results: list[Any] = await asyncio.gather(*(tap(n) for n in range(4)),
                                              return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert await on_disk(tmp_path / "haru.db") == []
    await tap(9)  # the next group is saved as usual
    assert await on_disk(tmp_path / "haru.db") == [9]
    await db.close()


async def test_a_reader_or_a_plain_transaction_first_saves_the_group_before_it(
    tmp_path: Path,
) -> None:
    db, _ = await opened(tmp_path)

    async def tap(n: int) -> None:
        async with db.quick_transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
            await asyncio.sleep(0)

    async def plain() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (100)")

    async def read() -> list[int]:
        async with db.read() as conn:
            cursor = await conn.execute("SELECT count(*) FROM t")
            row = await cursor.fetchone()
        return [int(row[0])] if row else []

    await asyncio.gather(tap(1), tap(2), plain(), tap(3), read())
    assert await on_disk(tmp_path / "haru.db") == [1, 2, 3, 100]
    assert await read() == [4]
    await db.close()


async def test_an_error_that_undoes_the_whole_group_fails_every_tap_in_it(
    tmp_path: Path,
) -> None:
    # Some errors (disk full, I/O) make SQLite undo the whole transaction, not one statement:
    # then no tap of the group may be told it was saved.
    db, _ = await opened(tmp_path)
    async with db.transaction() as conn:
        await conn.execute("CREATE TRIGGER boom BEFORE INSERT ON t WHEN NEW.n = 3"
                           " BEGIN SELECT RAISE(ROLLBACK, 'the disk is full'); END")

    async def tap(n: int) -> str:
        try:
            async with db.quick_transaction() as conn:
                await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
                await asyncio.sleep(0)
        except Exception as exc:
            return type(exc).__name__
        return "saved"

    told = await asyncio.gather(*(tap(n) for n in range(6)))
    on_record = await on_disk(tmp_path / "haru.db")
    for n, what in enumerate(told):
        assert (what == "saved") == (n in on_record), (n, what, on_record)
    assert 3 not in on_record and told[3] != "saved"
    await tap(9)  # and the database goes on as usual
    assert 9 in await on_disk(tmp_path / "haru.db")
    async with db.read() as conn:
        pass  # nothing left open: another process can write
    with sqlite3.connect(tmp_path / "haru.db", timeout=0.5) as other:
        other.execute("INSERT INTO t (n) VALUES (50)")
    await db.close()
