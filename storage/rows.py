"""The row-fetching helpers every repository mixin shares (one connection, one transaction)."""

from __future__ import annotations

import aiosqlite


class Rows:
    conn: aiosqlite.Connection

    # One trip to the database thread each: execute and fetch together (aiosqlite's
    # execute + fetchone would be two, and a trip costs more than an indexed lookup;
    # see bench/tap.py).

    async def _one(self, sql: str, *args: object) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def _all(self, sql: str, *args: object) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, args))
