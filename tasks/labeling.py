"""The labeling loop: which item next, saving a tap, going back, taking a break.

Every action is one transaction: load the worker's state, decide, save, and return the
`Screen` to draw. Buttons carry the state's `seq`; an action whose seq is not the current one
is stale (an old message, a double tap) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tasks.model import Item, Mode, Project, Worker
from tasks.ports import NOT_SURE, Batch, SavedAnswer, UnitOfWork, WorkerState, WorkRepository

# An item on a worker's screen is kept from others this long; after that, if the worker left
# it, someone else may take it (their answer is still accepted when they come back).
HOLD = timedelta(minutes=30)
# A starting guess for "about how long" at the start of the day (UX.md: 20 pictures, ~15 min).
SECONDS_PER_ITEM = 45


def minutes_for(items: int) -> int:
    """About how long a number of items takes, rounded to a friendly number of minutes."""
    minutes = items * SECONDS_PER_ITEM / 60
    return max(1, round(minutes / 5) * 5 if minutes >= 10 else round(minutes))


class Note(StrEnum):
    """A line shown above the item, about what just happened."""

    SAVED = "saved"  # the tapped answer was saved
    CHANGED = "changed"  # an earlier answer was changed
    KEPT = "kept"  # an earlier answer was tapped again: nothing to change
    FIRST = "first"  # ↩️ on the first item of the day: nothing further back
    BEGIN = "begin"  # the first item of the day: how many today, and about how long


class Done(StrEnum):
    """Why there is no item on the screen."""

    FINISHED = "finished"  # today's work is complete
    NO_MORE = "no_more"  # nothing more is free right now, before the day's work was complete
    ALREADY = "already"  # ▶️ after today's work was finished
    NOTHING = "nothing"  # there is no work at all for this worker right now


@dataclass(frozen=True)
class Screen:
    mode: Mode
    seq: int
    worker: Worker
    project: Project
    item: Item | None = None
    position: int = 0
    total: int = 0
    saved: int | None = None  # in REVIEW: the answer saved earlier
    note: Note | None = None
    note_choice: int | None = None
    done: Done | None = None
    done_today: int = 0
    message_id: int | None = None  # the message the worker's screen was last drawn on
    message_kind: str | None = None


@dataclass(frozen=True)
class Stale:
    """The tap was on an old screen or repeated; nothing was changed."""

    already_saved: bool


def _why_done(answered: int, batch: Batch) -> Done:
    if answered >= batch.size:
        return Done.FINISHED
    return Done.NO_MORE if answered else Done.NOTHING


def local_day(worker: Worker, now: datetime) -> str:
    return now.astimezone(ZoneInfo(worker.tz)).date().isoformat()


class LabelingService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def start(self, worker_id: int, now: datetime) -> Screen:
        """▶️: show the item in hand, or the next one (resumes at the same item)."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            return await loop.start()

    async def current(self, worker_id: int, now: datetime) -> Screen:
        """The screen the worker should be seeing now, without changing anything."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            return await loop.redraw()

    async def again(self, worker_id: int, now: datetime) -> Screen:
        """The current screen, to be drawn anew at the bottom of the chat: it gets a new
        number, so the buttons of the copy above no longer count."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            return await loop.redraw_with(None)

    async def answer(
        self, worker_id: int, seq: int, item_id: int, choice: int, now: datetime
    ) -> Screen | Stale:
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            if stale := await loop.check(seq, item_id, (Mode.WORK, Mode.REVIEW)):
                return stale
            shown = await loop.shown(item_id)
            if choice != NOT_SURE and not 0 <= choice < len(shown["project"].choices):
                return Stale(already_saved=False)
            return await loop.answer(choice, shown["project"])

    async def back(self, worker_id: int, seq: int, item_id: int, now: datetime) -> Screen | Stale:
        """↩️: the answer before the one on screen, to look at or change; also from 🎉."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            if stale := await loop.check(seq, item_id, (Mode.WORK, Mode.REVIEW, Mode.DONE)):
                return stale
            return await loop.back()

    async def pause(self, worker_id: int, seq: int, item_id: int, now: datetime) -> Screen | Stale:
        """☕: everything is saved already; let the item go for others until ▶️."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            if stale := await loop.check(seq, item_id, (Mode.WORK, Mode.REVIEW)):
                return stale
            return await loop.pause()

    async def resume(self, worker_id: int, seq: int, now: datetime) -> Screen | Stale:
        """▶️ on a screen: only the newest screen's button counts. Mid-item (the ▶️ under a
        pointer message) it draws the item in hand anew."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now)
            if seq != loop.state.seq:
                return Stale(already_saved=False)
            return await loop.start()


@dataclass
class _Loop:
    """One worker's loop inside one transaction."""

    repo: WorkRepository
    worker: Worker
    project: Project
    state: WorkerState
    now: datetime

    @classmethod
    async def load(cls, repo: WorkRepository, worker_id: int, now: datetime) -> _Loop:
        worker = await repo.worker(worker_id)
        project = await repo.project(worker.project_id)
        return cls(repo, worker, project, await repo.state(worker_id), now)

    async def check(self, seq: int, item_id: int, modes: tuple[Mode, ...]) -> Stale | None:
        state = self.state
        if seq == state.seq and item_id == (state.item_id or 0) and state.mode in modes:
            return None
        return Stale(already_saved=await self.repo.answer(item_id, self.worker.id) is not None)

    async def today(self, at_least: int = 0) -> Batch | None:
        """Today's batch, made the first time it is needed: up to the worker's batch size,
        fewer if fewer items are left; none while there is nothing to do."""
        day = local_day(self.worker, self.now)
        batch = await self.repo.batch(self.worker.id, day)
        if batch is None:
            available = await self.repo.count_available(
                self.worker, self.project, self.now, self.worker.batch_size
            )
            size = max(available, at_least)
            if size:
                batch = await self.repo.create_batch(self.worker.id, day, size, self.now)
        return batch

    async def shown(self, item_id: int) -> dict[str, Any]:
        """An item with the project it belongs to: its question and buttons are that
        project's, even if the worker has since been moved to another."""
        item = await self.repo.item(item_id)
        same = item.project_id == self.project.id
        project = self.project if same else await self.repo.project(item.project_id)
        return {"item": item, "project": project}

    async def keeps(self, frontier: int | None) -> bool:
        """Whether the worker may still answer the item kept for them: not answered yet, and
        not filled by others while it was let go (☕) or while they were moved elsewhere."""
        return frontier is not None and (
            await self.repo.answer(frontier, self.worker.id) is None
            and await self.repo.has_room(frontier, self.worker, self.project, self.now)
        )

    async def grow(self, batch: Batch, answered: int) -> Batch:
        """A day made small because items were held by others, or not yet imported, grows
        (up to the batch size) when more work is there: paid work is never turned away."""
        if answered < batch.size or batch.size >= self.worker.batch_size:
            return batch
        more = await self.repo.count_available(
            self.worker, self.project, self.now, self.worker.batch_size - answered
        )
        return await self.repo.resize_batch(batch.id, answered + more) if more else batch

    async def start(self) -> Screen:
        state = self.state
        if state.mode is Mode.BREAK and state.item_id not in (None, state.frontier_id):
            # ☕ was taken while looking back at an earlier answer: resume right there.
            looked = await self.repo.batch_by_id(state.batch_id or 0)
            history = list(await self.repo.batch_answers(looked.id))
            ids = [a.item_id for a in history]
            if state.item_id in ids:
                return await self.review(looked, history, ids.index(state.item_id))
        batch = await self.today()
        if batch is None:
            return await self.finish(Done.NOTHING, 0, batch_id=None)
        answered = len(await self.repo.batch_answers(batch.id))
        batch = await self.grow(batch, answered)
        if answered >= batch.size:
            return await self.finish(Done.ALREADY, answered, batch_id=batch.id)
        return await self.show_frontier(batch, answered, state.frontier_id)

    async def show_frontier(
        self, batch: Batch, answered: int, frontier: int | None, note: Note | None = None,
        note_choice: int | None = None,
    ) -> Screen:
        if frontier is None or not await self.keeps(frontier):
            frontier = await self.repo.next_item(self.worker, self.project, self.now)
            if frontier is None:
                done = _why_done(answered, batch)
                return await self.finish(done, answered, note, note_choice, batch.id)
        # "When shown" is when the worker first saw this item, even across breaks and days.
        shown = self.state.frontier_shown if frontier == self.state.frontier_id else None
        if answered == 0 and note is None:
            note = Note.BEGIN
        await self.save(
            mode=Mode.WORK, batch_id=batch.id, item_id=frontier, frontier_id=frontier,
            frontier_shown=shown or self.now, hold_until=self.now + HOLD,
        )
        return self.screen(
            Mode.WORK, **await self.shown(frontier), position=answered + 1,
            total=max(batch.size, answered + 1), note=note, note_choice=note_choice,
        )

    async def finish(
        self, done: Done, answered: int, note: Note | None = None,
        note_choice: int | None = None, batch_id: int | None = None,
    ) -> Screen:
        await self.save(
            mode=Mode.DONE, batch_id=batch_id, item_id=None, frontier_id=None, hold_until=None
        )
        return self.screen(
            Mode.DONE, done=done, done_today=answered, note=note, note_choice=note_choice
        )

    async def answer(self, choice: int, project: Project) -> Screen:
        item_id = self.state.item_id
        assert item_id is not None
        if self.state.mode is Mode.REVIEW:
            changed = await self.repo.change_answer(item_id, self.worker.id, choice, self.now)
            batch = await self.repo.batch_by_id(self.state.batch_id or 0)
            note = Note.CHANGED if changed else Note.KEPT
            frontier = self.state.frontier_id
        else:
            today = await self.today(at_least=1)
            assert today is not None
            batch = today
            await self.repo.add_answer(
                item_id, self.worker.id, batch.id, choice,
                shown_at=self.state.frontier_shown or self.now, answered_at=self.now,
                overlap=project.overlap,
            )
            note, frontier = Note.SAVED, None
        answered = len(await self.repo.batch_answers(batch.id))
        if frontier is None:
            batch = await self.grow(batch, answered)
            if answered >= batch.size:
                return await self.finish(Done.FINISHED, answered, note, choice, batch.id)
        return await self.show_frontier(batch, answered, frontier, note, choice)

    async def back(self) -> Screen:
        if self.state.batch_id is None:
            return await self.redraw_with(Note.FIRST)
        batch = await self.repo.batch_by_id(self.state.batch_id)
        history = list(await self.repo.batch_answers(batch.id))
        ids = [a.item_id for a in history]
        current = self.state.item_id
        here = ids.index(current) if self.state.mode is Mode.REVIEW and current else len(ids)
        if here == 0:
            return await self.redraw_with(Note.FIRST)
        return await self.review(batch, history, here - 1)

    async def review(self, batch: Batch, history: list[SavedAnswer], index: int) -> Screen:
        """Show the answer at `index` of today's, with what was saved, ready to change."""
        answer = history[index]
        # The item kept for later stays held while looking back, if it is still free.
        frontier = self.state.frontier_id if await self.keeps(self.state.frontier_id) else None
        hold = self.now + HOLD if frontier is not None else None
        await self.save(
            mode=Mode.REVIEW, item_id=answer.item_id, frontier_id=frontier, hold_until=hold
        )
        return self.screen(
            Mode.REVIEW, **await self.shown(answer.item_id), position=index + 1,
            total=max(batch.size, len(history)), saved=answer.choice,
        )

    async def pause(self) -> Screen:
        await self.save(mode=Mode.BREAK, hold_until=None)
        return self.screen(Mode.BREAK)

    async def redraw_with(self, note: Note | None) -> Screen:
        await self.save()
        return replace(await self.redraw(), note=note)

    async def redraw(self) -> Screen:
        """The screen for the current state, with the current seq."""
        state = self.state
        if state.batch_id is None:
            if state.mode is Mode.DONE:
                return self.screen(Mode.DONE, done=Done.NOTHING)
            return self.screen(Mode.IDLE)
        batch = await self.repo.batch_by_id(state.batch_id)
        history = list(await self.repo.batch_answers(batch.id))
        ids = [a.item_id for a in history]
        if state.mode is Mode.WORK and state.item_id is not None:
            return self.screen(
                Mode.WORK, **await self.shown(state.item_id), position=len(ids) + 1,
                total=max(batch.size, len(ids) + 1),
            )
        if state.mode is Mode.REVIEW and state.item_id in ids:
            here = ids.index(state.item_id)
            return self.screen(
                Mode.REVIEW, **await self.shown(state.item_id), position=here + 1,
                total=max(batch.size, len(ids)), saved=history[here].choice,
            )
        if state.mode is Mode.DONE:
            if batch.day != local_day(self.worker, self.now):
                return self.screen(Mode.IDLE)  # yesterday's thank-you: today starts with ▶️
            return self.screen(Mode.DONE, done=_why_done(len(ids), batch), done_today=len(ids))
        return self.screen(state.mode)

    def screen(self, mode: Mode, **fields: Any) -> Screen:
        fields.setdefault("project", self.project)
        return Screen(
            mode, self.state.seq, self.worker, message_id=self.state.message_id,
            message_kind=self.state.message_kind, **fields,
        )

    async def save(self, **changes: object) -> None:
        self.state = replace(self.state, seq=self.state.seq + 1, **changes)  # type: ignore[arg-type]
        await self.repo.save_state(self.state)
