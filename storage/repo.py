"""SQL and row mappers for the work domain; one `SqlRepo` per transaction."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time

import aiosqlite

from storage.db import Database
from storage.family import FamilySql
from storage.people import PeopleSql
from storage.quality import QualitySql
from storage.status import StatusSql
from storage.times import parse_ts, ts
from tasks.errors import NotFound
from tasks.importing import PreparedImage, PreparedItem, PreparedText, Rejected
from tasks.model import Item, ItemKind, Mode, Project, Role, Worker
from tasks.ports import NOT_SURE, Batch, Invite, SavedAnswer, WorkerState
from tasks.schedule import decode_days


def _project(row: aiosqlite.Row) -> Project:
    return Project(
        id=row["id"], name=row["name"], question=row["question"],
        choices=tuple(json.loads(row["choices"])), overlap=row["overlap"],
        threshold=row["threshold"], max_overlap=row["max_overlap"], gold_every=row["gold_every"],
        mastery_need=row["mastery_need"], mastery_of=row["mastery_of"],
    )


def _clock(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _worker(row: aiosqlite.Row) -> Worker:
    return Worker(
        id=row["id"], name=row["name"], project_id=row["project_id"],
        tg_user_id=row["tg_user_id"], chat_id=row["chat_id"], lang=row["lang"], tz=row["tz"],
        batch_size=row["batch_size"], days=decode_days(row["days"]),
        start_at=time.fromisoformat(row["start_at"]), reminder_at=_clock(row["reminder_at"]),
        paused_at=parse_ts(row["paused_at"]), unreachable_at=parse_ts(row["unreachable_at"]),
        next_due_at=parse_ts(row["next_due_at"]), practiced_at=parse_ts(row["practiced_at"]),
        resumed_at=parse_ts(row["resumed_at"]),
    )


def _batch(row: aiosqlite.Row) -> Batch:
    return Batch(
        id=row["id"], worker_id=row["worker_id"], day=row["day"], size=row["size"],
        ends_at=datetime.fromisoformat(row["ends_at"]), started_at=parse_ts(row["started_at"]),
    )


def _item(row: aiosqlite.Row) -> Item:
    return Item(
        id=row["id"], project_id=row["project_id"], kind=ItemKind(row["kind"]),
        text=row["text"], media_id=row["media_id"], role=Role(row["role"]),
    )


def _saved(row: aiosqlite.Row) -> SavedAnswer:
    choice = NOT_SURE if row["not_sure"] else row["choice"]
    return SavedAnswer(item_id=row["item_id"], choice=choice)


# Items this worker may be given in a batch: still wanting a hand (the partial index
# items_free holds exactly these), not answered by them, and not already theirs.
_FREE = """
    FROM items i
    WHERE i.project_id = :project AND i.status = 'open' AND i.wanted > i.n_answers + i.n_reserved
      AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.worker_id = :worker)
      AND NOT EXISTS (SELECT 1 FROM reservations r
                      WHERE r.worker_id = :worker AND r.item_id = i.id)
