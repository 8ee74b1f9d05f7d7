"""Workers and their invites: a single-use, unguessable, expiring code per link."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from tasks.errors import InvalidInput, NotFound
from tasks.model import Project, Worker
from tasks.ports import Invite

INVITE_DAYS = 14
MAX_INVITE_DAYS = 365
MAX_NAME_CHARS = 40
# Telegram deep-link payloads allow A-Z a-z 0-9 _ - and up to 64 characters.
_CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class JoinOutcome(StrEnum):
    JOINED = "joined"  # this account is now the worker's
    ALREADY = "already"  # this account already is that worker
    INVALID = "invalid"  # unknown, used, expired or malformed code
    OTHER = "other"  # this account already belongs to another worker


@dataclass(frozen=True)
class JoinResult:
    outcome: JoinOutcome
    worker: Worker | None = None


class InviteRepository(Protocol):
    async def project_by_name(self, name: str) -> Project | None: ...
    async def worker(self, worker_id: int) -> Worker: ...
    async def worker_by_name(self, name: str) -> Worker | None: ...
    async def worker_by_tg(self, tg_user_id: int) -> Worker | None: ...
    async def create_worker(self, name: str, project_id: int, now: datetime) -> Worker: ...
    async def move_worker(self, worker_id: int, project_id: int) -> None: ...
    async def bind_worker(
        self, worker_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None: ...
    async def create_invite(
        self, code_hash: str, role: str, worker_id: int, now: datetime, expires_at: datetime
    ) -> None: ...
    async def invite(self, code_hash: str) -> Invite | None: ...
    async def revoke_invites(self, worker_id: int, now: datetime) -> int: ...
    async def reset_screen(self, worker_id: int, *, keep_work: bool) -> None: ...
    async def project(self, project_id: int) -> Project: ...
    async def use_invite(self, code_hash: str, tg_user_id: int, now: datetime) -> bool: ...


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def new_code() -> str:
    """128 random bits, URL-safe: 22 characters."""
    return secrets.token_urlsafe(16)


def validate_worker_name(name: str) -> str:
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    if not name or len(name) > MAX_NAME_CHARS or not any(c.isalnum() for c in name):
        raise InvalidInput(
            f'"{name}" is not a usable worker name: give 1 to {MAX_NAME_CHARS} characters, '
            "as the worker likes to be called."
        )
    return name


def validate_days(days: int) -> int:
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise InvalidInput(f"An invite lasts 1 to {MAX_INVITE_DAYS} days; got {days}.")
    return days


@dataclass(frozen=True)
class WorkerInvite:
    worker: Worker
    code: str
    moved_from: str | None = None  # the project the worker was on before, if it changed
    replaces_phone: bool = False  # the worker has joined before: the link moves them
    revoked: int = 0  # earlier links of this worker that were still unused, now closed


async def invite_worker(
    repo: InviteRepository, name: str, project_name: str, now: datetime, days: int = INVITE_DAYS
) -> WorkerInvite:
    """Create the worker if new (or move them to the project) and a fresh invite code.
    Only the newest link of a worker works: earlier unused ones are closed."""
    name = validate_worker_name(name)
    days = validate_days(days)
    project = await repo.project_by_name(project_name)
    if project is None:
        raise NotFound(f'There is no project called "{project_name}". See `haru project list`.')
    worker = await repo.worker_by_name(name)
    moved_from = None
    if worker is None:
        worker = await repo.create_worker(name, project.id, now)
    elif worker.project_id != project.id:
        moved_from = (await repo.project(worker.project_id)).name
        await repo.move_worker(worker.id, project.id)
        # What is on their screen belongs to the old project: those buttons stop counting.
        await repo.reset_screen(worker.id, keep_work=False)
    revoked = await repo.revoke_invites(worker.id, now)
    code = new_code()
    await repo.create_invite(hash_code(code), "worker", worker.id, now, now + timedelta(days=days))
    return WorkerInvite(worker, code, moved_from, worker.tg_user_id is not None, revoked)


async def join(
    repo: InviteRepository, code: str, tg_user_id: int, chat_id: int, lang: str, now: datetime
) -> JoinResult:
    """`/start <code>`: bind this Telegram account to the invited worker, once."""
    if not _CODE.match(code):
        return JoinResult(JoinOutcome.INVALID)
    code_hash = hash_code(code)
    invite = await repo.invite(code_hash)
    current = await repo.worker_by_tg(tg_user_id)
    if invite is None:
        return JoinResult(JoinOutcome.INVALID)
    if current is not None and current.id == invite.worker_id:
        await repo.use_invite(code_hash, tg_user_id, now)  # nobody else can take it now
        return JoinResult(JoinOutcome.ALREADY, current)
    if invite.used_at is not None or invite.expires_at <= now:
        return JoinResult(JoinOutcome.INVALID)
    if current is not None:
        return JoinResult(JoinOutcome.OTHER, current)
    if not await repo.use_invite(code_hash, tg_user_id, now):
        return JoinResult(JoinOutcome.INVALID)
    # A new invite for a worker who changed phones moves them to the new account; the old
    # chat's messages are not this chat's, so the screen is drawn anew here.
    await repo.bind_worker(invite.worker_id, tg_user_id, chat_id, lang, now)
    await repo.reset_screen(invite.worker_id, keep_work=True)
    return JoinResult(JoinOutcome.JOINED, await repo.worker(invite.worker_id))
