"""Workers and their invites: a single-use, unguessable, expiring code per link."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from tasks.daily import schedule_next
from tasks.errors import InvalidInput, NotFound
from tasks.family import Every, FamilyRepository, Guardian, GuardianInvite, next_send
from tasks.model import Coordinator, NoticeKind, Project, Worker
from tasks.ports import Invite, ScheduleWrites
from tasks.schedule import Schedule, check_batch, check_reminder, check_zone

INVITE_DAYS = 14
MAX_INVITE_DAYS = 365
MAX_NAME_CHARS = 40
# Telegram deep-link payloads allow A-Z a-z 0-9 _ - and up to 64 characters.
_CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class JoinOutcome(StrEnum):
    JOINED = "joined"  # this account is now the worker's
    ALREADY = "already"  # this account already is that worker
    INVALID = "invalid"  # unknown, used, expired or malformed code
    OTHER = "other"  # this account already belongs to another worker (or role)
    SELF = "self"  # a worker opened the link meant for their own guardian


@dataclass(frozen=True)
class JoinResult:
    outcome: JoinOutcome
    worker: Worker | None = None
    coordinator: Coordinator | None = None  # a coordinator's invite was used
    guardian: Guardian | None = None  # a guardian's invite was used


KEEP: Literal["keep"] = "keep"  # a schedule field that is not being changed


@dataclass(frozen=True)
class ScheduleChange:
    """What `haru worker set` (or an invite) changes; None/KEEP fields stay as they are."""

    days: frozenset[int] | None = None
    start: time | None = None
    tz: str | None = None
    batch: int | None = None
    reminder: time | Literal["keep"] | None = KEEP

    @property
    def empty(self) -> bool:
        return (self.days, self.start, self.tz, self.batch) == (None,) * 4 and (
            self.reminder == KEEP
        )


class PeopleRepository(ScheduleWrites, FamilyRepository, Protocol):
    """What invites, joining and schedules need from storage."""

    async def project_by_name(self, name: str) -> Project | None: ...
    async def project(self, project_id: int) -> Project: ...
    async def create_worker(self, name: str, project_id: int, now: datetime) -> Worker: ...
    async def move_worker(self, worker_id: int, project_id: int) -> None: ...
    async def bind_worker(
        self, worker_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None: ...
    async def create_invite(
        self, code_hash: str, role: str, person_id: int, now: datetime, expires_at: datetime
    ) -> None: ...
    async def invite(self, code_hash: str) -> Invite | None: ...
    async def revoke_invites(self, worker_id: int, now: datetime, role: str = ...) -> int: ...
    async def use_invite(self, code_hash: str, tg_user_id: int, now: datetime) -> bool: ...
    async def reset_screen(self, worker_id: int, *, keep_work: bool) -> None: ...
    async def create_coordinator(self, name: str, now: datetime) -> Coordinator: ...
    async def coordinator(self, coordinator_id: int) -> Coordinator | None: ...
    async def coordinator_by_name(self, name: str) -> Coordinator | None: ...
    async def coordinator_by_tg(self, tg_user_id: int) -> Coordinator | None: ...
    async def bind_coordinator(
        self, coordinator_id: int, tg_user_id: int, chat_id: int, lang: str, now: datetime
    ) -> None: ...


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def new_code() -> str:
    """128 random bits, URL-safe: 22 characters."""
    return secrets.token_urlsafe(16)


def validate_worker_name(name: str) -> str:
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    if not name or len(name) > MAX_NAME_CHARS or not any(c.isalnum() for c in name):
        raise InvalidInput(
            f'"{name}" is not a usable name: give 1 to {MAX_NAME_CHARS} characters, '
            "as the person likes to be called."
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
    repo: PeopleRepository, name: str, project_name: str, now: datetime, days: int = INVITE_DAYS,
    schedule: ScheduleChange | None = None,
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
        # What is on their screen belongs to the old project: those buttons stop counting,
        # and what was reserved for them there goes back to the others.
        await repo.reset_screen(worker.id, keep_work=False)
        await repo.release_worker(worker.id)
    if schedule is not None and not schedule.empty:
        worker = await change_schedule(repo, worker, schedule, now)
    revoked = await repo.revoke_invites(worker.id, now)
    code = new_code()
    await repo.create_invite(hash_code(code), "worker", worker.id, now, now + timedelta(days=days))
    return WorkerInvite(worker, code, moved_from, worker.tg_user_id is not None, revoked)


@dataclass(frozen=True)
class CoordinatorInvite:
    coordinator: Coordinator
    code: str
    replaces_phone: bool = False
    revoked: int = 0


async def invite_coordinator(
    repo: PeopleRepository, name: str, now: datetime, days: int = INVITE_DAYS
) -> CoordinatorInvite:
    """A coordinator (job coach): made if new, with a fresh single-use link."""
    name = validate_worker_name(name)
    days = validate_days(days)
    coordinator = await repo.coordinator_by_name(name)
    if coordinator is None:
        coordinator = await repo.create_coordinator(name, now)
    revoked = await repo.revoke_invites(coordinator.id, now, "coordinator")
    code = new_code()
    await repo.create_invite(
        hash_code(code), "coordinator", coordinator.id, now, now + timedelta(days=days)
    )
    return CoordinatorInvite(coordinator, code, coordinator.tg_user_id is not None, revoked)


async def named_worker(repo: PeopleRepository, name: str) -> Worker:
    worker: Worker | None = await repo.worker_by_name(" ".join(name.split()))
    if worker is None:
        raise NotFound(f'There is no worker called "{name}". See `haru worker list`.')
    return worker


async def change_schedule(
    repo: PeopleRepository, worker: Worker | str, change: ScheduleChange, now: datetime
) -> Worker:
    """Set any part of a worker's schedule; checked whole before anything is saved. A start
    time already passed today still counts today, unless today's batch went out already."""
    if isinstance(worker, str):
        worker = await named_worker(repo, worker)
    tz = check_zone(change.tz) if change.tz is not None else worker.tz
    batch = check_batch(change.batch) if change.batch is not None else worker.batch_size
    reminder = worker.reminder_at if change.reminder == KEEP else change.reminder
    assert not isinstance(reminder, str)
    schedule = Schedule(change.days or worker.days, change.start or worker.start_at, tz, reminder)
    check_reminder(schedule)
    await repo.set_schedule(
        worker.id, days=schedule.days, start=schedule.start, tz=tz, batch_size=batch,
        reminder=reminder,
    )
    if (tz, reminder) != (worker.tz, worker.reminder_at):
        # A reminder planned at the old time (or in the old zone) no longer fits.
        await repo.drop_due_notices(worker.id, NoticeKind.REMINDER)
    await schedule_next(repo, await repo.worker(worker.id), now, today_if_passed=True)
    return await repo.worker(worker.id)


