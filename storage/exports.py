"""What `haru export` reads: a project's work items with their votes, pictures one at a time,
real answers, and the key behind workers' pseudonyms. Rows come in chunks, never all at once."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

import aiosqlite

from review.export import FINISHED, ExportItem
from storage.db import Database
from storage.errors import StorageError

EXPORT_KEY = "export_key"
CHUNK = 500  # items per fetch (and per votes query); also answers per fetch, times 10

_FINISHED = " AND i.verdict IN ({})".format(", ".join(f"'{v}'" for v in FINISHED))


async def export_key(db: Database) -> bytes:
    """The secret behind workers' pseudonyms, made on first use and kept in `meta`."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (EXPORT_KEY, secrets.token_hex(32)),
        )
        cursor = await conn.execute("SELECT value FROM meta WHERE key = ?", (EXPORT_KEY,))
        row = await cursor.fetchone()
    assert row is not None
    return str(row[0]).encode()


@contextlib.asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    """One read transaction: every chunk sees the database as it was at the first one, while
    the bot goes on writing (WAL)."""
    async with db.read() as conn:
        await conn.execute("BEGIN")
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")


async def _votes(conn: aiosqlite.Connection, ids: Sequence[int], n_choices: int
                 ) -> dict[int, tuple[list[int], int]]:
    """Votes per choice and "not sure" count of each item, in one GROUP BY."""
    found: dict[int, tuple[list[int], int]] = {i: ([0] * n_choices, 0) for i in ids}
    marks = ", ".join("?" * len(ids))
    cursor = await conn.execute(
        f"SELECT item_id, choice, not_sure, count(*) FROM answers WHERE item_id IN ({marks})"
        " GROUP BY item_id, choice, not_sure",
        tuple(ids),
    )
    for item_id, choice, not_sure, count in await cursor.fetchall():
        votes, unsure = found[item_id]
        if not_sure:
            found[item_id] = (votes, unsure + count)
        elif choice is not None and 0 <= choice < n_choices:
            votes[choice] += count
    return found


def _item(row: aiosqlite.Row, votes: list[int], unsure: int, n_choices: int) -> ExportItem:
    label = row["label"]
    if label is not None and not 0 <= label < n_choices:
        label = None  # not a button of this project (never written by Haru)
    return ExportItem(
        id=row["id"], kind=row["kind"], text=row["text"], media_id=row["media_id"],
        source=row["source"], decided=row["verdict"] or "open", label=label,
        confidence=row["confidence"] if label is not None else None,
        votes=tuple(votes), not_sure=unsure,
    )


async def items(conn: aiosqlite.Connection, project_id: int, n_choices: int, *,
                everything: bool) -> AsyncGenerator[ExportItem, None]:
    """The project's work items in id order: finished ones, or `everything`."""
    cursor = await conn.execute(
        "SELECT i.id, i.kind, i.text, i.media_id, i.source, i.verdict, i.label, i.confidence"
        " FROM items i WHERE i.project_id = ? AND i.role = 'work'"
        f"{'' if everything else _FINISHED} ORDER BY i.id",
        (project_id,),
    )
    try:
        while rows := list(await cursor.fetchmany(CHUNK)):
            votes = await _votes(conn, [row["id"] for row in rows], n_choices)
            for row in rows:
                yield _item(row, *votes[row["id"]], n_choices)
    finally:
        await cursor.close()


async def picture(conn: aiosqlite.Connection, media_id: int) -> bytes:
    """One picture's JPEG bytes."""
    cursor = await conn.execute("SELECT data FROM media WHERE id = ?", (media_id,))
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:  # the foreign key keeps this from happening
        raise StorageError(f"Picture {media_id} is missing from the database.")
    return bytes(row[0])


async def answers(conn: aiosqlite.Connection, project_id: int, *, everything: bool
                  ) -> AsyncGenerator[tuple[int, int, int], None]:
    """(worker id, item id, choice) of every real answer ("not sure" is no vote) on the
    project's work items, finished ones or `everything`, by item then worker."""
    cursor = await conn.execute(
        "SELECT a.worker_id, a.item_id, a.choice FROM items i"
        " JOIN answers a ON a.item_id = i.id"
        " WHERE i.project_id = ? AND i.role = 'work' AND a.not_sure = 0"
        f"{'' if everything else _FINISHED} ORDER BY i.id, a.worker_id",
        (project_id,),
    )
    try:
        while rows := list(await cursor.fetchmany(CHUNK * 10)):
            for worker_id, item_id, choice in rows:
                yield int(worker_id), int(item_id), int(choice)
    finally:
        await cursor.close()
