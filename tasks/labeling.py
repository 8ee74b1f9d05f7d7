"""The labeling loop: which item next, saving a tap, going back, taking a break.

Every action is one transaction: load the worker's state, decide, save, and return the
`Screen` to draw. Buttons carry the state's `seq`; an action whose seq is not the current one
is stale (an old message, a double tap) and changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tasks import schedule
from tasks.model import Item, Mode, Project, Worker
from tasks.ports import (
    NOT_SURE,
    Batch,
    Judge,
    LabelingRepository,
    SavedAnswer,
    UnitOfWork,
    WorkerState,
    WorkRepository,
)
from tasks.schedule import (
    PACE_SAMPLE,
    day_end,
    minutes_for,
    next_start,
    seconds_per_item,
)


class Note(StrEnum):
    """A line shown above the item, about what just happened."""

    SAVED = "saved"  # the tapped answer was saved
    CHANGED = "changed"  # an earlier answer was changed
    KEPT = "kept"  # an earlier answer was tapped again: nothing to change
    FIRST = "first"  # ↩️ on the first item of the day: nothing further back
    BEGIN = "begin"  # the first item of the day: how many today, and about how long
    PRACTICE = "practice"  # the first practice item: this is practice, take your time
    HELP = "help"  # 🙋: a coordinator was told
    HELPED = "helped"  # 🙋 again: they were told already
    NOBODY = "nobody"  # 🙋, but no coordinator could be told right now


class Done(StrEnum):
    """Why there is no item on the screen."""

    FINISHED = "finished"  # today's work is complete
    NO_MORE = "no_more"  # nothing more is free right now, before the day's work was complete
    ALREADY = "already"  # ▶️ after today's work was finished
    NOTHING = "nothing"  # there is no work at all for this worker right now
    DAY_OVER = "day_over"  # the batch's day ended before it was complete: it rests there
    REST_DAY = "rest_day"  # ▶️ on a day that is not one of the worker's working days
    PAUSED = "paused"  # ▶️ while a coordinator has paused the worker


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
    minutes: int = 0  # with Note.BEGIN: about how long the day takes, at the worker's pace
    next_start: datetime | None = None  # with Done.REST_DAY: when the next batch comes
    message_id: int | None = None  # the message the worker's screen was last drawn on
    message_kind: str | None = None
    answer: int | None = None  # in EXPLAIN: the practice item's right answer
    reason: str | None = None  # in EXPLAIN: why
    passed: bool = False  # in EXPLAIN: practice is over, real work comes next
    # In WORK: the item an answer would bring next, as things stand (the bot draws it ahead
    # of saving; the save then says whether that was right). None: not known, or the last.
    upcoming: Item | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Stale:
    """The tap was on an old screen or repeated; nothing was changed."""

    already_saved: bool


def _why_done(answered: int, batch: Batch, now: datetime) -> Done:
    if answered >= batch.size:
        return Done.FINISHED
    if not batch.live(now) and answered:
        return Done.DAY_OVER
    return Done.NO_MORE if answered else Done.NOTHING


def local_day(worker: Worker, now: datetime) -> str:
    """The worker's local date, as batches store it (YYYY-MM-DD)."""
    return schedule.local_day(worker.tz, now).isoformat()


def gold_share(count: int, every: int, draw: float) -> int:
    """How many of `count` items are hidden gold at one in `every` (0: none): the whole
    part, plus one more with the chance of the rest (`draw` is uniform in [0, 1))."""
    if every <= 0 or count <= 0:
        return 0
    whole, rest = divmod(count, every)
    return whole + (1 if draw < rest / every else 0)


async def must_practise(repo: LabelingRepository, worker: Worker) -> bool:
    """A new worker practises first, when their project has practice items; someone who
    already did real work is not sent back."""
    if worker.practiced_at is not None:
        return False
    if not await repo.has_practice(worker.project_id):
        return False
    return not await repo.recent_durations(worker.id, 1)


async def pace(repo: WorkRepository, worker_id: int) -> float:
    """Seconds per item at this worker's own recent pace (a calm default for newcomers)."""
    return seconds_per_item(await repo.recent_durations(worker_id, PACE_SAMPLE))


