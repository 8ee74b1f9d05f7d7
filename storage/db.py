"""The one SQLite file: connection, pragmas, forward migrations and serialized transactions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import StorageError
from storage.inline import InlineConnection

log = logging.getLogger(__name__)

GROUP_MOST = 64  # quick transactions saved by one COMMIT, at most
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    """All migrations shipped with Haru, as (version, SQL), in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    return found


class Database:
    """One aiosqlite connection shared by the whole process.

    aiosqlite runs the connection on its own thread, and coroutines sharing it share its
    transaction; so every unit of work takes `self._lock` and writes run under BEGIN IMMEDIATE.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._inline: InlineConnection | None = None
        self._lock = asyncio.Lock()
        self._group: _Group | None = None  # quick transactions waiting for one COMMIT
        self._wanting = 0  # quick transactions waiting for the lock
        self._pending: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        db = cls(Path(path))
        await db.connect()
        return db

    async def connect(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            raise StorageError(f"The folder for the database does not exist: {self.path.parent}")
        path = str(self.path)
        raws: list[sqlite3.Connection] = []

        def connector() -> sqlite3.Connection:
            # Not bound to aiosqlite's thread: the labeling loop's statements run inline
            # (storage/inline.py), one user at a time under self._lock.
            raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            raws.append(raw)
            return raw

        conn = await aiosqlite.Connection(connector, 64)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk (taps share commits: quick_transaction below).
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            self._inline = InlineConnection(raws[0])
            await self._migrate()
        except BaseException as exc:
            self._conn = None
            await conn.close()
            if isinstance(exc, StorageError) or not isinstance(exc, Exception):
                raise
            # sqlite3.DatabaseError: not a database, unreadable, disk full, ...
            raise StorageError(f"Cannot open the database {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._conn is not None and self._group is not None:
            async with self._lock:
                await self._settle()
        if self._conn is not None:
            conn, self._conn, self._inline = self._conn, None, None
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("The database is not open.")
        return self._conn

    async def _migrate(self) -> None:
        async with self._lock:
            row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            known = migrations()
            newest = known[-1][0] if known else 0
            if current > newest:
                raise StorageError(
                    f"The database {self.path} is from a newer Haru (schema {current}, "
                    f"this one knows {newest}). Update Haru."
                )
            for version, sql in known:
                if version <= current:
                    continue
                # executescript would commit on its own; run the statements in one transaction.
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _split_sql(sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {version}")
                    await self.conn.commit()
                except BaseException:
                    await self.conn.rollback()
                    raise

    async def schema_version(self) -> int:
        row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
        return int(row[0]) if row else 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: all of it is saved, or none of it."""
        async with self._lock:
            await self._settle()
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()

    @contextlib.asynccontextmanager
    async def quick_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction of a few small indexed statements (a worker's tap), saved
        with the others that were waiting for their turn: one COMMIT, one fsync, for all
        of them (group commit). Its statements run on the event loop itself
        (storage/inline.py); BEGIN and COMMIT wait in aiosqlite's thread.

        It is a SAVEPOINT inside the group's transaction: if it fails, only its own changes
        are undone. It returns only once the group's COMMIT is on disk, and raises if that
        COMMIT failed (then nothing of the group was saved)."""
        self._wanting += 1
        try:
            await self._lock.acquire()
        finally:
            self._wanting -= 1
        try:
            group = await self._join()
            inline = self._inline
            assert inline is not None
            await inline.execute("SAVEPOINT tap")
            try:
                yield inline  # type: ignore[misc]
            except BaseException:
                await self._undo_member(inline, group)
                raise
            await inline.execute("RELEASE tap")
            group.members += 1
            if self._wanting == 0 or group.members >= GROUP_MOST:
                await self._settle(member=True)
            else:  # the next in line joins; should it never come, this commits anyway
                self._settle_soon(group)
        finally:
            self._lock.release()
        await group.saved

    async def _undo_member(self, inline: InlineConnection, group: _Group) -> None:
        """A member failed: undo its own changes, and save the others' unless someone is
        about to join. Some errors (disk full, I/O) undo the whole transaction: then the
        group failed, and each member that was in it learns so."""
        if inline.in_transaction:
            try:
                await inline.execute("ROLLBACK TO tap")
                await inline.execute("RELEASE tap")
            except sqlite3.Error:
                log.exception("could not undo a failed unit of work alone")
                with contextlib.suppress(Exception):
                    await self.conn.rollback()
        if not inline.in_transaction:
            if self._group is group:
                self._group = None
            group.saved.set_exception(StorageError(
                "The database undid the whole transaction; nothing of it was saved."))
            return
        if self._wanting == 0:
            await self._settle()  # the others' work, now; the write lock is not kept
        else:
            self._settle_soon(group)

    async def _join(self) -> _Group:
        """The open group of quick transactions, begun now if there is none (under the lock)."""
        if self._group is None:
            await self.conn.execute("BEGIN IMMEDIATE")
            saved: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            saved.add_done_callback(_retrieved)
            self._group = _Group(saved)
        return self._group

    async def _settle(self, *, member: bool = False) -> None:
        """Commit the open group, if any (under the lock); its members learn how it went.
        Only a member raises its failure; anyone else goes on with the database as it is."""
        group, self._group = self._group, None
        if group is None:
            return
        try:
            await self.conn.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.conn.rollback()
            failure = exc if isinstance(exc, Exception) else StorageError("interrupted")
            group.saved.set_exception(failure)
            if member or not isinstance(exc, Exception):
                raise
            return
        group.saved.set_result(None)

    def _settle_soon(self, group: _Group) -> None:
        async def settle() -> None:
            async with self._lock:
                if self._group is group:
                    await self._settle()

        task = asyncio.get_running_loop().create_task(settle())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @contextlib.asynccontextmanager
    async def quick_read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read of a few indexed rows (who is tapping, the next item), on the event loop
        itself (storage/inline.py): in WAL mode a read never waits for a writer."""
        async with self._lock:
            await self._settle()
            assert self._inline is not None
            yield self._inline  # type: ignore[misc]

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent read, never interleaved with another coroutine's transaction."""
        async with self._lock:
            await self._settle()
            yield self.conn


@dataclass
class _Group:
    """Quick transactions saved by one COMMIT."""

    saved: asyncio.Future[None]
    members: int = 0


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # each member raises it; this only stops asyncio's warning


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements; migrations keep ';' out of strings and triggers."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
