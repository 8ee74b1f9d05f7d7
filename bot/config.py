"""Configuration, read once at the edge from the environment."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from telegram.error import InvalidToken

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
        api_url = (env.get("HARU_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
        parts = urlsplit(api_url)
        bad = parts.scheme not in ("http", "https") or not parts.hostname or parts.query
        if bad or any(c.isspace() for c in api_url):
            raise ConfigError(
                f"HARU_API_URL must look like https://api.telegram.org or "
                f"http://localhost:8081; got {api_url!r}"
            )
        return cls(
            db_path=Path(env.get("HARU_DB") or "haru.db"),
            token=(env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None,
            api_url=api_url,
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


class PlainStartup(logging.Filter):
    """Say plainly when the Bot API does not answer yet (PTB logs its retries only at DEBUG),
    and leave out the traceback of a refused token: `haru run` explains that in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            return False
        if record.levelno >= logging.INFO:
            return True
        if record.name == "telegram.ext" and "Failed run number" in str(record.msg):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "%s The Bot API did not answer; trying again.", (
                str(record.args[0]) if isinstance(record.args, tuple) and record.args else "",
            )
            return True
        return False


def setup_logging(token: str | None) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO)
    # Each request URL holds the token; httpx logs them at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The schedule's job runs every 20 s; APScheduler would log two lines each time.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("telegram.ext").setLevel(logging.DEBUG)  # PlainStartup keeps the retries
    filters: list[logging.Filter] = [PlainStartup()]
    if token:
        filters.append(RedactToken(token))
    for handler in logging.getLogger().handlers:
        for item in filters:
            handler.addFilter(item)

# Where `haru run` keeps the username it learned from Telegram, for `haru invite`.
BOT_USERNAME_KEY = "bot_username"
