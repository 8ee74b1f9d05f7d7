"""The statements of a worker's tap, run on the event loop itself instead of aiosqlite's thread.

aiosqlite sends every statement to its own thread and back: on the 2-core machine of
bench/tap.py a round trip costs ~50 µs, several times an indexed lookup (5-20 µs), and a tap
takes a dozen statements. An `InlineConnection` runs them directly on the same sqlite3
connection (opened with check_same_thread=False; `storage.db.Database` hands out one user at a
time under its lock, so the two never run at once). It keeps aiosqlite's coroutine API, so
the repositories do not know which one they have.

What can wait goes to the thread as before: BEGIN IMMEDIATE (it may wait up to busy_timeout
for another process, e.g. a `haru import`, to finish writing) and COMMIT (the fsync, and a
checkpoint now and then). Only units of work made of small indexed statements should be
inline (the labeling loop); scans (reports, exports, Dawid-Skene's reading) stay threaded,
so the event loop is never held for long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """aiosqlite.Connection's calls the repositories use, run on the calling thread."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return InlineCursor(self._raw.execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        return self._raw.execute(sql, parameters).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Any]) -> InlineCursor:
        return InlineCursor(self._raw.executemany(sql, rows))

    @property
    def total_changes(self) -> int:
        return self._raw.total_changes

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction
