"""The daily schedule at work: reserve each worker's batch when it is due, plan its message and
reminder, and hand the bot what to send — at most once each, whatever happens.

What is due lives in SQLite (`workers.next_due_at`, `notices`), so a restart loses nothing: the
first tick after it catches up. One batch per worker and local date is guaranteed by the
database (UNIQUE worker, day), one message per batch likewise (UNIQUE kind, batch).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tasks.labeling import must_practise, open_batch, pace
from tasks.model import ItemKind, Mode, Notice, NoticeKind, NoticeState, Worker
from tasks.ports import ScheduleRepository, ScheduleUnitOfWork, ScheduleWrites
from tasks.schedule import at, day_end, local_day, minutes_for, next_start

PLAN_CHUNK = 50  # workers planned per transaction: the write lock is held briefly
MAX_ATTEMPTS = 8  # sends that surely did not arrive, before a notice is given up
_BACKOFF = (5, 15, 30, 60, 120, 300, 600)  # seconds before the next try, by attempt


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=_BACKOFF[min(attempts, len(_BACKOFF)) - 1])


@dataclass(frozen=True)
class Delivery:
    """One notice to send now, with everything the bot needs to word it."""

    notice: Notice
    chat_id: int
    lang: str
    name: str  # the worker's name (for an alert: the worker it is about)
    seq: int | None = None  # batch and reminder: the screen number their ▶️ carries
    count: int = 0  # items in the day's batch
    kind: ItemKind = ItemKind.IMAGE
    minutes: int = 0
    local_time: datetime | None = None  # the worker's local time now (for the greeting)
    practice: bool = False  # the worker practises first, before the day's work
    old_message_id: int | None = None  # the worker's previous screen: its buttons go


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # Forbidden: the recipient blocked the bot
    RETRY = "retry"  # surely not delivered (flood control, no connection): try again later
    UNCERTAIN = "uncertain"  # may have been delivered: never sent again
    FAILED = "failed"  # refused for good


@dataclass(frozen=True)
class Result:
    delivery: Delivery
    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    error: str | None = None


@dataclass
class PlanReport:
    released: int = 0  # reservations returned to the pool at the end of someone's day
    batches: int = 0  # batches reserved, with their message planned
    empty: int = 0  # due, but no work was left: no message
    missed: int = 0  # days that ended while the bot was down: not sent
    already: int = 0  # the worker had started that day's batch on their own


def due_after(worker: Worker, now: datetime, *, today_if_passed: bool) -> datetime | None:
    """When the worker's next batch is due; None while they cannot get one."""
    if worker.chat_id is None or worker.paused or worker.unreachable_at is not None:
        return None
    return next_start(worker.schedule, now, today_if_passed=today_if_passed)


async def schedule_next(
    repo: ScheduleWrites, worker: Worker, now: datetime, *, today_if_passed: bool
) -> datetime | None:
    """Save (and return) when the worker's next batch is due: never while their last batch's
    day lasts, nor on a local date that already had one (both matter when the time zone
    changes: a new zone's "today" may have begun or not yet ended)."""
    due = due_after(worker, now, today_if_passed=today_if_passed)
    last_end = await repo.last_batch_end(worker.id)
    if due is not None and last_end is not None and due < last_end:
        due = next_start(worker.schedule, last_end, today_if_passed=False)
    for _ in range(8):
        if due is None:
            break
        day = local_day(worker.tz, due)
        if await repo.batch(worker.id, day.isoformat()) is None:
            break
        due = next_start(worker.schedule, day_end(day, worker.tz), today_if_passed=False)
    await repo.set_next_due(worker.id, due)
    return due


class DailyService:
    def __init__(self, uow: ScheduleUnitOfWork) -> None:
        self._uow = uow

    async def plan(self, now: datetime) -> PlanReport:
        """Release what ended; reserve every batch that is due and plan its message."""
        report = PlanReport()
        async with self._uow() as repo:
            report.released = await repo.release_expired(now)
        while True:
            async with self._uow() as repo:
                ids = await repo.due_worker_ids(now, PLAN_CHUNK)
                for worker_id in ids:
                    await self._due(repo, await repo.worker(worker_id), now, report)
            if len(ids) < PLAN_CHUNK:
                return report

    async def _due(
        self, repo: ScheduleRepository, worker: Worker, now: datetime, report: PlanReport
    ) -> None:
        due = worker.next_due_at
        assert due is not None
        if due_after(worker, now, today_if_passed=True) is None:
            await repo.set_next_due(worker.id, None)
            return
        day = local_day(worker.tz, due)
        if now >= day_end(day, worker.tz):
            # The bot was down for the whole of that day: it is not sent late. Today's start
            # may still be due now, if it has passed.
            report.missed += 1
            again = next_start(worker.schedule, now, today_if_passed=True)
            await repo.set_next_due(worker.id, again)
            if again is not None and again <= now:
                await self._due(repo, replace(worker, next_due_at=again), now, report)
            return
        if await repo.batch(worker.id, day.isoformat()) is not None:
            report.already += 1
        else:
            project = await repo.project(worker.project_id)
            batch = await open_batch(repo, worker, project, day, now, scheduled=True)
            if batch.size:
                report.batches += 1
                await repo.add_notice(NoticeKind.BATCH, worker.id, now, now, batch_id=batch.id)
                if worker.reminder_at is not None:
                    remind = at(day, worker.reminder_at, worker.tz)
                    if remind > now:
                        await repo.add_notice(
                            NoticeKind.REMINDER, worker.id, remind, now, batch_id=batch.id
                        )
            else:
                report.empty += 1  # nothing to do: no message (the digest tells coordinators)
        await schedule_next(repo, worker, day_end(day, worker.tz), today_if_passed=False)

    async def claim(self, now: datetime, limit: int) -> list[Delivery]:
        """Take up to `limit` due notices to send now. Each is marked 'sending' first: if the
        process stops mid-send, it is never sent again (it may have arrived)."""
        deliveries: list[Delivery] = []
        async with self._uow() as repo:
            while len(deliveries) < limit:
                due = await repo.due_notices(now, limit - len(deliveries))
                if not due:
                    break
                for notice in due:  # one no longer wanted is marked dropped: look further
                    delivery = await self._prepare(repo, notice, now)
                    if delivery is not None:
                        await repo.update_notice(
                            notice.id, NoticeState.SENDING, attempts=notice.attempts + 1,
                            seq=delivery.seq,
                        )
                        deliveries.append(delivery)
        return deliveries

    async def _prepare(
        self, repo: ScheduleRepository, notice: Notice, now: datetime
    ) -> Delivery | None:
        if notice.kind is NoticeKind.UNREACHABLE:
            return await self._alert(repo, notice)
        worker: Worker = await repo.worker(notice.worker_id)
        batch = await repo.batch_by_id(notice.batch_id or 0)
        chat_id = worker.chat_id
        why = (
            "paused" if worker.paused
            else "unreachable" if worker.unreachable_at or chat_id is None
            else "day over" if not batch.live(now)
            else "started" if batch.started_at is not None
            else None
        )
        if why is not None or chat_id is None:
            await repo.update_notice(notice.id, NoticeState.DROPPED, error=why)
            return None
        # The message becomes the worker's screen: its ▶️ is the only one that counts.
        state = await repo.state(worker.id)
        await repo.save_state(replace(
            state, seq=state.seq + 1, mode=Mode.IDLE, batch_id=batch.id, item_id=None,
            frontier_id=None, frontier_shown=None, hold_until=None,
        ))
        kind = await repo.project_kind(worker.project_id)
        return Delivery(
            notice, chat_id, worker.lang, worker.name, seq=state.seq + 1,
            count=batch.size, kind=kind or ItemKind.IMAGE,
            minutes=minutes_for(batch.size, await pace(repo, worker.id)),
            local_time=now.astimezone(ZoneInfo(worker.tz)), old_message_id=state.message_id,
            practice=await must_practise(repo, worker),
        )

    async def _alert(self, repo: ScheduleRepository, notice: Notice) -> Delivery | None:
        coordinator = await repo.coordinator(notice.coordinator_id or 0)
        if coordinator is None or coordinator.chat_id is None or coordinator.unreachable_at:
            await repo.update_notice(notice.id, NoticeState.DROPPED, error="no coordinator")
            return None
        worker = await repo.worker(notice.worker_id)
        return Delivery(notice, coordinator.chat_id, coordinator.lang, worker.name)

    async def record(self, results: list[Result], now: datetime) -> None:
        """Save what happened to each send."""
        async with self._uow() as repo:
            for result in results:
                await self._record(repo, result, now)

    async def _record(self, repo: ScheduleRepository, result: Result, now: datetime) -> None:
        delivery, notice = result.delivery, result.delivery.notice
        to_worker = notice.kind is not NoticeKind.UNREACHABLE
        if result.outcome is Outcome.SENT:
            await repo.update_notice(notice.id, NoticeState.SENT, message_id=result.message_id,
                                     sent_at=now)
            if to_worker and (await repo.state(notice.worker_id)).seq == delivery.seq:
                await repo.set_message(notice.worker_id, result.message_id, "text")
        elif result.outcome is Outcome.BLOCKED:
            await repo.update_notice(notice.id, NoticeState.BLOCKED, error=result.error)
            if to_worker:
                await mark_unreachable(repo, notice.worker_id, now)
            else:
                await repo.set_coordinator_unreachable(notice.coordinator_id or 0, now)
        elif result.outcome is Outcome.RETRY and notice.attempts + 1 < MAX_ATTEMPTS:
            wait = max(backoff(notice.attempts + 1), timedelta(seconds=result.retry_after))
            await repo.update_notice(notice.id, NoticeState.DUE, due_at=now + wait,
                                     error=result.error)
        elif result.outcome is Outcome.UNCERTAIN:
            await repo.update_notice(notice.id, NoticeState.UNCERTAIN, error=result.error)
            await forget_screen(repo, notice, delivery.seq)
        else:
            await repo.update_notice(notice.id, NoticeState.FAILED, error=result.error)
            await forget_screen(repo, notice, delivery.seq)

    async def recover(self, now: datetime) -> int:
        """At start: notices a stopped process left mid-send may have arrived; they are
        not sent again, and the worker's screen is drawn anew at their next tap or word.
        Workers who can get batches but have no next one planned (a database from before
        schedules) get theirs, from now on."""
        async with self._uow() as repo:
            stuck = await repo.interrupted_notices()
            for notice in stuck:
                await repo.update_notice(notice.id, NoticeState.UNCERTAIN, error="interrupted")
                await forget_screen(repo, notice, notice.seq)
            for worker_id in await repo.unplanned_worker_ids():
                worker = await repo.worker(worker_id)
                await schedule_next(repo, worker, now, today_if_passed=False)
        return len(stuck)