"""


# The invites column that names whom an invite is for, by role.
_INVITEE = {"worker": "worker_id", "coordinator": "coordinator_id", "guardian": "guardian_id"}


class SqlRepo(PeopleSql, QualitySql, FamilySql, StatusSql):
    """Repository over one open transaction (see `Store.uow`)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _all_named(self, sql: str, values: dict[str, object]) -> list[aiosqlite.Row]:
        cursor = await self.conn.execute(sql, values)
        return list(await cursor.fetchall())

    # --- projects, items, workers -------------------------------------------------------

    async def project(self, project_id: int) -> Project:
        row = await self._one("SELECT * FROM projects WHERE id = ?", project_id)
        if row is None:
            raise NotFound(f"There is no project with id {project_id}.")
        return _project(row)

    async def project_by_name(self, name: str) -> Project | None:
        row = await self._one("SELECT * FROM projects WHERE name = ?", name)
        return _project(row) if row else None

    async def create_project(
        self, name: str, question: str, choices: Sequence[str], overlap: int, now: datetime
    ) -> Project:
        cursor = await self.conn.execute(
            "INSERT INTO projects (name, question, choices, overlap, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, question, json.dumps(list(choices), ensure_ascii=False), overlap, ts(now)),
        )
        return await self.project(int(cursor.lastrowid or 0))

    async def item_kinds(self, project_id: int) -> set[ItemKind]:
        rows = await self._all("SELECT DISTINCT kind FROM items WHERE project_id = ?", project_id)
        return {ItemKind(row[0]) for row in rows}

    async def project_kind(self, project_id: int) -> ItemKind | None:
        row = await self._one("SELECT kind FROM items WHERE project_id = ? LIMIT 1", project_id)
        return ItemKind(row[0]) if row else None

    async def item(self, item_id: int) -> Item:
        row = await self._one("SELECT * FROM items WHERE id = ?", item_id)
        if row is None:
            raise NotFound(f"There is no item with id {item_id}.")
        return _item(row)

    async def worker(self, worker_id: int) -> Worker:
        row = await self._one("SELECT * FROM workers WHERE id = ?", worker_id)
        if row is None:
            raise NotFound(f"There is no worker with id {worker_id}.")
        return _worker(row)

    async def all_workers(self) -> list[Worker]:
        rows = await self._all("SELECT * FROM workers ORDER BY name")
        return [_worker(r) for r in rows]

    async def worker_by_name(self, name: str) -> Worker | None:
        row = await self._one("SELECT * FROM workers WHERE name = ?", name)
        return _worker(row) if row else None

    async def worker_by_tg(self, tg_user_id: int) -> Worker | None:
        row = await self._one("SELECT * FROM workers WHERE tg_user_id = ?", tg_user_id)
        return _worker(row) if row else None

    async def create_worker(self, name: str, project_id: int, now: datetime) -> Worker:
        cursor = await self.conn.execute(
            "INSERT INTO workers (name, project_id, created_at) VALUES (?, ?, ?)",
            (name, project_id, ts(now)),
        )
        return await self.worker(int(cursor.lastrowid or 0))

    async def move_worker(self, worker_id: int, project_id: int) -> None:
        await self.conn.execute(
            "UPDATE workers SET project_id = ? WHERE id = ?", (project_id, worker_id)
        )

    async def bind_worker(
        self, worker_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None:
        await self.conn.execute(
            "UPDATE workers SET tg_user_id = ?, chat_id = ?, lang = ?,"
            " joined_at = coalesce(joined_at, ?) WHERE id = ?",
            (tg_user_id, chat_id, lang, ts(now), worker_id),
        )

    async def create_invite(
        self, code_hash: str, role: str, person_id: int, now: datetime, expires_at: datetime
    ) -> None:
        column = _INVITEE[role]
        await self.conn.execute(
            f"INSERT INTO invites (code_hash, role, {column}, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (code_hash, role, person_id, ts(now), ts(expires_at)),
        )

    async def invite(self, code_hash: str) -> Invite | None:
        row = await self._one("SELECT * FROM invites WHERE code_hash = ?", code_hash)
        if row is None:
            return None
        return Invite(
            role=row["role"], worker_id=row["worker_id"], coordinator_id=row["coordinator_id"],
            expires_at=datetime.fromisoformat(row["expires_at"]),
            used_at=parse_ts(row["used_at"]), used_by=row["used_by"],
            guardian_id=row["guardian_id"],
        )

    async def revoke_invites(self, worker_id: int, now: datetime, role: str = "worker") -> int:
        column = _INVITEE[role]
        cursor = await self.conn.execute(
            f"UPDATE invites SET expires_at = ? WHERE {column} = ? AND role = ?"
            " AND used_at IS NULL AND expires_at > ?",
            (ts(now), worker_id, role, ts(now)),
        )
        return cursor.rowcount

    async def use_invite(self, code_hash: str, tg_user_id: int, now: datetime) -> bool:
        cursor = await self.conn.execute(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE code_hash = ? AND used_at IS NULL",
            (ts(now), tg_user_id, code_hash),
        )
        return cursor.rowcount == 1

    # --- the worker's screen ------------------------------------------------------------

    async def state(self, worker_id: int) -> WorkerState:
        row = await self._one("SELECT * FROM worker_state WHERE worker_id = ?", worker_id)
        if row is None:
            return WorkerState(worker_id=worker_id)
        return WorkerState(
            worker_id=worker_id, seq=row["seq"], mode=Mode(row["mode"]), batch_id=row["batch_id"],
            item_id=row["item_id"], frontier_id=row["frontier_id"],
            frontier_shown=parse_ts(row["frontier_shown"]), hold_until=parse_ts(row["hold_until"]),
            message_id=row["message_id"], message_kind=row["message_kind"],
        )

    async def save_state(self, state: WorkerState) -> None:
        await self.conn.execute(
            "INSERT INTO worker_state (worker_id, seq, mode, batch_id, item_id, frontier_id,"
            " frontier_shown, hold_until, message_id, message_kind)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (worker_id) DO UPDATE SET seq = excluded.seq, mode = excluded.mode,"
            " batch_id = excluded.batch_id, item_id = excluded.item_id,"
            " frontier_id = excluded.frontier_id, frontier_shown = excluded.frontier_shown,"
            " hold_until = excluded.hold_until, message_id = excluded.message_id,"
            " message_kind = excluded.message_kind",
            (
                state.worker_id, state.seq, str(state.mode), state.batch_id, state.item_id,
                state.frontier_id,
                ts(state.frontier_shown) if state.frontier_shown else None,
                ts(state.hold_until) if state.hold_until else None,
                state.message_id, state.message_kind,
            ),
        )

    async def reset_screen(self, worker_id: int, *, keep_work: bool) -> None:
        """Forget the message the screen was drawn on (a new phone), and unless `keep_work`
        also the item in hand (a new project). Old buttons stop counting either way."""
        work = "" if keep_work else (
            ", mode = 'idle', batch_id = NULL, item_id = NULL, frontier_id = NULL,"
            " frontier_shown = NULL, hold_until = NULL"
        )
        await self.conn.execute(
            "UPDATE worker_state SET seq = seq + 1, message_id = NULL, message_kind = NULL"
            f"{work} WHERE worker_id = ?",
            (worker_id,),
        )

    async def set_message(self, worker_id: int, message_id: int | None, kind: str | None
                          ) -> None:
        """Where the worker's screen is now; None when that is not known (a send that may
        not have arrived): the next tap or word then draws it anew."""
        await self.conn.execute(
            "UPDATE worker_state SET message_id = ?, message_kind = ? WHERE worker_id = ?",
            (message_id, kind, worker_id),
        )

    # --- batches and answers ------------------------------------------------------------

    async def batch(self, worker_id: int, day: str) -> Batch | None:
        row = await self._one(
            "SELECT * FROM batches WHERE worker_id = ? AND day = ?", worker_id, day
        )
        return _batch(row) if row else None

    async def last_batch_end(self, worker_id: int) -> datetime | None:
        row = await self._one("SELECT max(ends_at) FROM batches WHERE worker_id = ?", worker_id)
        return parse_ts(row[0]) if row else None

    async def batch_by_id(self, batch_id: int) -> Batch:
        row = await self._one("SELECT * FROM batches WHERE id = ?", batch_id)
        if row is None:
            raise NotFound(f"There is no batch with id {batch_id}.")
        return _batch(row)

    async def create_batch(
        self, worker_id: int, day: str, now: datetime, ends_at: datetime, *, scheduled: bool
    ) -> Batch:
        await self.conn.execute(
            "INSERT INTO batches (worker_id, day, size, created_at, ends_at, scheduled)"
            " VALUES (?, ?, 0, ?, ?, ?)",
            (worker_id, day, ts(now), ts(ends_at), int(scheduled)),
        )
        batch = await self.batch(worker_id, day)
        assert batch is not None
        return batch

    async def resize_batch(self, batch_id: int, size: int) -> Batch:
        await self.conn.execute("UPDATE batches SET size = ? WHERE id = ?", (size, batch_id))
        return await self.batch_by_id(batch_id)

    async def mark_started(self, batch_id: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE batches SET started_at = coalesce(started_at, ?) WHERE id = ?",
            (ts(now), batch_id),
        )

    async def batch_answers(self, batch_id: int) -> Sequence[SavedAnswer]:
        rows = await self._all(
            "SELECT item_id, choice, not_sure FROM answers WHERE batch_id = ? ORDER BY id",
            batch_id,
        )
        return [_saved(r) for r in rows]

    # --- reservations: the day's batch is the worker's until the day ends ---------------

    async def reserve(
        self, batch: Batch, worker: Worker, project: Project, count: int, now: datetime
    ) -> int:
        await self.release_expired(now)
        rows = await self._all_named(
            f"SELECT i.id {_FREE} ORDER BY i.id LIMIT :count",
            {"project": project.id, "worker": worker.id, "count": count},
        )
        ids = [(int(r[0]),) for r in rows]
        await self.conn.executemany(
            "INSERT INTO reservations (worker_id, item_id, batch_id, until, rank)"
            " VALUES (?, ?, ?, ?, ?)",
            [(worker.id, i, batch.id, ts(batch.ends_at), i) for (i,) in ids],
        )
        await self.conn.executemany(
            "UPDATE items SET n_reserved = n_reserved + 1 WHERE id = ?", ids
        )
        return len(ids)

    async def next_reserved(self, batch_id: int, now: datetime) -> int | None:
        row = await self._one(
            "SELECT item_id FROM reservations WHERE batch_id = ? AND until > ?"
            " ORDER BY rank LIMIT 1",  # ties (two gold in one slot): by item, from the index
            batch_id, ts(now),
        )
        return int(row[0]) if row else None

    async def reserved_items(self, batch_id: int, now: datetime, limit: int) -> list[Item]:
        rows = await self._all(
            "SELECT i.* FROM reservations r JOIN items i ON i.id = r.item_id"
            " WHERE r.batch_id = ? AND r.until > ? ORDER BY r.rank LIMIT ?",
            batch_id, ts(now), limit,
        )
        return [_item(row) for row in rows]

    async def is_reserved(self, batch_id: int, item_id: int, now: datetime) -> bool:
        row = await self._one(
            "SELECT 1 FROM reservations WHERE batch_id = ? AND item_id = ? AND until > ?",
            batch_id, item_id, ts(now),
        )
        return row is not None

    async def _release(self, where: str, *args: object) -> int:
        # One pass over the reservations that end, counted per item (not a count per item).
        await self.conn.execute(
            "UPDATE items SET n_reserved = n_reserved - gone.n FROM (SELECT r.item_id,"
            f" count(*) AS n FROM reservations r WHERE {where} GROUP BY r.item_id) AS gone"
            " WHERE items.id = gone.item_id",
            args,
        )
        cursor = await self.conn.execute(f"DELETE FROM reservations AS r WHERE {where}", args)
        return cursor.rowcount

    async def release_expired(self, now: datetime) -> int:
        """Items left unfinished when a worker's day ended go back to the pool."""
        return await self._release("r.until <= ?", ts(now))

    async def release_worker(self, worker_id: int) -> int:
        """Everything reserved for a worker goes back (they moved to another project)."""
        return await self._release("r.worker_id = ?", worker_id)

    async def recent_durations(self, worker_id: int, limit: int) -> list[float]:
        rows = await self._all(
            "SELECT (julianday(answered_at) - julianday(shown_at)) * 86400.0 FROM answers"
            " WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
            worker_id, limit,
        )
        return [float(r[0]) for r in rows]

    async def answer(self, item_id: int, worker_id: int) -> SavedAnswer | None:
        row = await self._one(
            "SELECT item_id, choice, not_sure FROM answers WHERE item_id = ? AND worker_id = ?",
            item_id, worker_id,
        )
        return _saved(row) if row else None

    async def add_answer(
        self, item_id: int, worker_id: int, batch_id: int, choice: int,
        shown_at: datetime, answered_at: datetime,
    ) -> None:
        not_sure = choice == NOT_SURE
        await self.conn.execute(
            "INSERT INTO answers (item_id, worker_id, batch_id, choice, not_sure, shown_at,"
            " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item_id, worker_id, batch_id, None if not_sure else choice, int(not_sure),
             ts(shown_at), ts(answered_at)),
        )
        cursor = await self.conn.execute(
            "DELETE FROM reservations WHERE worker_id = ? AND item_id = ?", (worker_id, item_id)
        )
        await self.conn.execute(
            "UPDATE items SET n_answers = n_answers + 1, n_reserved = n_reserved - ?,"
            " status = CASE WHEN n_answers + 1 >= wanted THEN 'filled' ELSE status END"
            " WHERE id = ?",
            (cursor.rowcount, item_id),
        )

    async def change_answer(
        self, item_id: int, worker_id: int, choice: int, changed_at: datetime
    ) -> bool:
        not_sure = choice == NOT_SURE
        cursor = await self.conn.execute(
            "UPDATE answers SET choice = ?, not_sure = ?, changed_at = ?"
            " WHERE item_id = ? AND worker_id = ? AND (choice IS NOT ? OR not_sure <> ?)",
            (None if not_sure else choice, int(not_sure), ts(changed_at), item_id, worker_id,
             None if not_sure else choice, int(not_sure)),
        )
        return cursor.rowcount == 1

    # --- media and meta -----------------------------------------------------------------

    async def file_id(self, media_id: int) -> str | None:
        """The Telegram file_id of a picture, once it has been uploaded."""
        row = await self._one("SELECT tg_file_id FROM media WHERE id = ?", media_id)
        if row is None:
            raise NotFound(f"There is no picture with id {media_id}.")
        return str(row[0]) if row[0] else None

    async def media_bytes(self, media_id: int) -> bytes:
        row = await self._one("SELECT data FROM media WHERE id = ?", media_id)
        if row is None:
            raise NotFound(f"There is no picture with id {media_id}.")
        return bytes(row[0])

    async def set_file_id(self, media_id: int, file_id: str | None) -> None:
        await self.conn.execute(
            "UPDATE media SET tg_file_id = ? WHERE id = ?", (file_id, media_id)
        )

    async def add_media(self, jpeg: bytes, width: int, height: int) -> int:
        digest = hashlib.sha256(jpeg).hexdigest()
        await self.conn.execute(
            "INSERT INTO media (sha256, data, width, height) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (sha256) DO NOTHING",
            (digest, jpeg, width, height),
        )
        row = await self._one("SELECT id FROM media WHERE sha256 = ?", digest)
        assert row is not None
        return int(row[0])

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", key)
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


