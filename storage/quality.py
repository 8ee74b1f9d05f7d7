"""SQL for quality: verdicts, hidden gold, practice, the review queue and 🙋 help requests.

A mixin of `storage.repo.SqlRepo`: it runs inside the same transaction as the rest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import datetime
from itertools import chain

import numpy as np
import numpy.typing as npt

from review.ports import (
    AnswerRows,
    AnswerStretch,
    ItemState,
    ItemTally,
    MovableStretch,
    ProjectAnswers,
    Vote,
)
from review.routing import Decision, Tally
from storage.rows import Rows
from storage.times import ts
from tasks.model import Role, Verdict
from tasks.ports import NOT_SURE, Batch, PracticeItem

_UNDECIDED = "verdict IS NULL OR verdict IN ('more', 'agreement', 'model')"
# Work items the project's model may move: collecting with all their answers, asking one
# more, or done by the crowd (review.service.MOVABLE).
_MOVABLE = ("i.role = 'work' AND (i.verdict IN ('more', 'agreement', 'model')"
            " OR (i.verdict IS NULL AND i.n_answers >= i.wanted))")
# The next `limit` items of a project after an id (items_project: no table row is read).
_STRETCH_END = ("SELECT max(id) FROM (SELECT id FROM items WHERE project_id = ? AND id > ?"
                " ORDER BY id LIMIT ?)")
_SET_VERDICT = (
    "UPDATE items SET verdict = ?, label = ?, confidence = ?,"
    " review_at = CASE WHEN ? THEN ? ELSE review_at END, review_reason = ?,"
    " wanted = CASE WHEN ? THEN ? ELSE wanted END,"
    " status = CASE WHEN ? THEN 'open' ELSE 'filled' END"
    f" WHERE id = ? AND ({_UNDECIDED})"
)


def _verdict_args(item_id: int, decision: Decision, now: datetime) -> tuple[object, ...]:
    verdict = decision.verdict
    reopen = verdict is Verdict.MORE
    return (str(verdict), decision.label, decision.confidence, verdict is Verdict.REVIEW,
            ts(now), decision.reason and str(decision.reason), reopen, decision.wanted,
            reopen, item_id)


def _int_table(rows: Sequence[Sequence[int]], width: int) -> npt.NDArray[np.int64]:
    """Rows of `width` integers (no NULLs) as an n x width array, without a tuple each."""
    flat = np.fromiter(chain.from_iterable(rows), np.int64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


def _answer_rows(rows: Sequence[Sequence[int]]) -> AnswerRows:
    table = _int_table(rows, 3)
    return AnswerRows(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())


class QualitySql(Rows):

    # --- project rules ---------------------------------------------------------------------

    async def set_project_rules(self, project_id: int, rules: dict[str, float | int]) -> None:
        """Change a project's rules; a new overlap applies to items still collecting."""
        allowed = ("overlap", "threshold", "max_overlap", "gold_every", "mastery_need",
                   "mastery_of")
        columns = [c for c in rules if c in allowed]
        if not columns:
            return
        assignments = ", ".join(f"{c} = ?" for c in columns)
        await self.conn.execute(
            f"UPDATE projects SET {assignments} WHERE id = ?",
            (*[rules[c] for c in columns], project_id),
        )
        if "overlap" in rules:
            await self.conn.execute(
                "UPDATE items SET wanted = ?, status = CASE WHEN n_answers >= ? THEN 'filled'"
                " ELSE 'open' END WHERE project_id = ? AND role = 'work' AND verdict IS NULL",
                (rules["overlap"], rules["overlap"], project_id),
            )

    # --- verdicts -------------------------------------------------------------------------

    async def item_tally(self, item_id: int) -> ItemTally | None:
        rows = await self._all(
            "SELECT i.project_id, i.role, i.verdict, i.wanted, i.n_answers, i.label,"
            " p.choices, a.choice, a.not_sure FROM items i JOIN projects p ON p.id = i.project_id"
            " LEFT JOIN answers a ON a.item_id = i.id WHERE i.id = ?",
            item_id,
        )
        if not rows:
            return None
        first = rows[0]
        n_choices = len(json.loads(first["choices"]))
        votes = [0] * n_choices
        unsure = 0
        for row in rows:
            if row["not_sure"]:
                unsure += 1
            elif row["choice"] is not None and 0 <= row["choice"] < n_choices:
                votes[row["choice"]] += 1
        return ItemTally(
            item_id=item_id, project_id=first["project_id"], role=Role(first["role"]),
            verdict=Verdict(first["verdict"]) if first["verdict"] else None,
            wanted=first["wanted"], n_answers=first["n_answers"], label=first["label"],
            tally=Tally(tuple(votes), unsure),
        )

    async def set_verdict(
        self, item_id: int, decision: Decision, now: datetime, *, if_answers: int | None = None
    ) -> bool:
        """Record a decision on an undecided item (never on one in review or decided by a
        coordinator); `if_answers`: only while it still has that many answers."""
        guard = "" if if_answers is None else f" AND n_answers = {int(if_answers)}"
        cursor = await self.conn.execute(_SET_VERDICT + guard,
                                         _verdict_args(item_id, decision, now))
        return cursor.rowcount == 1

    async def set_verdicts(
        self, decisions: Sequence[tuple[int, Decision, int]], now: datetime
    ) -> int:
        """`set_verdict(item, decision, now, if_answers=n)` of each (item, decision, n), in
        one trip to the database thread; how many were recorded."""
        if not decisions:
            return 0
        cursor = await self.conn.executemany(
            _SET_VERDICT + " AND n_answers = ?",
            [(*_verdict_args(item, decision, now), n) for item, decision, n in decisions],
        )
        return max(cursor.rowcount, 0)

    async def project_answers(self, project_id: int) -> ProjectAnswers:
        """Every answer to the project's work and gold items, and the answers known for sure:
        gold, and coordinators' decisions."""
        answers = await self._all(
            "SELECT a.worker_id, a.item_id, a.choice FROM answers a JOIN items i"
            " ON i.id = a.item_id WHERE i.project_id = ? AND i.role IN ('work', 'gold')",
            project_id,
        )
        known = await self._all(
            "SELECT id, CASE role WHEN 'gold' THEN answer ELSE label END FROM items"
            " WHERE project_id = ? AND (role = 'gold' OR verdict = 'reviewer')",
            project_id,
        )
        items = await self._all(
            "SELECT id, verdict, wanted, n_answers, label FROM items"
            " WHERE project_id = ? AND role = 'work'",
            project_id,
        )
        return ProjectAnswers(
            votes=[Vote(r[0], r[1], r[2]) for r in answers],
            known={int(r[0]): int(r[1]) for r in known if r[1] is not None},
            items=[(r[0], Verdict(r[1]) if r[1] else None, r[2], r[3], r[4]) for r in items],
        )

    async def count_answers(self, project_id: int, after: int, limit: int
                            ) -> tuple[int, int, int] | None:
        """(last item id, answers, work items) of the project's next `limit` items after
        the id `after`; None when there are none."""
        row = await self._one(
            "SELECT max(id), coalesce(sum(n_answers), 0), coalesce(sum(role = 'work'), 0)"
            " FROM (SELECT id, n_answers, role FROM items WHERE project_id = ? AND id > ?"
            " ORDER BY id LIMIT ?)", project_id, after, limit,
        )
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1]), int(row[2])

    async def answer_stretch(self, project_id: int, after: int, limit: int) -> AnswerStretch:
        """The answers to the work and gold items among the project's next `limit` items
        after the id `after` (in item order), and the answers known for sure among them."""
        row = await self._one(_STRETCH_END, project_id, after, limit)
        last = None if row is None or row[0] is None else int(row[0])
        if last is None:
            nothing = np.zeros(0, np.int64)
            return AnswerStretch(None, AnswerRows(nothing, nothing, nothing), nothing,
                                 nothing, np.zeros(0, np.bool_))
        answers = await self._all(
            "SELECT a.item_id, a.worker_id, coalesce(a.choice, -1) FROM items i"
            " JOIN answers a ON a.item_id = i.id WHERE i.project_id = ? AND i.id > ?"
            " AND i.id <= ? AND i.role IN ('work', 'gold') ORDER BY i.id",
            project_id, after, last,
        )
        known = _int_table(await self._all(
            "SELECT id, CASE role WHEN 'gold' THEN answer ELSE label END AS known,"
            " role = 'work' FROM items WHERE project_id = ? AND id > ? AND id <= ?"
            " AND (role = 'gold' OR verdict = 'reviewer') AND known IS NOT NULL",
            project_id, after, last,
        ), 3)
        return AnswerStretch(last, _answer_rows(answers), known[:, 0].copy(),
                             known[:, 1].copy(), known[:, 2] == 1)

    async def movable_stretch(self, project_id: int, after: int, limit: int
                              ) -> MovableStretch:
        """The work items the model may move among the project's next `limit` items after
        the id `after`, and their answers (in item order)."""
        row = await self._one(_STRETCH_END, project_id, after, limit)
        last = None if row is None or row[0] is None else int(row[0])
        if last is None:
            nothing = np.zeros(0, np.int64)
            return MovableStretch(None, [], AnswerRows(nothing, nothing, nothing))
        items = await self._all(
            "SELECT i.id, i.verdict, i.wanted, i.n_answers, i.label, i.confidence FROM items i"
            f" WHERE i.project_id = ? AND i.id > ? AND i.id <= ? AND {_MOVABLE} ORDER BY i.id",
            project_id, after, last,
        )
        answers = await self._all(
            "SELECT a.item_id, a.worker_id, coalesce(a.choice, -1) FROM items i"
            " JOIN answers a ON a.item_id = i.id WHERE i.project_id = ? AND i.id > ?"
            f" AND i.id <= ? AND {_MOVABLE} ORDER BY i.id",
            project_id, after, last,
        )
        return MovableStretch(
            last,
            [ItemState(r[0], Verdict(r[1]) if r[1] else None, r[2], r[3], r[4], r[5])
             for r in items],
            _answer_rows(answers),
        )

    async def item_answers(self, item_ids: Sequence[int]) -> AnswerRows:
        """The answers to these items, in item order."""
        if not item_ids:
            nothing = np.zeros(0, np.int64)
            return AnswerRows(nothing, nothing, nothing)
        marks = ", ".join("?" * len(item_ids))
        return _answer_rows(await self._all(
            "SELECT item_id, worker_id, coalesce(choice, -1) FROM answers"
            f" WHERE item_id IN ({marks}) ORDER BY item_id", *item_ids,
        ))

    async def project_ids(self) -> list[int]:
        return [int(r[0]) for r in await self._all("SELECT id FROM projects ORDER BY id")]

    async def judged_answers(self, project_id: int) -> int:
        rows = await self._all("SELECT judged_answers FROM projects WHERE id = ?", project_id)
        return int(rows[0][0]) if rows else 0

    async def set_judged(self, project_id: int, answers: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE projects SET judged_answers = ?, judged_at = ? WHERE id = ?",
            (answers, ts(now), project_id),
        )

    async def relabel(self, labels: Sequence[tuple[int, int, float, Verdict]]) -> int:
        """The model's (label, confidence, verdict) on items already done (they are never
        opened again), in one trip to the database thread; how many."""
        if not labels:
            return 0
        cursor = await self.conn.executemany(
            "UPDATE items SET label = ?, confidence = ?, verdict = ? WHERE id = ?"
            " AND verdict IN ('agreement', 'model')",
            [(label, confidence, str(verdict), item) for item, label, confidence, verdict
             in labels],
        )
        return max(cursor.rowcount, 0)

    # --- hidden gold ----------------------------------------------------------------------

    async def reserve_gold(self, batch: Batch, worker_id: int, project_id: int, count: int
                           ) -> int:
        """Slip up to `count` gold items the worker has not answered in among the batch's
        waiting work, each just before a randomly chosen one."""
        if count <= 0:
            return 0
        slots = [r[0] for r in await self._all(
            "SELECT rank FROM reservations r JOIN items i ON i.id = r.item_id"
            " WHERE r.batch_id = ? AND i.role = 'work'", batch.id,
        )]
        if not slots:
            return 0
        unseen = [r[0] for r in await self._all(
            "SELECT id FROM items i WHERE project_id = ? AND role = 'gold'"
            " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.worker_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.item_id = i.id"
            "                 AND r.worker_id = ?) ORDER BY id LIMIT 1000",
            project_id, worker_id, worker_id,
        )]
        # Drawn here, not with SQL's random(): Python's generator can be seeded (haru demo).
        # The first 1000 unseen are plenty to draw from, and keep a huge gold set cheap.
        gold = random.sample(unseen, min(count, len(unseen)))
        await self.conn.executemany(
            "INSERT INTO reservations (worker_id, item_id, batch_id, until, rank)"
            " VALUES (?, ?, ?, ?, ?)",
            [(worker_id, g, batch.id, ts(batch.ends_at), random.choice(slots) - 0.5)
             for g in gold],
        )
        await self.conn.executemany(
            "UPDATE items SET n_reserved = n_reserved + 1 WHERE id = ?", [(g,) for g in gold]
        )
        return len(gold)

    # --- practice -------------------------------------------------------------------------

    async def add_practice_item(self, item_id: int, project_id: int, answer: int,
                                reason: str | None, level: int, now: datetime) -> bool:
        cursor = await self.conn.execute(
            "INSERT INTO practice_items (item_id, project_id, answer, reason, level, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id) DO NOTHING",
            (item_id, project_id, answer, reason, level, ts(now)),
        )
        return cursor.rowcount == 1

    async def has_practice(self, project_id: int) -> bool:
        rows = await self._all(
            "SELECT 1 FROM practice_items WHERE project_id = ? LIMIT 1", project_id
        )
        return bool(rows)

    async def next_practice(self, worker_id: int, project_id: int, after: int | None
                            ) -> int | None:
        """The practice item this worker has seen least, easy ones first; not the one they
        just did, unless it is the only one."""
        rows = await self._all(
            "SELECT p.item_id FROM practice_items p WHERE p.project_id = ?"
            " ORDER BY p.item_id = ?, (SELECT count(*) FROM practice_answers x"
            " WHERE x.worker_id = ? AND x.item_id = p.item_id), p.level, p.item_id LIMIT 1",
            project_id, after or 0, worker_id,
        )
        return int(rows[0][0]) if rows else None

    async def practice_item(self, item_id: int) -> PracticeItem | None:
        rows = await self._all(
            "SELECT answer, reason FROM practice_items WHERE item_id = ?", item_id
        )
        return PracticeItem(item_id, rows[0][0], rows[0][1]) if rows else None

    async def add_practice_answer(self, worker_id: int, item_id: int, choice: int,
                                  right: bool, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO practice_answers (worker_id, item_id, choice, is_right, answered_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (worker_id, item_id, None if choice == NOT_SURE else choice, int(right), ts(now)),
        )

    async def last_practice(self, worker_id: int) -> tuple[int, int] | None:
        """The newest practice answer: (item, choice)."""
        rows = await self._all(
            "SELECT item_id, coalesce(choice, ?) FROM practice_answers WHERE worker_id = ?"
            " ORDER BY id DESC LIMIT 1", NOT_SURE, worker_id,
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    async def recent_practice(self, worker_id: int, limit: int) -> list[bool]:
        rows = await self._all(
            "SELECT is_right FROM practice_answers WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
            worker_id, limit,
        )
        return [bool(r[0]) for r in rows]

    async def set_practiced(self, worker_id: int, when: datetime | None, how: str | None
                            ) -> None:
        await self.conn.execute(
            "UPDATE workers SET practiced_at = ?, practiced_how = ? WHERE id = ?",
            (ts(when) if when else None, how, worker_id),
        )

    # --- the review queue -----------------------------------------------------------------

    async def lease_next(self, coordinator_id: int, now: datetime, until: datetime
                         ) -> int | None:
        """The oldest item waiting for review that nobody else is looking at, leased to
        this coordinator until `until` (one they already hold comes first)."""
        rows = await self._all(
            "SELECT i.id FROM items i LEFT JOIN review_leases l ON l.item_id = i.id"
            " WHERE i.verdict = 'review'"
            " AND (l.item_id IS NULL OR l.until <= ? OR l.coordinator_id = ?)"
            " ORDER BY l.coordinator_id IS NOT ?, i.review_at, i.id LIMIT 1",
            ts(now), coordinator_id, coordinator_id,
        )
        if not rows:
            return None
        item_id = int(rows[0][0])
        await self.conn.execute(
            "INSERT INTO review_leases (item_id, coordinator_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT (item_id) DO UPDATE SET coordinator_id = excluded.coordinator_id,"
            " until = excluded.until",
            (item_id, coordinator_id, ts(until)),
        )
        return item_id

    async def holds_lease(self, item_id: int, coordinator_id: int, now: datetime) -> bool:
        rows = await self._all(
            "SELECT 1 FROM review_leases WHERE item_id = ? AND coordinator_id = ? AND until > ?",
            item_id, coordinator_id, ts(now),
        )
        return bool(rows)

    async def end_lease(self, item_id: int) -> None:
        await self.conn.execute("DELETE FROM review_leases WHERE item_id = ?", (item_id,))

    async def decide(self, item_id: int, label: int | None, coordinator_id: int,
                     now: datetime) -> bool:
        """A coordinator's final decision (None: dropped as unclear)."""
        verdict = Verdict.DROPPED if label is None else Verdict.REVIEWER
        cursor = await self.conn.execute(
            "UPDATE items SET verdict = ?, label = ?, confidence = ?, decided_by = ?,"
            " decided_at = ?, status = 'filled' WHERE id = ? AND verdict = 'review'",
            (str(verdict), label, None if label is None else 1.0, coordinator_id, ts(now),
             item_id),
        )
        return cursor.rowcount == 1

    async def later(self, item_id: int, now: datetime) -> None:
        """⏭: to the back of the queue."""
        await self.conn.execute(
            "UPDATE items SET review_at = ? WHERE id = ? AND verdict = 'review'",
            (ts(now), item_id),
        )

    async def review_count(self, project_id: int | None = None) -> int:
        where = "" if project_id is None else f" AND project_id = {int(project_id)}"
        rows = await self._all(f"SELECT count(*) FROM items WHERE verdict = 'review'{where}")
        return int(rows[0][0])

    async def item_verdict(self, item_id: int) -> tuple[Verdict | None, int | None, str | None]:
        rows = await self._all(
            "SELECT verdict, label, review_reason FROM items WHERE id = ?", item_id
        )
        if not rows:
            return None, None, None
        verdict = Verdict(rows[0][0]) if rows[0][0] else None
        return verdict, rows[0][1], rows[0][2]

    async def answers_with_names(self, item_id: int) -> Sequence[tuple[str, int]]:
        rows = await self._all(
            "SELECT w.name, coalesce(a.choice, ?) FROM answers a JOIN workers w"
            " ON w.id = a.worker_id WHERE a.item_id = ? ORDER BY a.id", NOT_SURE, item_id,
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    # --- 🙋 help ---------------------------------------------------------------------------

    async def add_help(self, worker_id: int, item_id: int, now: datetime) -> int | None:
        """A new help request, or None if this worker already asked about this item."""
        cursor = await self.conn.execute(
            "INSERT INTO help_requests (worker_id, item_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (worker_id, item_id) DO NOTHING",
            (worker_id, item_id, ts(now)),
        )
        return int(cursor.lastrowid or 0) if cursor.rowcount == 1 else None

    async def help_id(self, worker_id: int, item_id: int) -> int | None:
        rows = await self._all(
            "SELECT id FROM help_requests WHERE worker_id = ? AND item_id = ?", worker_id, item_id
        )
        return int(rows[0][0]) if rows else None

    async def forget_help(self, worker_id: int, item_id: int) -> None:
        await self.conn.execute(
            "DELETE FROM help_messages WHERE help_id IN (SELECT id FROM help_requests"
            " WHERE worker_id = ? AND item_id = ?)", (worker_id, item_id),
        )
        await self.conn.execute(
            "DELETE FROM help_requests WHERE worker_id = ? AND item_id = ?", (worker_id, item_id)
        )

    async def add_help_message(self, help_id: int, coordinator_id: int, chat_id: int,
                               message_id: int) -> None:
        await self.conn.execute(
            "INSERT OR IGNORE INTO help_messages (help_id, coordinator_id, chat_id, message_id)"
            " VALUES (?, ?, ?, ?)",
            (help_id, coordinator_id, chat_id, message_id),
        )

    async def help_by_message(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The (worker, item) of the help request a coordinator's message is about."""
        rows = await self._all(
            "SELECT h.worker_id, h.item_id FROM help_messages m JOIN help_requests h"
            " ON h.id = m.help_id WHERE m.chat_id = ? AND m.message_id = ?",
            chat_id, message_id,
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None