async def pause_worker(repo: PeopleRepository, name: str, now: datetime) -> tuple[Worker, bool]:
    """No batch and no reminder until resumed (holidays, sickness). False: already paused."""
    worker = await named_worker(repo, name)
    if worker.paused:
        return worker, False
    await repo.set_paused(worker.id, now)
    await repo.set_next_due(worker.id, None)
    await repo.release_worker(worker.id)  # what was reserved for them goes to others
    return await repo.worker(worker.id), True


async def resume_worker(repo: PeopleRepository, name: str, now: datetime) -> tuple[Worker, bool]:
    """Batches again from the next start time on. False: the worker was not paused."""
    worker = await named_worker(repo, name)
    if not worker.paused:
        return worker, False
    await repo.set_paused(worker.id, None, now)
    await schedule_next(repo, await repo.worker(worker.id), now, today_if_passed=False)
    return await repo.worker(worker.id), True


async def join(
    repo: PeopleRepository, code: str, tg_user_id: int, chat_id: int, lang: str, now: datetime
) -> JoinResult:
    """`/start <code>`: bind this Telegram account to the invited person, once."""
    if not _CODE.match(code):
        return JoinResult(JoinOutcome.INVALID)
    code_hash = hash_code(code)
    invite = await repo.invite(code_hash)
    if invite is None:
        return JoinResult(JoinOutcome.INVALID)
    if invite.role != "guardian" and await repo.guardians_by_tg(tg_user_id):
        # One role per account: a guardian's phone never becomes a worker or a coordinator
        # (it could then answer its own worker's questions about sharing).
        return JoinResult(JoinOutcome.INVALID)
    if invite.role == "coordinator":
        return await _join_coordinator(repo, invite, code_hash, tg_user_id, chat_id, lang, now)
    if invite.role == "guardian":
        return await _join_guardian(repo, invite, code_hash, tg_user_id, chat_id, lang, now)
    worker_id = invite.worker_id
    if invite.role != "worker" or worker_id is None:
        return JoinResult(JoinOutcome.INVALID)
    current = await repo.worker_by_tg(tg_user_id)
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
    await repo.bind_worker(worker_id, tg_user_id, chat_id, lang, now)
    await repo.reset_screen(worker_id, keep_work=True)
    await repo.set_unreachable(worker_id, None)
    worker = await repo.worker(worker_id)
    # The first scheduled batch is the first start after joining: today's work, if its time
    # has passed, is the ▶️ under the welcome.
    await schedule_next(repo, worker, now, today_if_passed=False)
    return JoinResult(JoinOutcome.JOINED, await repo.worker(worker.id))


