"""The SQLite file: pragmas, migrations, transactions, and nothing lost when the process dies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage.db import Database, migrations
from storage.errors import StorageError
from storage.repo import Store


async def test_a_new_database_is_wal_with_foreign_keys_at_the_newest_schema(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "h.db")
    try:
        async with db.read() as conn:
            mode = await (await conn.execute("PRAGMA journal_mode")).fetchone()
            fks = await (await conn.execute("PRAGMA foreign_keys")).fetchone()
        assert mode is not None and mode[0] == "wal"
        assert fks is not None and fks[0] == 1
        assert await db.schema_version() == migrations()[-1][0]
    finally:
        await db.close()


async def test_opening_again_does_not_rerun_migrations(tmp_path: Path) -> None:
    for _ in range(2):
        db = await Database.open(tmp_path / "h.db")
        await db.close()
    with sqlite3.connect(tmp_path / "h.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables.count("projects") == 1


async def test_a_database_from_a_newer_haru_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError, match="newer Haru"):
        await Database.open(path)


async def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="Cannot open the database"):
        await Database.open(path)


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = Store(await Database.open(tmp_path / "h.db"))
    try:
        with pytest.raises(RuntimeError):
            async with store.uow() as repo:
                await repo.create_project("p", "Q?", ("🐶 Dog", "🐱 Cat"), 3, datetime.now(UTC))
                raise RuntimeError("power cut")
        async with store.uow() as repo:
            assert await repo.project_by_name("p") is None
    finally:
        await store.db.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "h.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO workers (name, project_id, created_at) VALUES ('x', 42, 'now')"
                )
    finally:
        await db.close()


_WORKER_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from datetime import UTC, datetime
    from storage.db import Database
    from storage.repo import SqlItemSink, Store
    from tasks.importing import PreparedText
    from tasks.labeling import LabelingService
    from tasks.workers import ScheduleChange, invite_worker

    async def main():
        store = Store(await Database.open(sys.argv[1]))
        now = datetime.now(UTC)
        async with store.uow() as repo:
            project = await repo.create_project("p", "Q?", ("🐶 Dog", "🐱 Cat"), 3, now)
            every_day = ScheduleChange(days=frozenset(range(7)))  # whatever today is
            worker = (await invite_worker(repo, "w", "p", now, schedule=every_day)).worker
        await SqlItemSink(store).add_items(
            project.id, [PreparedText(f"s{i}", f"k{i}", "x") for i in range(5)])
        service = LabelingService(store.uow)
        screen = await service.start(worker.id, now)
        for _ in range(3):
            screen = await service.answer(worker.id, screen.seq, screen.item.id, 0, now)
        print("saved", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


def test_answers_survive_the_process_being_killed_between_taps(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    child = subprocess.Popen([sys.executable, "-c", _WORKER_SCRIPT, str(path)],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "saved"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM answers").fetchone() == (3,)
        state = conn.execute("SELECT mode, item_id FROM worker_state").fetchone()
    assert state[0] == "work" and state[1] is not None