class Store:
    """The composition root's handle on storage: units of work over one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextlib.asynccontextmanager
    async def uow(self) -> AsyncIterator[SqlRepo]:
        """A unit of work: everything done through the repository is saved together, or not."""
        async with self.db.transaction() as conn:
            yield SqlRepo(conn)

    @contextlib.asynccontextmanager
    async def quick_uow(self) -> AsyncIterator[SqlRepo]:
        """A unit of work of small indexed statements (a worker's tap), run without a trip
        to the database thread per statement (storage/inline.py)."""
        async with self.db.quick_transaction() as conn:
            yield SqlRepo(conn)

    @contextlib.asynccontextmanager
    async def quick_reader(self) -> AsyncIterator[SqlRepo]:
        """For a few indexed lookups on a worker's tap, without a trip to the database
        thread (storage/inline.py)."""
        async with self.db.quick_read() as conn:
            yield SqlRepo(conn)

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[SqlRepo]:
        """For lookups only: no write transaction, so no wait for the disk."""
        async with self.db.read() as conn:
            yield SqlRepo(conn)


class SqlItemSink:
    """`tasks.importing.ItemSink` on SQLite: one input file's items in one transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add_items(self, project_id: int, items: Sequence[PreparedItem]) -> tuple[int, int]:
        now = ts(datetime.now(UTC))
        async with self._store.uow() as repo:
            rows = []
            for item in items:
                media_id = None
                if isinstance(item, PreparedImage):
                    media_id = await repo.add_media(item.jpeg, item.width, item.height)
                text = item.text if isinstance(item, PreparedText) else None
                rows.append((project_id, str(item.kind), text, media_id, item.content_key,
                             item.source, now, project_id))
            # One executemany, not a round trip per row: the write lock is held briefly.
            before = repo.conn.total_changes
            await repo.conn.executemany(
                "INSERT INTO items (project_id, kind, text, media_id, content_key, source,"
                " created_at, wanted) VALUES (?, ?, ?, ?, ?, ?, ?,"
                " (SELECT overlap FROM projects WHERE id = ?))"
                " ON CONFLICT (project_id, content_key) DO NOTHING",
                rows,
            )
            imported = repo.conn.total_changes - before
        return imported, len(items) - imported

    async def add_known(
        self, project_id: int, items: Sequence[PreparedItem], role: Role
    ) -> tuple[int, int, list[Rejected]]:
        added = datetime.now(UTC)
        now = ts(added)
        imported, duplicates, rejected = 0, 0, []
        async with self._store.uow() as repo:
            for item in items:
                assert item.answer is not None
                row = await repo._one(
                    "SELECT role, answer, source FROM items WHERE project_id = ?"
                    " AND content_key = ?", project_id, item.content_key,
                )
                if row is not None:
                    why = _known_clash(item, role, row)
                    if why is None:
                        duplicates += 1
                    else:
                        rejected.append(Rejected(item.source, why))
                    continue
                media_id = None
                if isinstance(item, PreparedImage):
                    media_id = await repo.add_media(item.jpeg, item.width, item.height)
                text = item.text if isinstance(item, PreparedText) else None
                cursor = await repo.conn.execute(
                    "INSERT INTO items (project_id, kind, text, media_id, content_key, source,"
                    " created_at, wanted, role, answer) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    (project_id, str(item.kind), text, media_id, item.content_key, item.source,
                     now, str(role), item.answer.choice),
                )
                if role is Role.PRACTICE:
                    await repo.add_practice_item(
                        int(cursor.lastrowid or 0), project_id, item.answer.choice,
                        item.answer.reason, item.answer.level, added,
                    )
                imported += 1
        return imported, duplicates, rejected


def _known_clash(item: PreparedItem, role: Role, row: aiosqlite.Row) -> str | None:
    """Why a gold or practice item that is already in the project cannot come again."""
    what = "picture" if item.kind is ItemKind.IMAGE else "sentence"
    if row["role"] != role:
        return f"this {what} is already in the project as {row['role']} ({row['source']})"
    if item.answer is not None and row["answer"] != item.answer.choice:
        return f"the same {what} as {row['source']}, with a different answer"
    return None