async def _join_coordinator(
    repo: PeopleRepository, invite: Invite, code_hash: str, tg_user_id: int, chat_id: int,
    lang: str, now: datetime,
) -> JoinResult:
    current = await repo.coordinator_by_tg(tg_user_id)
    coordinator_id = invite.coordinator_id
    if coordinator_id is None:
        return JoinResult(JoinOutcome.INVALID)
    if current is not None and current.id == coordinator_id:
        await repo.use_invite(code_hash, tg_user_id, now)
        return JoinResult(JoinOutcome.ALREADY, coordinator=current)
    if invite.used_at is not None or invite.expires_at <= now:
        return JoinResult(JoinOutcome.INVALID)
    if current is not None:
        return JoinResult(JoinOutcome.OTHER, coordinator=current)
    if not await repo.use_invite(code_hash, tg_user_id, now):
        return JoinResult(JoinOutcome.INVALID)
    await repo.bind_coordinator(coordinator_id, tg_user_id, chat_id, lang, now)
    return JoinResult(JoinOutcome.JOINED, coordinator=await repo.coordinator(coordinator_id))


async def invite_guardian(
    repo: PeopleRepository, name: str, worker_name: str, now: datetime, days: int = INVITE_DAYS,
    *, tz: str | None = None, every: Every | None = None,
) -> GuardianInvite:
    """A guardian of one worker, made if new, with a fresh single-use link. Nothing is shared
    with them until the worker chooses to."""
    name = validate_worker_name(name)
    days = validate_days(days)
    worker = await named_worker(repo, worker_name)
    guardian = await repo.guardian_by_name(worker.id, name)
    if guardian is None:
        guardian = await repo.create_guardian(
            worker.id, name, tz or "Asia/Seoul", every or Every.WEEK, now
        )
    elif tz is not None or every is not None:
        await repo.set_guardian_options(
            guardian.id, tz=tz or guardian.tz, every=every or guardian.every
        )
    revoked = await repo.revoke_invites(guardian.id, now, "guardian")
    code = new_code()
    await repo.create_invite(
        hash_code(code), "guardian", guardian.id, now, now + timedelta(days=days)
    )
    guardian = await repo.guardian(guardian.id)
    assert guardian is not None
    return GuardianInvite(guardian, worker, code, guardian.joined, revoked)


async def _join_guardian(
    repo: PeopleRepository, invite: Invite, code_hash: str, tg_user_id: int, chat_id: int,
    lang: str, now: datetime,
) -> JoinResult:
    """A guardian's link links only the guardian it was made for, once, before it expires.
    The worker themself, or anyone who is already a worker or coordinator, links nothing and
    leaves the link unused for the real guardian."""
    guardian = await repo.guardian(invite.guardian_id) if invite.guardian_id else None
    if guardian is None:
        return JoinResult(JoinOutcome.INVALID)
    if guardian.tg_user_id == tg_user_id:
        await repo.use_invite(code_hash, tg_user_id, now)
        return JoinResult(JoinOutcome.ALREADY, guardian=guardian)
    if invite.used_at is not None or invite.expires_at <= now:
        return JoinResult(JoinOutcome.INVALID, guardian=guardian)
    worker = await repo.worker_by_tg(tg_user_id)
    if worker is not None:
        outcome = JoinOutcome.SELF if worker.id == guardian.worker_id else JoinOutcome.OTHER
        return JoinResult(outcome, worker=worker, guardian=guardian)
    if await repo.coordinator_by_tg(tg_user_id) is not None:
        return JoinResult(JoinOutcome.OTHER, guardian=guardian)
    if any(g.worker_id == guardian.worker_id for g in await repo.guardians_by_tg(tg_user_id)):
        # Already this worker's guardian under another name: one link per person is enough.
        return JoinResult(JoinOutcome.OTHER, guardian=guardian)
    if not await repo.use_invite(code_hash, tg_user_id, now):
        return JoinResult(JoinOutcome.INVALID, guardian=guardian)
    await repo.bind_guardian(guardian.id, tg_user_id, chat_id, lang, now)
    joined = await repo.guardian(guardian.id)
    assert joined is not None
    await repo.set_guardian_next(joined.id, next_send(joined, now))
    return JoinResult(JoinOutcome.JOINED, worker=await repo.worker(guardian.worker_id),
                      guardian=await repo.guardian(guardian.id))
