"""The one callback-data codec: short ASCII, looked up in SQLite, so buttons survive restarts.

    s.<seq>                  ▶️ start / resume / continue
    a.<seq>.<item>.<choice>  an answer; choice is the button's index, or "n" for 🤔 not sure
    b.<seq>.<item>           ↩️ back
    p.<seq>.<item>           ☕ break
    h.<seq>.<item>           🙋 help
    r.<op>.<item>[.<choice>] a coordinator's review: c choose, d drop, l later, w who answered,
                             k use for practice, n next
    g.<op>.<guardian>[.<n>]  sharing with a guardian: by the worker d days, m how much,
                             n nothing, y alerts on, x alerts off (n: the number of choices
                             made so far, so an older message's buttons are stale); by the
                             guardian w weekly, e every day

`seq` is the number of the screen the button was drawn on: only the newest screen's buttons
count, so an old message or a second tap changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tasks.ports import NOT_SURE

MAX_BYTES = 64  # Telegram's limit for callback_data
_INT = r"(0|[1-9][0-9]{0,14})"
_PATTERN = re.compile(
    rf"^(?:(?P<s>s)\.{_INT}|(?P<a>a)\.{_INT}\.{_INT}\.(?P<choice>[0-9]|n)"
    rf"|(?P<bp>[bph])\.{_INT}\.{_INT})$"
)
_REVIEW = re.compile(rf"^r\.(?P<op>[cdlwkn])\.{_INT}(?:\.(?P<choice>[0-9]))?$")
_FAMILY = re.compile(rf"^g\.(?P<op>[dmnyxwe])\.{_INT}(?:\.{_INT})?$")


class Op(StrEnum):
    START = "s"
    ANSWER = "a"
    BACK = "b"
    BREAK = "p"
    HELP = "h"


class ReviewOp(StrEnum):
    CHOOSE = "c"
    DROP = "d"
    LATER = "l"
    WHO = "w"
    PRACTICE = "k"
    NEXT = "n"


@dataclass(frozen=True)
class ReviewAction:
    op: ReviewOp
    item: int
    choice: int = 0


def encode_review(action: ReviewAction) -> str:
    tail = f".{action.choice}" if action.op is ReviewOp.CHOOSE else ""
    return f"r.{action.op}.{action.item}{tail}"


def decode_review(data: str | None) -> ReviewAction | None:
    """A coordinator's review button, or None for anything altered or foreign."""
    match = _REVIEW.match(data or "") if data and len(data) <= MAX_BYTES else None
    if match is None or (match["op"] == "c") != (match["choice"] is not None):
        return None
    return ReviewAction(ReviewOp(match["op"]), int(match[2]), int(match["choice"] or 0))


@dataclass(frozen=True)
class Action:
    op: Op
    seq: int
    item: int = 0
    choice: int = 0


def encode(action: Action) -> str:
    if action.op is Op.START:
        data = f"s.{action.seq}"
    elif action.op is Op.ANSWER:
        choice = "n" if action.choice == NOT_SURE else str(action.choice)
        data = f"a.{action.seq}.{action.item}.{choice}"
    else:
        data = f"{action.op}.{action.seq}.{action.item}"
    assert len(data.encode()) <= MAX_BYTES
    return data


def decode(data: str | None) -> Action | None:
    """The action a button stands for, or None for anything altered or foreign."""
    if not data or len(data) > MAX_BYTES:
        return None
    match = _PATTERN.match(data)
    if match is None:
        return None
    numbers = [int(g) for g in match.groups()[1:] if g is not None and g.isdigit()]
    if match["s"]:
        return Action(Op.START, numbers[0])
    if match["a"]:
        choice = NOT_SURE if match["choice"] == "n" else int(match["choice"])
        return Action(Op.ANSWER, numbers[0], numbers[1], choice)
    return Action(Op(match["bp"]), numbers[0], numbers[1])


class FamilyOp(StrEnum):
    DAYS = "d"
    AMOUNT = "m"
    NOTHING = "n"
    ALERTS_ON = "y"
    ALERTS_OFF = "x"
    WEEKLY = "w"
    DAILY = "e"


def encode_family(op: FamilyOp, guardian_id: int, seq: int | None = None) -> str:
    return f"g.{op}.{guardian_id}" + ("" if seq is None else f".{seq}")


def decode_family(data: str | None) -> tuple[FamilyOp, int, int | None] | None:
    match = _FAMILY.match(data or "") if data and len(data) <= MAX_BYTES else None
    if match is None:
        return None
    return FamilyOp(match["op"]), int(match[2]), None if match[3] is None else int(match[3])
