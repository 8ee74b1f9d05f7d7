"""SQL for hours worked: each worker's moments of activity in a span of time.

Reads only. There is no index on the answers' times: with a worker given, the lookup goes
through answers_worker (worker_id, id) and reads that worker's answers; without one it reads
every answer once. See `activity`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import aiosqlite

from review.hours import WorkerActivity
from storage.times import ts

# An answer is activity when it was shown, given or changed; the time columns are ISO UTC
# text (storage.times), which compares as time.
_ANSWERS = """
SELECT worker_id, shown_at, answered_at, changed_at FROM answers
WHERE {worker}((shown_at >= :since AND shown_at < :until)
    OR (answered_at >= :since AND answered_at < :until)
    OR (changed_at >= :since AND changed_at < :until))
"""
_PRACTICE = """
SELECT worker_id, answered_at FROM practice_answers
WHERE {worker}answered_at >= :since AND answered_at < :until
"""


def _within(value: str | None, since: datetime, until: datetime) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if since <= moment < until else None


def queries(worker_id: int | None) -> tuple[str, str]:
    """The two reads `activity` makes (also for EXPLAIN QUERY PLAN in tests)."""
    worker = "" if worker_id is None else "worker_id = :worker AND "
    return _ANSWERS.format(worker=worker), _PRACTICE.format(worker=worker)


async def activity(
    conn: aiosqlite.Connection, since: datetime, until: datetime, worker_id: int | None = None
) -> list[WorkerActivity]:
    """Every worker's moments of activity in [since, until): when each real answer was shown,
    given and changed, and when each practice answer was given. Only workers with at least one
    moment, by name; `answers` holds when each real answer given in the span was given."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be aware datetimes")
    params = {"since": ts(since), "until": ts(until), "worker": worker_id}
    answers_sql, practice_sql = queries(worker_id)
    points: dict[int, list[datetime]] = defaultdict(list)
    answered: dict[int, list[datetime]] = defaultdict(list)
    cursor = await conn.execute(answers_sql, params)
    async for row in cursor:
        worker, shown, given, changed = row[0], row[1], row[2], row[3]
        for value in (shown, given, changed):
            moment = _within(value, since, until)
            if moment is not None:
                points[worker].append(moment)
        moment = _within(given, since, until)
        if moment is not None:
            answered[worker].append(moment)
    cursor = await conn.execute(practice_sql, params)
    async for row in cursor:
        moment = _within(row[1], since, until)
        if moment is not None:
            points[row[0]].append(moment)
    if not points:
        return []
    ids = sorted(points)
    marks = ", ".join("?" * len(ids))
    cursor = await conn.execute(
        f"SELECT id, name, tz FROM workers WHERE id IN ({marks}) ORDER BY name", ids
    )
    return [
        WorkerActivity(
            worker_id=row[0], name=row[1], tz=row[2], points=tuple(points[row[0]]),
            answers=tuple(answered[row[0]]),
        )
        for row in await cursor.fetchall()
    ]
