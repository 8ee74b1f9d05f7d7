"""Configuration, read once at the edge from the environment."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "https://api.telegram.org"
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which one to set and how."""


@dataclass(frozen=True)
class Config:
    db_path: Path
    token: str | None
    api_url: str
    bot_username: str | None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ) if env is None else env
        username = (env.get("HARU_BOT_USERNAME") or "").strip().lstrip("@") or None
        if username is not None and not _USERNAME.match(username):
            raise ConfigError(f"HARU_BOT_USERNAME is not a Telegram bot username: {username!r}")
        return cls(
            db_path=Path(env.get("HARU_DB") or "haru.db"),
            token=(env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None,
            api_url=(env.get("HARU_API_URL") or DEFAULT_API_URL).strip().rstrip("/"),
            bot_username=username,
        )

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError(
                "Set TELEGRAM_BOT_TOKEN to your bot's token from @BotFather, then run `haru run` "
                "again."
            )
        return self.token


class RedactToken(logging.Filter):
    """Never log the bot token: libraries put it in URLs (httpx logs every request URL)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self._token in record.exc_text:
            record.exc_text = record.exc_text.replace(self._token, "<token>")
        return True


def setup_logging(token: str | None, level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # Each request URL holds the token; httpx logs them at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if token:
        redact = RedactToken(token)
        for handler in logging.getLogger().handlers:
            handler.addFilter(redact)

# Where `haru run` keeps the username it learned from Telegram, for `haru invite`.
BOT_USERNAME_KEY = "bot_username"
