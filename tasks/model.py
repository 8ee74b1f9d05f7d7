"""The domain: plain frozen dataclasses and enums whose values match the database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ItemKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


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


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    question: str
    choices: tuple[str, ...]
    overlap: int


@dataclass(frozen=True)
class Item:
    id: int
    project_id: int
    kind: ItemKind
    text: str | None
    media_id: int | None


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
