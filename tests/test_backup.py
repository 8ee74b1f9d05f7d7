"""`haru backup`: a copy of one moment of the database, taken while it is being written, checked,
and put in place whole; and a copy that Haru opens and carries on with (the restore)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage import backup as backup_module
from storage.backup import backup
from storage.db import Database
from storage.errors import StorageError
from tests.harness import Harness
from tests.test_bot_loop import answers


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


async def seeded(path: Path) -> None:
    """A Haru database with a project, a worker and a day's batch to hang answers on."""
    db = await Database.open(path)
    try:
        async with db.transaction() as conn:
            now = datetime.now(UTC).isoformat()
            await conn.execute("INSERT INTO projects (name, question, choices, overlap,"
                               " created_at) VALUES ('animals', 'q?', '[\"🐶 Dog\", \"🐱 Cat\"]',"
                               " 3, ?)", (now,))
            await conn.execute("INSERT INTO workers (name, project_id, created_at)"
                               " VALUES ('민지', 1, ?)", (now,))
            await conn.execute("INSERT INTO batches (worker_id, day, size, created_at, ends_at)"
                               " VALUES (1, '2026-11-23', 0, ?, ?)", (now, now))
    finally:
        await db.close()


def restore(copy: Path, db: Path) -> None:
    """The README's restore, with the bot stopped: the old files aside, the copy in place."""
    aside = db.parent / "before-restore"
    aside.mkdir()
    for side in ("", "-wal", "-shm"):
        old = Path(f"{db}{side}")
        if old.exists():
            old.rename(aside / old.name)
    shutil.copyfile(copy, db)