async def forget_screen(repo: ScheduleRepository, notice: Notice, seq: int | None) -> None:
    """The worker's screen may or may not be the notice: draw it anew when they come back."""
    if notice.kind is not NoticeKind.UNREACHABLE and seq is not None:
        if (await repo.state(notice.worker_id)).seq == seq:
            await repo.set_message(notice.worker_id, None, None)


async def mark_unreachable(repo: ScheduleRepository, worker_id: int, now: datetime) -> None:
    """The worker blocked the bot: nothing more is sent to them, and coordinators hear of it
    once. Writing to the bot again undoes it (see `reachable_again`)."""
    if await repo.set_unreachable(worker_id, now):
        await repo.set_next_due(worker_id, None)
        await repo.release_worker(worker_id)  # their day's items go to others
        for coordinator in await repo.reachable_coordinators():
            await repo.add_notice(
                NoticeKind.UNREACHABLE, worker_id, now, now, coordinator_id=coordinator.id
            )


async def reachable_again(repo: ScheduleRepository, worker: Worker, now: datetime) -> None:
    """The worker wrote or tapped: they have unblocked the bot. Their schedule resumes from
    now (today's batch, if its time has passed, comes with their next ▶️)."""
    if await repo.set_unreachable(worker.id, None):
        fresh = replace(worker, unreachable_at=None)
        await schedule_next(repo, fresh, now, today_if_passed=False)