async def fill(repo: WorkRepository, batch: Batch, worker: Worker, project: Project,
               answered: int, now: datetime) -> Batch:
    """Reserve work for today's batch once nothing reserved is left (the caller has looked):
    up to the worker's batch size, fewer if fewer items are free. A day made small grows
    when more work arrives (paid work is never turned away); a day that is over gets
    nothing more."""
    if not batch.live(now) or batch.day != local_day(worker, now):
        return batch
    want = worker.batch_size - answered
    more = 0
    if want > 0:
        gold = gold_share(want, project.gold_every, random.random())
        more = await repo.reserve(batch, worker, project, want - gold, now)
        if more < want - gold and project.gold_every > 1:
            gold = more // (project.gold_every - 1)  # less work: keep the same share of gold
        slipped = await repo.reserve_gold(batch, worker.id, project.id, gold)
        if slipped < gold:  # no gold left that they have not seen: work in its place
            more += await repo.reserve(batch, worker, project, gold - slipped, now)
        more += slipped
    if answered + more != batch.size:
        batch = await repo.resize_batch(batch.id, answered + more)
    return batch


async def open_batch(repo: WorkRepository, worker: Worker, project: Project, day: date,
                     now: datetime, *, scheduled: bool) -> Batch:
    """The worker's batch for a local day, made and filled now."""
    batch = await repo.create_batch(
        worker.id, day.isoformat(), now, day_end(day, worker.tz), scheduled=scheduled
    )
    return await fill(repo, batch, worker, project, 0, now)


class LabelingService:
    def __init__(self, uow: UnitOfWork, judge: Judge | None = None) -> None:
        self._uow = uow
        self._judge = judge

    async def start(self, worker_id: int, now: datetime) -> Screen:
        """▶️: show the item in hand, or the next one (resumes at the same item)."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            return await loop.start()

    async def current(self, worker_id: int, now: datetime) -> Screen:
        """The screen the worker should be seeing now, without changing anything."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            return await loop.redraw()

    async def again(self, worker_id: int, now: datetime) -> Screen:
        """The current screen, to be drawn anew at the bottom of the chat: it gets a new
        number, so the buttons of the copy above no longer count."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            return await loop.redraw_with(None)

    async def answer(
        self, worker_id: int, seq: int, item_id: int, choice: int, now: datetime
    ) -> Screen | Stale:
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            if stale := await loop.check(seq, item_id, _ANSWERABLE):
                return stale
            shown = await loop.shown(item_id)
            if choice != NOT_SURE and not 0 <= choice < len(shown["project"].choices):
                return Stale(already_saved=False)
            if loop.state.mode is Mode.PRACTICE:
                return await loop.practice_answer(choice)
            return await loop.answer(choice, shown["project"])

    async def back(self, worker_id: int, seq: int, item_id: int, now: datetime) -> Screen | Stale:
        """↩️: the answer before the one on screen, to look at or change; also from 🎉."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            if stale := await loop.check(seq, item_id, (Mode.WORK, Mode.REVIEW, Mode.DONE)):
                return stale
            return await loop.back()

    async def pause(self, worker_id: int, seq: int, item_id: int, now: datetime) -> Screen | Stale:
        """☕: everything is saved already; let the item go for others until ▶️."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            if stale := await loop.check(seq, item_id, _ANSWERABLE):
                return stale
            return await loop.pause()

    async def help(self, worker_id: int, item_id: int, now: datetime
                   ) -> tuple[Screen, bool] | Stale:
        """🙋 on an item: remember the request (once per item) and say so on the screen;
        True when it is new, so the caller tells the coordinators."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            # Any 🙋 for the item on screen counts, also a quick second tap on the same
            # message: it is told "already sent", and nobody is told twice.
            if item_id != loop.state.item_id or not item_id or loop.state.mode not in _ANSWERABLE:
                return Stale(already_saved=False)
            new = await repo.add_help(worker_id, item_id, now) is not None
            return await loop.redraw_with(Note.HELP if new else Note.HELPED), new

    async def resume(self, worker_id: int, seq: int, now: datetime) -> Screen | Stale:
        """▶️ on a screen: only the newest screen's button counts. Mid-item (the ▶️ under a
        pointer message) it draws the item in hand anew."""
        async with self._uow() as repo:
            loop = await _Loop.load(repo, worker_id, now, self._judge)
            if seq != loop.state.seq:
                return Stale(already_saved=False)
            return await loop.start()