class Writer(threading.Thread):
    """Writes as the bot does, through its own connection: each answer (with its item) in a
    small transaction of its own, until told to stop."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.committed = 0  # answers committed so far (read by the test)
        self.started_writing = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA synchronous = FULL")
            while not self.stop.is_set() and self.committed < 200_000:
                n = self.committed + 1
                conn.execute("BEGIN IMMEDIATE")
                item = conn.execute(
                    "INSERT INTO items (project_id, kind, text, content_key, source, created_at,"
                    " wanted, n_answers) VALUES (1, 'text', ?, ?, 'w', 'now', 3, 1)",
                    (f"sentence {n}", f"k{n}")).lastrowid
                conn.execute("INSERT INTO answers (item_id, worker_id, batch_id, choice,"
                             " shown_at, answered_at) VALUES (?, 1, 1, 0, 'now', 'now')", (item,))
                conn.execute("COMMIT")
                self.committed = n  # only once it is committed
                if n >= 300:
                    self.started_writing.set()
        except BaseException as exc:
            self.error = exc
            self.started_writing.set()
        finally:
            conn.close()


def test_a_backup_taken_mid_stream_holds_everything_committed_before_it_and_is_one_moment(
    tmp_path: Path,
) -> None:
    db, copy = tmp_path / "haru.db", tmp_path / "copy.db"
    asyncio.run(seeded(db))
    writer = Writer(db)
    writer.start()
    try:
        assert writer.started_writing.wait(timeout=60)  # a safety net, not a measurement
        before = writer.committed
        report = backup(db, copy)
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    (copied,) = rows(copy, "SELECT count(*) FROM answers")[0]
    assert isinstance(copied, int) and copied >= before
    assert report.answers == copied and report.projects == 1 and report.items == copied
    # One moment: every answer with its item, and the answers a gapless prefix of the stream.
    assert rows(copy, "SELECT count(*), min(id), max(id) FROM answers") == [(copied, 1, copied)]
    assert rows(copy, "SELECT count(*) FROM items i WHERE NOT EXISTS"
                      " (SELECT 1 FROM answers a WHERE a.item_id = i.id)") == [(0,)]
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]  # one file, nothing beside it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == [
        "copy.db"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


async def test_a_backup_while_the_bot_runs_and_a_worker_answers(harness: Harness,
                                                                tmp_path: Path) -> None:
    await harness.pictures(await harness.project(), 20)
    phone = harness.phone(111)
    await phone.join(await harness.invite("민지"))
    await phone.tap("▶️")
    for _ in range(5):
        await phone.tap("🐶 Dog")
    before = len(await answers(harness))
    copy = tmp_path / "backups" / "haru-copy.db"
    copy.parent.mkdir()
    running = asyncio.create_task(asyncio.to_thread(backup, harness.db_path, copy))
    for _ in range(5):  # the worker carries on while the copy is made
        await phone.tap("🐱 Cat")
    report = await running
    assert rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert report.answers >= before == 5
    assert len(await answers(harness)) == 10  # the bot lost nothing meanwhile
    # The restore: a copy in place of haru.db opens, and the worker carries on from it.
    await harness.stop()
    restore(copy, harness.db_path)
    await harness.start()
    assert len(await answers(harness)) == report.answers
    await phone.send("/start")
    assert "민지 님" in phone.words()


# --- haru backup, the command --------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "haru.db"
    monkeypatch.setenv("HARU_DB", str(path))
    assert main(["project", "create", "animals", "--question", "What is it?",
                 "--choice", "🐶 Dog", "--choice", "🐱 Cat"]) == 0
    return path


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_backup_prints_its_size_and_what_it_holds(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Backed up {db} to {tmp_path / 'b.db'}: ")
    assert out[0].endswith(" KB, integrity check ok.")
    assert out[1] == "It holds 1 projects, 0 items and 0 answers."
    assert rows(tmp_path / "b.db", "SELECT name FROM projects") == [("animals",)]


def test_backup_writes_over_a_file_only_with_force(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b.db"
    target.write_text("an older backup")
    capsys.readouterr()
    assert main(["backup", str(target)]) == 1
    assert capsys.readouterr().err == f"haru: {target} already exists: add --force to write " \
                                      "over it.\n"
    assert target.read_text() == "an older backup"
    assert main(["backup", str(target), "--force"]) == 0
    assert rows(target, "SELECT name FROM projects") == [("animals",)]


@pytest.mark.parametrize("name", ["haru.db", "./haru.db", "link.db", "haru.db-wal",
                                  "haru.db-shm"])
def test_backup_never_writes_over_the_database_itself(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    (tmp_path / "link.db").symlink_to(db)
    monkeypatch.chdir(tmp_path)
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["backup", name, "--force"]) == 1
    assert capsys.readouterr().err == (f"haru: {Path(name)} is the database itself: back it "
                                       "up to another file.\n")
    assert db.read_bytes() == before


def test_backup_refuses_a_missing_folder_a_folder_and_a_missing_database(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed = files(tmp_path)
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "nowhere" / "b.db")]) == 1
    assert capsys.readouterr().err == (f"haru: Cannot write {tmp_path / 'nowhere' / 'b.db'}: "
                                       f"the folder {tmp_path / 'nowhere'} does not exist.\n")
    assert main(["backup", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"haru: {tmp_path} is a folder: give a file name, e.g. "
                                       f"{tmp_path / 'haru-backup.db'}.\n")
    monkeypatch.setenv("HARU_DB", str(tmp_path / "other.db"))
    assert main(["backup", str(tmp_path / "b.db")]) == 1
    assert capsys.readouterr().err == (f"haru: There is no database at {tmp_path / 'other.db'}: "
                                       "nothing to back up. (Set HARU_DB if it is somewhere "
                                       "else.)\n")
    assert files(tmp_path) == listed  # nothing made, not even the missing database


def unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permissions: then /sys)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys")):
        try:
            (candidate / "probe").touch()
        except OSError:
            return candidate
        (candidate / "probe").unlink()
    pytest.skip("no folder here refuses new files")


def test_backup_to_a_folder_it_cannot_write_in_is_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = unwritable(tmp_path)
    capsys.readouterr()
    try:
        assert main(["backup", str(folder / "b.db")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"haru: Cannot write {folder / 'b.db'}: ")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert not (folder / "b.db").exists()
    finally:
        if folder.parent == tmp_path:
            folder.chmod(0o755)


def test_a_copy_that_fails_its_check_is_not_put_in_place(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(temp: Path) -> backup_module.BackupReport:
        raise StorageError("The copy failed SQLite's integrity check: page 3 is never used")

    monkeypatch.setattr(backup_module, "check_copy", broken)
    listed = files(tmp_path)
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "b.db")]) == 1
    assert capsys.readouterr().err == ("haru: The copy failed SQLite's integrity check: page 3 "
                                       "is never used\n")
    assert files(tmp_path) == listed  # no half-written copy, no temporary file


def test_a_backup_never_creates_a_database_that_was_not_there(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        backup(tmp_path / "missing.db", tmp_path / "b.db")
    assert files(tmp_path) == []
    assert os.listdir(tmp_path) == []
