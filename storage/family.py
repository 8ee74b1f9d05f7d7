"""SQL for guardians, what was sent to them and to coordinators, and the coordinators' views.

A mixin of `storage.repo.SqlRepo`: it runs inside the same transaction as the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import aiosqlite

from storage.hours import activity
from storage.rows import Rows
from storage.status import ItemCounts, item_counts
from storage.times import parse_ts, ts
from tasks.family import Every, Guardian, Share
from tasks.schedule import next_local


def _guardian(row: aiosqlite.Row) -> Guardian:
    return Guardian(
        id=row["id"], worker_id=row["worker_id"], name=row["name"],
        tg_user_id=row["tg_user_id"], chat_id=row["chat_id"], lang=row["lang"], tz=row["tz"],
        every=Every(row["every"]), share=Share(row["share"]) if row["share"] else None,
        alerts=None if row["alerts"] is None else bool(row["alerts"]),
        asked_at=parse_ts(row["asked_at"]),
        consent_at=parse_ts(row["consent_at"]), stopped_at=parse_ts(row["stopped_at"]),
        consent_seq=row["consent_seq"], shared_since=parse_ts(row["shared_since"]),
        unreachable_at=parse_ts(row["unreachable_at"]), next_at=parse_ts(row["next_at"]),
    )


@dataclass(frozen=True)
class ProjectProgress:
    name: str
    items: int  # real work items
    done: int  # with a final label (agreement, model, a coordinator) or dropped
    review: int  # waiting for a coordinator
    answers_today: int

    @property
    def left(self) -> int:
        return self.items - self.done - self.review


class FamilySql(Rows):

    # --- guardians ------------------------------------------------------------------------

    async def guardian(self, guardian_id: int) -> Guardian | None:
        row = await self._one("SELECT * FROM guardians WHERE id = ?", guardian_id)
        return _guardian(row) if row else None

    async def guardian_by_name(self, worker_id: int, name: str) -> Guardian | None:
        row = await self._one(
            "SELECT * FROM guardians WHERE worker_id = ? AND name = ?", worker_id, name
        )
        return _guardian(row) if row else None

    async def guardians_of(self, worker_id: int) -> list[Guardian]:
        rows = await self._all(
            "SELECT * FROM guardians WHERE worker_id = ? ORDER BY id", worker_id
        )
        return [_guardian(r) for r in rows]

    async def guardians_by_tg(self, tg_user_id: int) -> list[Guardian]:
        rows = await self._all(
            "SELECT * FROM guardians WHERE tg_user_id = ? ORDER BY id", tg_user_id
        )
        return [_guardian(r) for r in rows]

    async def all_guardians(self) -> list[tuple[Guardian, str]]:
        rows = await self._all(
            "SELECT g.*, w.name AS worker_name FROM guardians g"
            " JOIN workers w ON w.id = g.worker_id ORDER BY w.name, g.name"
        )
        return [(_guardian(r), r["worker_name"]) for r in rows]

    async def create_guardian(
        self, worker_id: int, name: str, tz: str, every: Every, now: datetime
    ) -> Guardian:
        cursor = await self.conn.execute(
            "INSERT INTO guardians (worker_id, name, tz, every, created_at) VALUES (?, ?, ?, ?, ?)",
            (worker_id, name, tz, str(every), ts(now)),
        )
        assert cursor.lastrowid is not None
        guardian = await self.guardian(cursor.lastrowid)
        assert guardian is not None
        return guardian

    async def set_guardian_options(self, guardian_id: int, *, tz: str, every: Every) -> None:
        await self.conn.execute(
            "UPDATE guardians SET tz = ?, every = ? WHERE id = ?", (tz, str(every), guardian_id)
        )

    async def set_guardian_every(self, guardian_id: int, every: Every) -> None:
        await self.conn.execute(
            "UPDATE guardians SET every = ? WHERE id = ?", (str(every), guardian_id)
        )

    async def bind_guardian(
        self, guardian_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None:
        # A new account (a new phone, or someone else) starts from nothing shared: the worker
        # is asked again. The same account keeps what the worker chose.
        await self.conn.execute(
            "UPDATE guardians SET share = NULL, alerts = NULL, shared_since = NULL,"
            " asked_at = NULL, consent_seq = consent_seq + 1"
            " WHERE id = ? AND tg_user_id IS NOT NULL AND tg_user_id <> ?",
            (guardian_id, tg_user_id),
        )
        await self.conn.execute(
            "UPDATE guardians SET tg_user_id = ?, chat_id = ?, lang = ?, joined_at = ?,"
            " unreachable_at = NULL WHERE id = ?",
            (tg_user_id, chat_id, lang, ts(now), guardian_id),
        )

    async def set_share(
        self, guardian_id: int, share: Share | None, alerts: bool | None, now: datetime
    ) -> None:
        """The worker's choice. Stopping clears the alerts too (they are asked again when
        sharing starts again) and notes when it stopped."""
        if share is None:
            await self.conn.execute(
                "UPDATE guardians SET share = NULL, alerts = NULL, stopped_at = ?, consent_at = ?,"
                " shared_since = NULL, consent_seq = consent_seq + 1 WHERE id = ?",
                (ts(now), ts(now), guardian_id),
            )
            return
        # Sharing that starts (again) shows nothing from before; a change of level or alerts
        # keeps the start.
        await self.conn.execute(
            "UPDATE guardians SET share = ?, alerts = ?, consent_at = ?, stopped_at = NULL,"
            " shared_since = coalesce(shared_since, ?), consent_seq = consent_seq + 1"
            " WHERE id = ?",
            (str(share), None if alerts is None else int(alerts), ts(now), ts(now), guardian_id),
        )

    async def set_asked(self, guardian_id: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE guardians SET asked_at = ? WHERE id = ?", (ts(now), guardian_id)
        )

    async def set_guardian_next(self, guardian_id: int, when: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE guardians SET next_at = ? WHERE id = ?",
            (ts(when) if when else None, guardian_id),
        )

    async def set_guardian_unreachable(self, guardian_id: int, when: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE guardians SET unreachable_at = ? WHERE id = ?",
            (ts(when) if when else None, guardian_id),
        )

    async def due_guardians(self, now: datetime, limit: int) -> list[Guardian]:
        rows = await self._all(
            "SELECT * FROM guardians WHERE next_at IS NOT NULL AND next_at <= ?"
            " ORDER BY next_at LIMIT ?", ts(now), limit,
        )
        return [_guardian(r) for r in rows]

    # --- what was sent on a schedule ------------------------------------------------------

    async def claim_send(
        self, kind: str, period: str, now: datetime, *, guardian_id: int | None = None,
        coordinator_id: int | None = None,
    ) -> int | None:
        """Note a message before it goes out; None if one was sent (or tried) already."""
        cursor = await self.conn.execute(
            "INSERT OR IGNORE INTO sends (kind, guardian_id, coordinator_id, period, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (kind, guardian_id, coordinator_id, period, ts(now)),
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def finish_send(self, send_id: int, state: str, now: datetime,
                          error: str | None = None) -> None:
        await self.conn.execute(
            "UPDATE sends SET state = ?, sent_at = ?, error = ? WHERE id = ?",
            (state, ts(now) if state == "sent" else None, error, send_id),
        )

    async def forget_send(self, send_id: int) -> None:
        """A send that surely did not reach Telegram: it may be tried again."""
        await self.conn.execute("DELETE FROM sends WHERE id = ?", (send_id,))

    async def sent_periods(self, kind: str, guardian_id: int) -> set[str]:
        rows = await self._all(
            "SELECT period FROM sends WHERE kind = ? AND guardian_id = ?", kind, guardian_id
        )
        return {r["period"] for r in rows}

    # --- activity -------------------------------------------------------------------------

    async def answer_times(
        self, worker_id: int, since: datetime, until: datetime
    ) -> list[datetime]:
        """When the worker answered (real work and practice) in [since, until)."""
        rows = await self._all(
            "SELECT answered_at AS at FROM answers WHERE worker_id = ?"
            " AND answered_at >= ? AND answered_at < ?"
            " UNION ALL SELECT answered_at FROM practice_answers WHERE worker_id = ?"
            " AND answered_at >= ? AND answered_at < ?",
            worker_id, ts(since), ts(until), worker_id, ts(since), ts(until),
        )
        return sorted(datetime.fromisoformat(r["at"]) for r in rows)

    async def activity_points(
        self, worker_id: int, since: datetime, until: datetime
    ) -> list[datetime]:
        """Every moment the worker was active in [since, until): items shown, answered,
        changed, practised (see storage.hours)."""
        found = await activity(self.conn, since, until, worker_id)
        return list(found[0].points) if found else []

    async def last_seen(self) -> dict[int, datetime]:
        """Each worker's latest answer (real or practice)."""
        rows = await self._all(
            "SELECT w.id, max(coalesce((SELECT max(answered_at) FROM answers a"
            " WHERE a.worker_id = w.id), ''), coalesce((SELECT max(answered_at)"
            " FROM practice_answers p WHERE p.worker_id = w.id), '')) AS seen FROM workers w"
        )
        return {r["id"]: datetime.fromisoformat(r["seen"]) for r in rows if r["seen"]}

    async def answered_since(self, since: datetime) -> list[datetime]:
        """Every real answer since `since` (for the coordinators' chart), oldest first."""
        rows = await self._all(
            "SELECT answered_at FROM answers WHERE answered_at >= ? ORDER BY answered_at",
            ts(since),
        )
        return [datetime.fromisoformat(r["answered_at"]) for r in rows]

    async def progress(self, since: datetime) -> list[ProjectProgress]:
        """Per project: real items, finished, in review, and answers since `since`."""
        counts = await item_counts(self.conn)  # the same counts as `haru status`
        rows = await self._all(
            "SELECT p.id, p.name, (SELECT count(*) FROM answers a JOIN items i"
            " ON i.id = a.item_id WHERE i.project_id = p.id AND a.answered_at >= ?) AS today"
            " FROM projects p ORDER BY p.name", ts(since),
        )
        progress = []
        for r in rows:
            count = counts.get(r["id"], ItemCounts())
            progress.append(ProjectProgress(r["name"], count.items, count.done, count.review,
                                            r["today"]))
        return progress

    # --- coordinators' digest -------------------------------------------------------------

    async def set_digest(self, coordinator_id: int, at: time | None, tz: str,
                         next_at: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE coordinators SET digest_at = ?, tz = ?, next_digest_at = ? WHERE id = ?",
            (at.strftime("%H:%M") if at else None, tz, ts(next_at) if next_at else None,
             coordinator_id),
        )

    async def digest_settings(self, coordinator_id: int) -> tuple[time | None, str]:
        row = await self._one("SELECT digest_at, tz FROM coordinators WHERE id = ?",
                              coordinator_id)
        assert row is not None
        clock = time.fromisoformat(row["digest_at"]) if row["digest_at"] else None
        return clock, row["tz"]

    async def plan_digests(self, now: datetime) -> int:
        """Coordinators who joined and want a digest but have none planned: plan the next."""
        rows = await self._all(
            "SELECT id, digest_at, tz FROM coordinators WHERE chat_id IS NOT NULL"
            " AND digest_at IS NOT NULL AND next_digest_at IS NULL"
        )
        for row in rows:
            when = next_local(time.fromisoformat(row["digest_at"]), row["tz"], now)
            await self.conn.execute("UPDATE coordinators SET next_digest_at = ? WHERE id = ?",
                                    (ts(when), row["id"]))
        return len(rows)

    async def joined_at(self) -> dict[int, datetime]:
        rows = await self._all("SELECT id, joined_at FROM workers WHERE joined_at IS NOT NULL")
        return {r["id"]: datetime.fromisoformat(r["joined_at"]) for r in rows}

    async def due_digests(self, now: datetime, limit: int) -> Sequence[int]:
        rows = await self._all(
            "SELECT id FROM coordinators WHERE next_digest_at IS NOT NULL"
            " AND next_digest_at <= ? ORDER BY next_digest_at LIMIT ?", ts(now), limit,
        )
        return [r["id"] for r in rows]
