"""Message catalogs: every worker-facing word comes from bot/messages/<lang>.toml."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

LANGUAGES = ("ko", "en")
DEFAULT = "ko"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    text = resources.files("bot.messages").joinpath(f"{lang}.toml").read_text(encoding="utf-8")
    return {key: str(value) for key, value in tomllib.loads(text).items()}


def language_for(telegram_code: str | None) -> str:
    """Korean by default; English when the worker's Telegram is set to English."""
    if telegram_code and telegram_code.lower().startswith("en"):
        return "en"
    return DEFAULT


def t(lang: str, key: str, **values: object) -> str:
    words = catalog(lang if lang in LANGUAGES else DEFAULT)[key]
    return words.format(**values) if values else words
