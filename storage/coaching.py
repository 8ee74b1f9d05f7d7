"""SQL for coaching prompts: each worker's recent real answers, and the project's choices.

One query. For every worker it reads at most their newest `RECENT_ANSWERS` answers through the
`answers_worker (worker_id, id)` index (answer ids grow with time, so "the newest" is "the
highest ids"), keeps those answered since `since`, and joins each to its item and project by
primary key. Nothing scans the answers table: the cost is workers x 200 index entries, however
long the bot has run. The other workers' shares of each choice come from the same rows: the
project's totals minus the worker's own counts.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime

import aiosqlite

from review.coaching import RECENT_ANSWERS, Prompt, Said, WorkerInput, prompts_for
from storage.times import ts

# The worker's answers from the RECENT_ANSWERS-th newest on (all of them when they have fewer):
# a range search on answers_worker. Practice answers live in their own table; the role test
# keeps practice items out should one ever be answered as work.
_RECENT = """
SELECT w.id AS worker_id, w.name, i.project_id, p.choices, i.kind, a.choice,
       a.shown_at, a.answered_at,
       CASE WHEN i.role = 'gold' THEN i.answer
            WHEN i.decided_by IS NOT NULL THEN i.label END AS known
FROM workers w
CROSS JOIN answers a ON a.worker_id = w.id AND a.id >= coalesce(
    (SELECT x.id FROM answers x WHERE x.worker_id = w.id ORDER BY x.id DESC LIMIT 1 OFFSET ?), 0)
JOIN items i ON i.id = a.item_id
JOIN projects p ON p.id = i.project_id
WHERE a.answered_at >= ? AND i.role IN ('work', 'gold')
ORDER BY w.id, a.id
"""


async def _all(conn: aiosqlite.Connection, sql: str, *args: object) -> list[aiosqlite.Row]:
    cursor = await conn.execute(sql, args)
    return list(await cursor.fetchall())


async def query_plan(conn: aiosqlite.Connection) -> list[str]:
    """How SQLite runs the coaching query (for tests and a look by hand)."""
    rows = await _all(conn, "EXPLAIN QUERY PLAN " + _RECENT, RECENT_ANSWERS - 1, "")
    return [str(r[3]) for r in rows]


async def coaching_inputs(conn: aiosqlite.Connection, since: datetime) -> list[WorkerInput]:
    """One input per worker and project with real answers since `since` (a worker who moved
    to another project within the range has one for each), by worker id then project id."""
    rows = await _all(conn, _RECENT, RECENT_ANSWERS - 1, ts(since))
    said: dict[tuple[int, int], list[Said]] = defaultdict(list)
    names: dict[int, str] = {}
    texts: Counter[tuple[int, int]] = Counter()
    n_choices: dict[int, int] = {}
    own: dict[tuple[int, int], Counter[int]] = defaultdict(Counter)
    project_totals: dict[int, Counter[int]] = defaultdict(Counter)
    for row in rows:
        worker, project = int(row["worker_id"]), int(row["project_id"])
        key = (worker, project)
        names[worker] = str(row["name"])
        if project not in n_choices:
            n_choices[project] = len(json.loads(row["choices"]))
        shown = datetime.fromisoformat(row["shown_at"])
        answered = datetime.fromisoformat(row["answered_at"])
        choice = row["choice"]
        said[key].append(Said(
            at=answered, seconds=(answered - shown).total_seconds(),
            choice=None if choice is None else int(choice),
            known=None if row["known"] is None else int(row["known"]),
        ))
        texts[key] += row["kind"] == "text"
        if choice is not None and 0 <= choice < n_choices[project]:
            own[key][int(choice)] += 1
            project_totals[project][int(choice)] += 1
    inputs = []
    for (worker, project), answers in sorted(said.items()):
        k = n_choices[project]
        others = [project_totals[project][c] - own[(worker, project)][c] for c in range(k)]
        total = sum(others)
        inputs.append(WorkerInput(
            worker_id=worker, name=names[worker], project_id=project,
            # Mixed projects: text's higher floor only when most of the items were text.
            kind="text" if 2 * texts[(worker, project)] > len(answers) else "image",
            n_choices=k, said=tuple(answers),
            choice_shares=tuple(c / total for c in others) if total else (),
            others=total,
        ))
    return inputs


async def coaching(
    conn: aiosqlite.Connection, since: datetime
) -> list[tuple[int, str, list[Prompt]]]:
    """(worker id, name, prompts) for every worker with something to talk about, by worker id.
    Coordinators only: never shown to the worker, never a penalty."""
    found = []
    for worker in await coaching_inputs(conn, since):
        if worth := prompts_for(worker):
            found.append((worker.worker_id, worker.name, worth))
    return found

