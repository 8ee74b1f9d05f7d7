"""SQL for schedules, coordinators and the notices the bot sends on its own.

A mixin of `storage.repo.SqlRepo`: it runs inside the same transaction as the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

import aiosqlite

from storage.times import ts
from tasks.model import Coordinator, Notice, NoticeKind, NoticeState
from tasks.schedule import encode_days


def _ts(value: datetime | None) -> str | None:
    return ts(value) if value is not None else None


def _coordinator(row: aiosqlite.Row) -> Coordinator:
    unreachable = row["unreachable_at"]
    return Coordinator(
        id=row["id"], name=row["name"], tg_user_id=row["tg_user_id"], chat_id=row["chat_id"],
        lang=row["lang"],
        unreachable_at=datetime.fromisoformat(unreachable) if unreachable else None,
    )


def _notice(row: aiosqlite.Row) -> Notice:
    return Notice(
        id=row["id"], kind=NoticeKind(row["kind"]), worker_id=row["worker_id"],
        coordinator_id=row["coordinator_id"], batch_id=row["batch_id"],
        due_at=datetime.fromisoformat(row["due_at"]), attempts=row["attempts"], seq=row["seq"],
    )


class PeopleSql:
    conn: aiosqlite.Connection

    # --- a worker's schedule --------------------------------------------------------------

    async def set_schedule(
        self, worker_id: int, *, days: frozenset[int], start: time, tz: str, batch_size: int,
        reminder: time | None,
    ) -> None:
        await self.conn.execute(
            "UPDATE workers SET days = ?, start_at = ?, tz = ?, batch_size = ?, reminder_at = ?"
            " WHERE id = ?",
            (encode_days(days), start.strftime("%H:%M"), tz, batch_size,
             reminder.strftime("%H:%M") if reminder else None, worker_id),
        )

    async def set_next_due(self, worker_id: int, when: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE workers SET next_due_at = ? WHERE id = ?", (_ts(when), worker_id)
        )

    async def set_paused(self, worker_id: int, when: datetime | None,
                         resumed: datetime | None = None) -> None:
        """Pause at `when`, or (None) resume, noting when (`resumed`)."""
        await self.conn.execute(
            "UPDATE workers SET paused_at = ?, resumed_at = coalesce(?, resumed_at) WHERE id = ?",
            (_ts(when), _ts(resumed), worker_id),
        )

    async def set_unreachable(self, worker_id: int, when: datetime | None) -> bool:
        """Mark (or clear) a worker as unreachable; True if that changed anything."""
        if when is None:
            sql = "UPDATE workers SET unreachable_at = NULL WHERE id = ? AND unreachable_at"
            cursor = await self.conn.execute(sql + " IS NOT NULL", (worker_id,))
        else:
            cursor = await self.conn.execute(
                "UPDATE workers SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
                (_ts(when), worker_id),
            )
        return cursor.rowcount == 1

    async def due_worker_ids(self, now: datetime, limit: int) -> list[int]:
        """Workers whose next batch is due, who have joined and are neither paused nor
        unreachable (those have their next_due_at cleared)."""
        cursor = await self.conn.execute(
            "SELECT id FROM workers WHERE next_due_at IS NOT NULL AND next_due_at <= ?"
            " ORDER BY next_due_at, id LIMIT ?",
            (ts(now), limit),
        )
        return [int(r[0]) for r in await cursor.fetchall()]

    async def unplanned_worker_ids(self) -> list[int]:
        """Joined, active workers with no next batch planned."""
        cursor = await self.conn.execute(
            "SELECT id FROM workers WHERE next_due_at IS NULL AND chat_id IS NOT NULL"
            " AND paused_at IS NULL AND unreachable_at IS NULL"
        )
        return [int(r[0]) for r in await cursor.fetchall()]

    async def worker_names(self) -> list[str]:
        cursor = await self.conn.execute("SELECT name FROM workers ORDER BY name")
        return [str(r[0]) for r in await cursor.fetchall()]

    # --- coordinators ---------------------------------------------------------------------

    async def create_coordinator(self, name: str, now: datetime) -> Coordinator:
        cursor = await self.conn.execute(
            "INSERT INTO coordinators (name, created_at) VALUES (?, ?)", (name, _ts(now))
        )
        found = await self.coordinator(int(cursor.lastrowid or 0))
        assert found is not None
        return found

    async def _coordinator_by(self, column: str, value: object) -> Coordinator | None:
        cursor = await self.conn.execute(
            f"SELECT * FROM coordinators WHERE {column} = ?", (value,)
        )
        row = await cursor.fetchone()
        return _coordinator(row) if row else None

    async def coordinator(self, coordinator_id: int) -> Coordinator | None:
        return await self._coordinator_by("id", coordinator_id)

    async def coordinator_by_name(self, name: str) -> Coordinator | None:
        return await self._coordinator_by("name", name)

    async def coordinator_by_tg(self, tg_user_id: int) -> Coordinator | None:
        return await self._coordinator_by("tg_user_id", tg_user_id)

    async def bind_coordinator(
        self, coordinator_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None:
        await self.conn.execute(
            "UPDATE coordinators SET tg_user_id = ?, chat_id = ?, lang = ?, unreachable_at = NULL,"
            " joined_at = coalesce(joined_at, ?) WHERE id = ?",
            (tg_user_id, chat_id, lang, _ts(now), coordinator_id),
        )

    async def reachable_coordinators(self) -> list[Coordinator]:
        cursor = await self.conn.execute(
            "SELECT * FROM coordinators WHERE chat_id IS NOT NULL AND unreachable_at IS NULL"
            " ORDER BY id"
        )
        return [_coordinator(r) for r in await cursor.fetchall()]

    async def set_coordinator_unreachable(
        self, coordinator_id: int, when: datetime | None
    ) -> None:
        await self.conn.execute(
            "UPDATE coordinators SET unreachable_at = ? WHERE id = ?", (_ts(when), coordinator_id)
        )

    # --- notices: what the bot sends on its own, at most once each --------------------------

    async def add_notice(
        self, kind: NoticeKind, worker_id: int, due_at: datetime, now: datetime, *,
        batch_id: int | None = None, coordinator_id: int | None = None,
    ) -> None:
        """Plan a notice; a batch's message or reminder exists once, whatever happens."""
        await self.conn.execute(
            "INSERT INTO notices (kind, worker_id, coordinator_id, batch_id, due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (str(kind), worker_id, coordinator_id, batch_id, _ts(due_at), _ts(now)),
        )

    async def drop_due_notices(self, worker_id: int, kind: NoticeKind) -> int:
        cursor = await self.conn.execute(
            "UPDATE notices SET state = 'dropped', error = 'schedule changed'"
            " WHERE worker_id = ? AND kind = ? AND state = 'due'",
            (worker_id, str(kind)),
        )
        return cursor.rowcount

    async def due_notices(self, now: datetime, limit: int) -> Sequence[Notice]:
        cursor = await self.conn.execute(
            "SELECT * FROM notices WHERE state = 'due' AND due_at <= ? ORDER BY due_at, id"
            " LIMIT ?",
            (_ts(now), limit),
        )
        return [_notice(r) for r in await cursor.fetchall()]


    async def update_notice(
        self, notice_id: int, state: NoticeState, *, due_at: datetime | None = None,
        attempts: int | None = None, seq: int | None = None, message_id: int | None = None,
        error: str | None = None, sent_at: datetime | None = None,
    ) -> None:
        await self.conn.execute(
            "UPDATE notices SET state = ?, due_at = coalesce(?, due_at),"
            " attempts = coalesce(?, attempts), seq = coalesce(?, seq),"
            " message_id = coalesce(?, message_id), error = coalesce(?, error),"
            " sent_at = coalesce(?, sent_at) WHERE id = ?",
            (str(state), _ts(due_at), attempts, seq, message_id, error, _ts(sent_at),
             notice_id),
        )

    async def interrupted_notices(self) -> Sequence[Notice]:
        """Notices left 'sending' by a process that stopped before it knew the outcome."""
        cursor = await self.conn.execute("SELECT * FROM notices WHERE state = 'sending'")
        return [_notice(r) for r in await cursor.fetchall()]

