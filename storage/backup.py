"""A consistent copy of the database, taken while the bot keeps working.

SQLite's online backup API copies every page in one step, inside one read transaction: the copy
is one moment of the database, whatever is written meanwhile. The database is in WAL mode, so
that read never blocks the bot's writes (nor they it); the WAL only grows until the copy ends.

The copy goes to a temporary file beside the target, is checked (`PRAGMA integrity_check`) and
only then renamed into place: a failed or interrupted backup leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.errors import StorageError
from storage.files import put_in_place, temp_beside

# SQLite's files that belong to a database besides the database itself.
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    projects: int
    items: int
    answers: int


class TargetExists(StorageError):
    """The target appeared while the copy was being made (and --force was not given)."""


def _source(database: Path) -> sqlite3.Connection:
    # mode=rw: never create a database that is not there; the copy only reads.
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=rw", uri=True,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def copy_database(database: Path, temp: Path) -> None:
    """Every page of `database`, as of one moment, into the empty file `temp`."""
    source = _source(database)
    try:
        target = sqlite3.connect(temp, isolation_level=None)
        try:
            source.backup(target, pages=-1)  # -1: all pages in one step, one snapshot
        finally:
            target.close()
    finally:
        source.close()


def check_copy(temp: Path) -> BackupReport:
    """The copy stands on its own (no -wal beside it), passes the integrity check, and what
    it holds."""
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        # The copy carries the database's WAL flag; a one-file copy is simpler to keep and to
        # move. Haru turns WAL on again when it opens a restored copy.
        conn.execute("PRAGMA journal_mode = DELETE")
        problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise StorageError("The copy failed SQLite's integrity check: "
                               + "; ".join(problems[:3]))
        counts = [int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                  for table in ("projects", "items", "answers")]
    finally:
        conn.close()
    return BackupReport(temp, temp.stat().st_size, *counts)


def _sync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be synced
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def backup(database: Path, target: Path, *, force: bool = False) -> BackupReport:
    """Copy `database` to `target` (checked first by the caller), whole or not at all."""
    temp, descriptor = temp_beside(target)
    os.close(descriptor)
    try:
        try:
            copy_database(database, temp)
            report = check_copy(temp)
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot back up {database}: {exc}") from exc
        _sync(temp)  # the data is on disk before the name points at it
        try:
            put_in_place(temp, target, force=force)
        except FileExistsError:
            raise TargetExists(f"{target} already exists: add --force to write over it.") from None
        _sync_folder(target.parent)
    finally:
        for leftover in (temp, *(temp.with_name(temp.name + s) for s in SIDE_FILES)):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
    return BackupReport(target, report.bytes, report.projects, report.items, report.answers)
