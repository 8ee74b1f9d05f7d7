"""The one SQLite file: connection, pragmas, forward migrations and serialized transactions."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import StorageError

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
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        db = cls(Path(path))
        await db.connect()
        return db

    async def connect(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            raise StorageError(f"The folder for the database does not exist: {self.path.parent}")
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before the worker sees "saved" (see bench/bench_storage.py).
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            await self._migrate()
        except BaseException as exc:
            self._conn = None
            await conn.close()
            if isinstance(exc, StorageError) or not isinstance(exc, Exception):
                raise
            # sqlite3.DatabaseError: not a database, unreadable, disk full, ...
            raise StorageError(f"Cannot open the database {self.path}: {exc}") from exc

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
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
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent read, never interleaved with another coroutine's transaction."""
        async with self._lock:
            yield self.conn


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements; migrations keep ';' out of strings and triggers."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