_ANSWERABLE = (Mode.WORK, Mode.REVIEW, Mode.PRACTICE)


@dataclass
class _Loop:
    """One worker's loop inside one transaction."""

    repo: LabelingRepository
    worker: Worker
    project: Project
    state: WorkerState
    now: datetime
    judge: Judge | None = None

    @classmethod
    async def load(cls, repo: LabelingRepository, worker_id: int, now: datetime,
                   judge: Judge | None = None) -> _Loop:
        worker = await repo.worker(worker_id)
        project = await repo.project(worker.project_id)
        return cls(repo, worker, project, await repo.state(worker_id), now, judge)

    async def check(self, seq: int, item_id: int, modes: tuple[Mode, ...]) -> Stale | None:
        state = self.state
        if seq == state.seq and item_id == (state.item_id or 0) and state.mode in modes:
            return None
        return Stale(already_saved=await self.repo.answer(item_id, self.worker.id) is not None)

    async def batch_to_work_on(self) -> Batch | Done:
        """Today's batch, made now if there is none yet: ▶️ on a working day always finds
        work if there is some. A paused worker, or a day off, gets a kind word instead."""
        day = local_day(self.worker, self.now)
        batch = await self.repo.batch(self.worker.id, day)
        if batch is not None:
            return batch
        if self.worker.paused:
            return Done.PAUSED
        local = date.fromisoformat(day)
        if local.weekday() not in self.worker.days:
            return Done.REST_DAY
        return await open_batch(
            self.repo, self.worker, self.project, local, self.now, scheduled=False
        )

    async def shown(self, item_id: int) -> dict[str, Any]:
        """An item with the project it belongs to: its question and buttons are that
        project's, even if the worker has since been moved to another."""
        item = await self.repo.item(item_id)
        same = item.project_id == self.project.id
        project = self.project if same else await self.repo.project(item.project_id)
        return {"item": item, "project": project}

    async def keeps(self, batch_id: int | None, frontier: int | None) -> bool:
        """Whether the item kept for the worker is still theirs: reserved in their batch and
        not answered (the day may have ended, or they were moved to another project)."""
        return (frontier is not None and batch_id is not None
                and await self.repo.is_reserved(batch_id, frontier, self.now))

    async def start(self) -> Screen:
        state = self.state
        if await self.needs_practice():
            return await self.practice()
        looking_back = state.item_id not in (None, state.frontier_id)
        if state.mode is Mode.BREAK and looking_back and state.batch_id is not None:
            # ☕ was taken while looking back at an earlier answer: resume right there.
            looked = await self.repo.batch_by_id(state.batch_id or 0)
            history = list(await self.repo.batch_answers(looked.id))
            ids = [a.item_id for a in history]
            if state.item_id in ids:
                return await self.review(looked, history, ids.index(state.item_id))
        batch = await self.batch_to_work_on()
        if isinstance(batch, Done):
            return await self.finish(batch, 0, batch_id=None)
        answered = len(await self.repo.batch_answers(batch.id))
        if await self.repo.next_reserved(batch.id, self.now) is None:
            batch = await fill(self.repo, batch, self.worker, self.project, answered, self.now)
        if answered >= batch.size:
            done = Done.ALREADY if answered else Done.NOTHING
            return await self.finish(done, answered, batch_id=batch.id)
        frontier = state.frontier_id if state.batch_id == batch.id else None
        return await self.show_frontier(batch, answered, frontier)

    async def show_frontier(
        self, batch: Batch, answered: int, frontier: int | None, note: Note | None = None,
        note_choice: int | None = None, *, reserved: bool = False,
        waiting: list[Item] | None = None,
    ) -> Screen:
        """Show `frontier` if it is still the worker's (`reserved`: just looked up, with the
        items `waiting` from it on when known), else the batch's next reserved item, else
        why there is none."""
        if not reserved and not await self.keeps(batch.id, frontier):
            frontier = await self.repo.next_reserved(batch.id, self.now)
            if frontier is None:
                done = _why_done(answered, batch, self.now)
                return await self.finish(done, answered, note, note_choice, batch.id)
        assert frontier is not None
        # "When shown" is when the worker first saw this item, even across breaks.
        shown = self.state.frontier_shown if frontier == self.state.frontier_id else None
        minutes = 0
        if answered == 0 and note is None:
            note = Note.BEGIN
            seconds = await pace(self.repo, self.worker.id)
            minutes = minutes_for(batch.size, seconds)
        if batch.started_at is None:
            await self.repo.mark_started(batch.id, self.now)
        await self.save(
            mode=Mode.WORK, batch_id=batch.id, item_id=frontier, frontier_id=frontier,
            frontier_shown=shown or self.now, hold_until=None,
        )
        total = max(batch.size, answered + 1)
        if answered + 1 < total and waiting is None:
            waiting = await self.repo.reserved_items(batch.id, self.now, 2)
        if waiting and waiting[0].id == frontier and waiting[0].project_id == self.project.id:
            content: dict[str, Any] = {"item": waiting[0], "project": self.project}
        else:
            content = await self.shown(frontier)
        # The item an answer would bring next: the first one waiting after this one.
        after = [item for item in waiting or () if item.id != frontier]
        upcoming = after[0] if after and answered + 1 < total else None
        return self.screen(
            Mode.WORK, **content, position=answered + 1, total=total, note=note,
            note_choice=note_choice, minutes=minutes, upcoming=upcoming,
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

    def next_start(self) -> datetime | None:
        return next_start(self.worker.schedule, self.now, today_if_passed=False)

    async def answer(self, choice: int, project: Project) -> Screen:
        item_id, batch_id = self.state.item_id, self.state.batch_id
        assert item_id is not None and batch_id is not None
        # The answer belongs to the batch on screen, even just after midnight: nothing a
        # worker did is lost.
        batch = await self.repo.batch_by_id(batch_id)
        if self.state.mode is Mode.REVIEW:
            changed = await self.repo.change_answer(item_id, self.worker.id, choice, self.now)
            note = Note.CHANGED if changed else Note.KEPT
            frontier = self.state.frontier_id
        else:
            await self.repo.add_answer(
                item_id, self.worker.id, batch.id, choice,
                shown_at=self.state.frontier_shown or self.now, answered_at=self.now,
            )
            note, frontier, changed = Note.SAVED, None, True
        if changed and self.judge is not None:
            await self.judge(self.repo, item_id, self.now)
        answered = len(await self.repo.batch_answers(batch.id))
        if frontier is None:
            # The next item is the batch's next reserved one (and the one after it, to
            # draw ahead: one query); only when none is left, more may be reserved (a small
            # day grows), once a day rather than at every tap.
            waiting = await self.repo.reserved_items(batch.id, self.now, 2)
            if not waiting:
                batch = await fill(self.repo, batch, self.worker, self.project, answered,
                                   self.now)
            if answered >= batch.size:
                return await self.finish(Done.FINISHED, answered, note, choice, batch.id)
            if waiting:
                return await self.show_frontier(batch, answered, waiting[0].id, note, choice,
                                                reserved=True, waiting=waiting)
            return await self.show_frontier(batch, answered, None, note, choice)
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
        # The item kept for later stays the worker's while they look back.
        keep = await self.keeps(batch.id, self.state.frontier_id)
        frontier = self.state.frontier_id if keep else None
        await self.save(mode=Mode.REVIEW, item_id=answer.item_id, frontier_id=frontier)
        return self.screen(
            Mode.REVIEW, **await self.shown(answer.item_id), position=index + 1,
            total=max(batch.size, len(history)), saved=answer.choice,
        )

    async def pause(self) -> Screen:
        """Everything is saved already; the day's batch stays the worker's until ▶️."""
        await self.save(mode=Mode.BREAK)
        return self.screen(Mode.BREAK)

    async def redraw_with(self, note: Note | None) -> Screen:
        await self.save()
        return replace(await self.redraw(), note=note)

    async def redraw(self) -> Screen:
        """The screen for the current state, with the current seq."""
        state = self.state
        if state.mode in (Mode.PRACTICE, Mode.EXPLAIN) and state.item_id is not None:
            return await self.practice_screen(state.mode, state.item_id)
        if state.batch_id is None:
            if state.mode is Mode.DONE:
                return self.screen(Mode.DONE, done=self.why_no_batch())
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
            done = _why_done(len(ids), batch, self.now)
            return self.screen(Mode.DONE, done=done, done_today=len(ids))
        return self.screen(state.mode)

    # --- practice, before real work ----------------------------------------------------------

    async def needs_practice(self) -> bool:
        return await must_practise(self.repo, self.worker)

    async def practice(self) -> Screen:
        """The practice item in hand (after a break), or the next one."""
        state, item_id = self.state, None
        in_hand = state.mode in (Mode.PRACTICE, Mode.BREAK) and state.item_id is not None
        if in_hand and await self.repo.practice_item(state.item_id or 0) is not None:
            item_id = state.item_id
        after = state.item_id if state.mode is Mode.EXPLAIN else None
        first = await self.repo.last_practice(self.worker.id) is None
        if item_id is None:
            item_id = await self.repo.next_practice(self.worker.id, self.project.id, after)
        if item_id is None:  # the practice items went away: real work it is
            await self.repo.set_practiced(self.worker.id, self.now, "coordinator")
            self.worker = replace(self.worker, practiced_at=self.now)
            return await self.start()
        await self.save(mode=Mode.PRACTICE, batch_id=None, item_id=item_id, frontier_id=None)
        screen = await self.practice_screen(Mode.PRACTICE, item_id)
        return replace(screen, note=Note.PRACTICE) if first else screen

    async def practice_answer(self, choice: int) -> Screen:
        """Keep the try, and show the right answer with its reason, whatever was chosen."""
        item_id = self.state.item_id or 0
        known = await self.repo.practice_item(item_id)
        right = known is not None and known.answer == choice
        await self.repo.add_practice_answer(self.worker.id, item_id, choice, right, self.now)
        recent = await self.repo.recent_practice(self.worker.id, self.project.mastery_of)
        if sum(recent) >= self.project.mastery_need:
            await self.repo.set_practiced(self.worker.id, self.now, "mastery")
            self.worker = replace(self.worker, practiced_at=self.now)
        await self.save(mode=Mode.EXPLAIN)
        return await self.practice_screen(Mode.EXPLAIN, item_id)

    async def practice_screen(self, mode: Mode, item_id: int) -> Screen:
        known = await self.repo.practice_item(item_id)
        last = await self.repo.last_practice(self.worker.id)
        chosen = last[1] if mode is Mode.EXPLAIN and last and last[0] == item_id else None
        return self.screen(
            mode, **await self.shown(item_id), saved=chosen,
            answer=known.answer if known else None, reason=known.reason if known else None,
            passed=self.worker.practiced_at is not None,
        )

    def why_no_batch(self) -> Done:
        if self.worker.paused:
            return Done.PAUSED
        if schedule.local_day(self.worker.tz, self.now).weekday() not in self.worker.days:
            return Done.REST_DAY
        return Done.NOTHING

    def screen(self, mode: Mode, **fields: Any) -> Screen:
        fields.setdefault("project", self.project)
        if fields.get("done") is Done.REST_DAY:
            fields["next_start"] = self.next_start()
        return Screen(
            mode, self.state.seq, self.worker, message_id=self.state.message_id,
            message_kind=self.state.message_kind, **fields,
        )

    async def save(self, **changes: object) -> None:
        self.state = replace(self.state, seq=self.state.seq + 1, **changes)  # type: ignore[arg-type]
        await self.repo.save_state(self.state)
