"""Rules for a project: its name, its question and its answer buttons."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tasks.errors import InvalidInput

MIN_CHOICES, MAX_CHOICES = 2, 4
MAX_QUESTION_CHARS = 200
MAX_CHOICE_CHARS = 24
MAX_OVERLAP = 10
DEFAULT_OVERLAP = 3
# Emoji that already mean something on every screen; each emoji has one meaning (UX.md).
RESERVED_EMOJI = {"🤔", "↩", "☕", "🙋", "▶", "✅", "🎉", "👀", "🔊", "🗑", "⏭", "📚"}

_NAME = re.compile(r"^[\w][\w.-]{0,39}$")
_KEYCAP = re.compile("^[0-9#*]\ufe0f?\u20e3")  # 1️⃣, #️⃣: a digit, then the keycap mark
# Yes/no buttons invite an automatic "yes" (UX.md): the options must be named.
_YES_NO = {
    "yes", "no", "y", "n", "ok", "o", "x", "true", "false", "correct", "wrong", "incorrect",
    "예", "네", "응", "아니요", "아니오", "아니", "아뇨", "아니에요", "맞아요", "틀려요", "맞음",
    "틀림", "맞다", "틀리다",
}


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    question: str
    choices: tuple[str, ...]
    overlap: int


def validate_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not _NAME.match(name):
        raise InvalidInput(
            f'"{name}" is not a usable project name: use 1 to 40 letters, digits, "-", "_" or "."'
            " with no spaces."
        )
    return name


def validate_question(question: str) -> str:
    question = " ".join(question.split())
    if not question:
        raise InvalidInput("The question is empty: give one short question with --question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"The question is {len(question)} characters long; keep it under "
            f"{MAX_QUESTION_CHARS} so it reads easily on a phone."
        )
    return question


def is_emoji_char(ch: str) -> bool:
    """Part of an emoji: a symbol, or a joiner, selector, keycap, skin tone or tag."""
    cp = ord(ch)
    if cp in (0x200D, 0xFE0F, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True  # joiner, presentation selector, keycap, skin tones, tag characters
    return unicodedata.category(ch) == "So"


def _emoji_key(emoji: str) -> str:
    return emoji.replace("\ufe0f", "")


def parse_choice(raw: str) -> tuple[str, str]:
    """Split a choice like "🐶 Dog" into (emoji, words); raise InvalidInput if it is not one."""
    text = unicodedata.normalize("NFC", " ".join(raw.split()))
    hint = f'Each --choice is one emoji and one or two words, like "🐶 Dog"; got "{raw}".'
    keycap = _KEYCAP.match(text)
    cut = keycap.end() if keycap else 0
    while cut < len(text) and is_emoji_char(text[cut]):
        cut += 1
    emoji, words = text[:cut], text[cut:].split()
    if not emoji or not words:
        raise InvalidInput(hint)
    if len(words) > 2 or any(any(is_emoji_char(c) for c in w) for w in words):
        raise InvalidInput(hint)
    if not all(any(c.isalnum() for c in w) for w in words):
        raise InvalidInput(hint)
    label = f"{emoji} {' '.join(words)}"
    if len(label) > MAX_CHOICE_CHARS:
        raise InvalidInput(f'The choice "{label}" is too long for a button; keep it short.')
    if _emoji_key(emoji) in RESERVED_EMOJI:
        raise InvalidInput(
            f'The emoji {emoji} already means something else on the worker\'s screen; '
            f'choose another for "{label}".'
        )
    return emoji, " ".join(words)


def validate_choices(raw: list[str]) -> tuple[str, ...]:
    if not MIN_CHOICES <= len(raw) <= MAX_CHOICES:
        raise InvalidInput(
            f"A project needs {MIN_CHOICES} to {MAX_CHOICES} --choice options; got {len(raw)}."
        )
    parsed = [parse_choice(c) for c in raw]
    emojis = [_emoji_key(e) for e, _ in parsed]
    words = [w.casefold() for _, w in parsed]
    if any(w in _YES_NO for w in words):
        raise InvalidInput(
            'Name what each button means, like "🐶 Dog" and "🐱 Cat": yes/no buttons invite '
            "an automatic yes."
        )
    if len(set(emojis)) != len(emojis):
        raise InvalidInput("Two choices use the same emoji; give each choice its own.")
    if len(set(words)) != len(words):
        raise InvalidInput("Two choices use the same words; give each choice its own.")
    return tuple(f"{e} {w}" for e, w in parsed)


def validate_overlap(overlap: int) -> int:
    if not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(
            f"--overlap is how many different workers answer each item: 1 to {MAX_OVERLAP}; "
            f"got {overlap}."
        )
    return overlap


def project_spec(
    name: str, question: str, choices: list[str], overlap: int = DEFAULT_OVERLAP
) -> ProjectSpec:
    """Check everything a coordinator gave for a new project, or raise InvalidInput."""
    return ProjectSpec(
        name=validate_name(name),
        question=validate_question(question),
        choices=validate_choices(choices),
        overlap=validate_overlap(overlap),
    )
