"""The domain: plain frozen dataclasses and enums whose values match the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from tasks.schedule import Schedule


class ItemKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


class Role(StrEnum):
    """What an item is for."""

    WORK = "work"  # real work: answered by several workers, then judged
    GOLD = "gold"  # a known answer, slipped unseen into real batches (never any feedback)
    PRACTICE = "practice"  # only in practice, where the right answer is shown after each try


class Verdict(StrEnum):
    """The judgement on a work item."""

    MORE = "more"  # not sure enough yet: one more worker was asked
    AGREEMENT = "agreement"  # the workers agreed enough
    MODEL = "model"  # Dawid-Skene's weighting of the workers made it sure enough
    REVIEW = "review"  # waits for a coordinator
    REVIEWER = "reviewer"  # a coordinator decided (final)
    DROPPED = "dropped"  # a coordinator found it unclear and dropped it (final)


class ItemStatus(StrEnum):
    OPEN = "open"  # still needs answers
    FILLED = "filled"  # has as many answers as the project's overlap


class Mode(StrEnum):
    """What the worker's screen shows."""

    IDLE = "idle"  # welcome or pointer, nothing in hand
    WORK = "work"  # a new item to answer (the frontier)
    REVIEW = "review"  # an item answered earlier this session, brought back with ↩️
    BREAK = "break"  # ☕: saved, resume with ▶️
    DONE = "done"  # nothing left today
    PRACTICE = "practice"  # a practice item, before real work
    EXPLAIN = "explain"  # the right answer to the practice item just answered, and why


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    question: str
    choices: tuple[str, ...]
    overlap: int
    threshold: float = 0.9  # confidence at which an item is done
    max_overlap: int = 5  # ask one more worker up to this many answers, then review
    gold_every: int = 10  # one hidden gold item in this many; 0: no gold
    mastery_need: int = 8  # practice ends after this many right ...
    mastery_of: int = 10  # ... among the last this many practice answers


@dataclass(frozen=True)
class Item:
    id: int
    project_id: int
    kind: ItemKind
    text: str | None
    media_id: int | None
    role: Role = Role.WORK


@dataclass(frozen=True)
class Worker:
    id: int
    name: str
    project_id: int
    tg_user_id: int | None
    chat_id: int | None
    lang: str
    tz: str
    batch_size: int
    days: frozenset[int] = frozenset(range(5))  # working days, 0 = Monday
    start_at: time = time(10, 0)  # local time the day's batch goes out
    reminder_at: time | None = None  # local time of the one reminder, if they asked for it
    paused_at: datetime | None = None  # paused by a coordinator: no batch, no reminder
    unreachable_at: datetime | None = None  # blocked the bot: nothing is sent to them
    next_due_at: datetime | None = None  # when their next batch is due
    practiced_at: datetime | None = None  # passed practice, or was let through
    resumed_at: datetime | None = None  # last resumed after a pause

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.days, self.start_at, self.tz, self.reminder_at)


@dataclass(frozen=True)
class Coordinator:
    id: int
    name: str
    tg_user_id: int | None
    chat_id: int | None
    lang: str
    unreachable_at: datetime | None = None


class NoticeKind(StrEnum):
    """Messages the bot sends on its own."""

    BATCH = "batch"  # the day's batch is ready (the schedule's one message a day)
    REMINDER = "reminder"  # the one optional reminder, if the batch was not started
    UNREACHABLE = "unreachable"  # to a coordinator: a worker blocked the bot


class NoticeState(StrEnum):
    DUE = "due"  # to be sent at due_at (or later, after a failure that did not deliver)
    SENDING = "sending"  # handed to Telegram; the outcome is not known yet
    SENT = "sent"
    BLOCKED = "blocked"  # the recipient blocked the bot: not retried
    UNCERTAIN = "uncertain"  # may have arrived (a time-out mid-answer, a crash): never resent
    DROPPED = "dropped"  # no longer wanted: paused, already started, the day is over
    FAILED = "failed"  # refused by Telegram, or retried too often


@dataclass(frozen=True)
class Notice:
    id: int
    kind: NoticeKind
    worker_id: int  # the worker it is for, or, for an alert, about
    coordinator_id: int | None  # the recipient of an alert
    batch_id: int | None
    due_at: datetime
    attempts: int = 0
    seq: int | None = None  # the worker's screen it draws
