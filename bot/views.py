"""Screens drawn as Telegram text and keyboards, with words from the message catalogs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, Op, encode
from bot.i18n import t
from tasks.known import CAPTION_LIMIT
from tasks.labeling import Done, Note, Screen
from tasks.model import ItemKind, Mode
from tasks.ports import NOT_SURE

BAR_BLOCKS = 10


@dataclass(frozen=True)
class View:
    text: str  # HTML; the caption when `media_id` is set
    keyboard: InlineKeyboardMarkup | None
    media_id: int | None = None  # a picture to show with the text
    is_item: bool = False  # an item to answer (not a note such as ☕ or 🎉)

    @property
    def kind(self) -> str:
        return "photo" if self.media_id is not None else "text"


def progress_bar(position: int, total: int) -> str:
    """"7 / 20  ■■■□□□□□□□": where I am, in small numbers and blocks, never a percentage."""
    filled = min(BAR_BLOCKS, BAR_BLOCKS * position // max(total, 1))
    return f"{position} / {total}  {'■' * filled}{'□' * (BAR_BLOCKS - filled)}"


def choice_label(lang: str, choices: tuple[str, ...], choice: int) -> str:
    return t(lang, "not_sure") if choice == NOT_SURE else choices[choice]


def start_keyboard(lang: str, seq: int, key: str = "button_start") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, key), callback_data=encode(Action(Op.START, seq)))]]
    )


def note_line(screen: Screen) -> str | None:
    """The line above the item about what just happened (None: nothing to say)."""
    lang, choices = screen.worker.lang, screen.project.choices
    if screen.note is Note.FIRST:
        return t(lang, "note_first")
    if screen.note is Note.BEGIN:
        return t(lang, "note_begin", count=screen.total, minutes=screen.minutes)
    if screen.note in (Note.PRACTICE, Note.HELP, Note.HELPED, Note.NOBODY):
        return t(lang, f"note_{screen.note}")
    if screen.note is None or screen.note_choice is None:
        return None
    label = escape(choice_label(lang, choices, screen.note_choice))
    return t(lang, f"note_{screen.note}", choice=label)


def _item_keyboard(screen: Screen) -> InlineKeyboardMarkup:
    lang, seq = screen.worker.lang, screen.seq
    item = screen.item.id if screen.item else 0
    mark = t(lang, "saved_mark")

    def button(label: str, choice: int) -> list[InlineKeyboardButton]:
        if screen.saved == choice:
            label = f"{mark} {label}"
        data = encode(Action(Op.ANSWER, seq, item, choice))
        return [InlineKeyboardButton(label, callback_data=data)]

    rows = [button(label, i) for i, label in enumerate(screen.project.choices)]
    rows.append(button(t(lang, "button_not_sure"), NOT_SURE))
    # The fixed control row, always in this order; practice has no going back.
    controls = [(Op.BACK, "button_back"), (Op.BREAK, "button_break"), (Op.HELP, "button_help")]
    if screen.mode is Mode.PRACTICE:
        controls = controls[1:]
    rows.append([
        InlineKeyboardButton(t(lang, key), callback_data=encode(Action(op, seq, item)))
        for op, key in controls
    ])
    return InlineKeyboardMarkup(rows)


def _done_keyboard(screen: Screen) -> InlineKeyboardMarkup:
    """After the day's work: ▶️ for later (no typing is ever needed), ↩️ to change an answer."""
    lang, seq = screen.worker.lang, screen.seq
    rows = start_keyboard(lang, seq).inline_keyboard
    if screen.done_today:
        data = encode(Action(Op.BACK, seq, 0))
        rows = (*rows, (InlineKeyboardButton(t(lang, "button_back"), callback_data=data),))
    return InlineKeyboardMarkup(rows)


def weekday_time(lang: str, when: datetime, tz: str) -> dict[str, str]:
    """A start time in the worker's words: {"day": "월요일", "time": "10:00"}."""
    local = when.astimezone(ZoneInfo(tz))
    return {"day": t(lang, f"weekday_{local.weekday()}"), "time": local.strftime("%H:%M")}


def _done_words(screen: Screen) -> str:
    lang, done = screen.worker.lang, screen.done or Done.FINISHED
    if done is Done.REST_DAY and screen.next_start is not None:
        return t(lang, "rest_day", **weekday_time(lang, screen.next_start, screen.worker.tz))
    return t(lang, str(done), count=screen.done_today)


def _explain(screen: Screen) -> list[str]:
    """After a practice try: the answer that fits and why, in neutral words, the same
    whatever was chosen (no ❌, no score)."""
    lang = screen.worker.lang
    parts = []
    if screen.answer is not None:
        answer = escape(choice_label(lang, screen.project.choices, screen.answer))
        parts.append(t(lang, "explain_answer", choice=answer))
    if screen.reason:
        parts.append(f"💡 {escape(screen.reason)}")
    parts.append(t(lang, "practice_done" if screen.passed else "explain_next"))
    return parts


def render(screen: Screen, intro: str | None = None) -> View:
    """The screen as one message; `intro` (already HTML) goes first, e.g. a welcome."""
    view = _render(screen)
    if intro:
        text = f"{intro}\n\n{view.text}"
        if view.media_id is None or len(text) <= CAPTION_LIMIT:
            return replace(view, text=text)
        # A picture's caption is short: the line on top gives way, the item stays whole.
    return view


def _render(screen: Screen) -> View:
    lang = screen.worker.lang
    note = note_line(screen)
    if screen.mode is Mode.IDLE:
        return View(t(lang, "ready"), start_keyboard(lang, screen.seq))
    if screen.mode is Mode.BREAK:
        return View(t(lang, "break"), start_keyboard(lang, screen.seq, "button_resume"))
    if screen.mode is Mode.DONE or screen.item is None:
        body = _done_words(screen)
        return View("\n\n".join(p for p in (note, body) if p), _done_keyboard(screen))
    parts = [note] if note else []
    item = screen.item
    if item.kind is ItemKind.TEXT:
        parts.append(f"<blockquote>{escape(item.text or '')}</blockquote>")
    parts.append(f"<b>{escape(screen.project.question)}</b>")
    media = item.media_id if item.kind is ItemKind.IMAGE else None
    if screen.mode is Mode.EXPLAIN:
        parts.extend(_explain(screen))
        key = "button_start" if screen.passed else "button_next"
        return View("\n\n".join(parts), start_keyboard(lang, screen.seq, key), media,
                    is_item=True)
    if screen.mode is Mode.PRACTICE:
        parts.append(t(lang, "practice_tag"))
    else:
        parts.append(progress_bar(screen.position, screen.total))
    if screen.mode is Mode.REVIEW and screen.saved is not None:
        saved = escape(choice_label(lang, screen.project.choices, screen.saved))
        parts.append(t(lang, "review", choice=saved))
    return View("\n\n".join(parts), _item_keyboard(screen), media, is_item=True)
