"""SQL for `haru status` and /status: where each project stands, and who worked today.

"Today" is each worker's own day: since midnight in their time zone (workers.tz). The workers'
zones are few, so each zone's midnight is worked out once and joined in, in one query, however
many workers there are.

A mixin of `storage.repo.SqlRepo`: it runs inside the same transaction as the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from storage.rows import Rows
from storage.times import parse_ts, ts
from tasks.schedule import DEFAULT_TZ, at, local_day


@dataclass(frozen=True)
class ItemCounts:
    """A project's real work items (role 'work'). The four parts add up to `items`."""

    items: int = 0
    finished: int = 0  # a final label: the workers agreed, the model, or a coordinator
    dropped: int = 0  # a coordinator found it unclear
    review: int = 0  # waits for a coordinator

    @property
    def open(self) -> int:
        """Still collecting answers (or asking one more worker)."""
        return self.items - self.finished - self.dropped - self.review

    @property
    def done(self) -> int:
        return self.finished + self.dropped

    @property
    def percent_done(self) -> int | None:
        """Rounded down, so 100 means every item is done; None without items."""
        return self.done * 100 // self.items if self.items else None


@dataclass(frozen=True)
class ProjectStatus:
    id: int
    name: str
    counts: ItemCounts
    answers_today: int  # real answers since each answering worker's midnight
    active_today: int  # workers who answered (work or practice) since their midnight
    workers: int  # workers on the project, joined or not
    review_since: datetime | None  # since when its oldest review item has waited


@dataclass(frozen=True)
class WorkerToday:
    name: str
    joined: bool
    paused: bool
    unreachable: bool
    answers_today: int
    practice_today: int


def total(projects: list[ProjectStatus]) -> ItemCounts:
    return ItemCounts(*(sum(getattr(p.counts, f) for p in projects)
                        for f in ("items", "finished", "dropped", "review")))


def midnights(zones: list[str], now: datetime) -> dict[str, datetime]:
    """The start of today, as UTC, in each zone (an unknown zone counts as Haru's default)."""
    found = {}
    for zone in zones:
        try:
            ZoneInfo(zone)
            known = zone
        except (ZoneInfoNotFoundError, ValueError):
            known = DEFAULT_TZ
        found[zone] = at(local_day(known, now), time(0), known)
    return found


async def item_counts(conn: aiosqlite.Connection) -> dict[int, ItemCounts]:
    """Each project's work items by where they stand, in one pass over the items."""
    cursor = await conn.execute(
        "SELECT project_id, count(*),"
        " total(verdict IN ('agreement', 'model', 'reviewer')),"
        " total(verdict = 'dropped'), total(verdict = 'review')"
        " FROM items WHERE role = 'work' GROUP BY project_id"
    )
    return {r[0]: ItemCounts(r[1], int(r[2]), int(r[3]), int(r[4]))
            for r in await cursor.fetchall()}


def _today_sql(zones: int) -> str:
    """Answers and practice answers given since the answering worker's midnight, as
    `today(worker_id, item_id, real)`; the parameters are (zone, since) pairs, then the
    earliest midnight twice (which lets the answers_time index skip older answers)."""
    values = ", ".join("(?, ?)" for _ in range(zones))
    return (
        f"WITH midnight(tz, since) AS (VALUES {values}),"
        " recent AS (SELECT worker_id, item_id, answered_at, 1 AS real FROM answers"
        "   WHERE answered_at >= ?"
        "   UNION ALL SELECT worker_id, item_id, answered_at, 0 FROM practice_answers"
        "   WHERE answered_at >= ?),"
        " today AS (SELECT r.worker_id, r.item_id, r.real FROM recent r"
        "   JOIN workers w ON w.id = r.worker_id JOIN midnight m ON m.tz = w.tz"
        "   WHERE r.answered_at >= m.since)"
    )


class StatusSql(Rows):

    async def project_names(self) -> list[str]:
        return [r[0] for r in await self._all("SELECT name FROM projects ORDER BY name")]

    async def _today_args(self, now: datetime) -> tuple[int, list[object]] | None:
        zones = [r[0] for r in await self._all("SELECT DISTINCT tz FROM workers")]
        if not zones:
            return None
        since = midnights(zones, now)
        args: list[object] = [v for zone in zones for v in (zone, ts(since[zone]))]
        earliest = ts(min(since.values()))
        return len(zones), [*args, earliest, earliest]

    async def project_status(self, now: datetime) -> list[ProjectStatus]:
        """Every project, by name: its items, today's answers and workers, the review wait."""
        counts = await item_counts(self.conn)
        today: dict[int, tuple[int, int]] = {}
        found = await self._today_args(now)
        if found is not None:
            zones, args = found
            rows = await self._all(
                _today_sql(zones) + " SELECT i.project_id, total(t.real),"
                " count(DISTINCT t.worker_id) FROM today t JOIN items i ON i.id = t.item_id"
                " GROUP BY i.project_id", *args,
            )
            today = {r[0]: (int(r[1]), r[2]) for r in rows}
        rows = await self._all(
            "SELECT p.id, p.name,"
            " (SELECT count(*) FROM workers w WHERE w.project_id = p.id) AS workers,"
            # ⏭ Later moves an item's place in the queue (review_at) to the back; its last
            # answer says since when it has really waited.
            " (SELECT min(min(i.review_at, coalesce((SELECT max(a.answered_at) FROM answers a"
            "   WHERE a.item_id = i.id), i.review_at))) FROM items i"
            "   WHERE i.project_id = p.id AND i.verdict = 'review' AND i.role = 'work')"
            "   AS review_since"
            " FROM projects p ORDER BY p.name"
        )
        return [
            ProjectStatus(
                id=r["id"], name=r["name"], counts=counts.get(r["id"], ItemCounts()),
                answers_today=today.get(r["id"], (0, 0))[0],
                active_today=today.get(r["id"], (0, 0))[1], workers=r["workers"],
                review_since=parse_ts(r["review_since"]),
            )
            for r in rows
        ]

    async def workers_today(self, project_id: int, now: datetime) -> list[WorkerToday]:
        """The project's workers, by name, with what each answered since their midnight."""
        found = await self._today_args(now)
        counted = ""
        args: list[object] = []
        if found is not None:
            zones, args = found
            counted = _today_sql(zones) + (
                ", counted AS (SELECT worker_id, total(real) AS real,"
                " count(*) - total(real) AS practice FROM today GROUP BY worker_id)"
            )
        else:
            counted = ("WITH counted(worker_id, real, practice) AS"
                       " (SELECT NULL, 0, 0 WHERE 0)")
        rows = await self._all(
            counted + " SELECT w.name, w.tg_user_id IS NOT NULL AS joined,"
            " w.paused_at IS NOT NULL AS paused, w.unreachable_at IS NOT NULL AS unreachable,"
            " coalesce(c.real, 0) AS real, coalesce(c.practice, 0) AS practice"
            " FROM workers w LEFT JOIN counted c ON c.worker_id = w.id"
            " WHERE w.project_id = ? ORDER BY w.name", *args, project_id,
        )
        return [WorkerToday(r["name"], bool(r["joined"]), bool(r["paused"]),
                            bool(r["unreachable"]), int(r["real"]), int(r["practice"]))
                for r in rows]
