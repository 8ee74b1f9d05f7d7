"""The row-fetching helpers every repository mixin shares (one connection, one transaction)."""

from __future__ import annotations

import aiosqlite


class Rows:
    conn: aiosqlite.Connection

    async def _one(self, sql: str, *args: object) -> aiosqlite.Row | None:
        cursor = await self.conn.execute(sql, args)
        return await cursor.fetchone()

    async def _all(self, sql: str, *args: object) -> list[aiosqlite.Row]:
        cursor = await self.conn.execute(sql, args)
        return list(await cursor.fetchall())
