"""The composition root: builds the python-telegram-bot Application on Haru's storage."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import BOT_USERNAME_KEY, Config
from bot.handlers import on_button, on_error, on_message, on_start
from bot.services import Haru, utc_now
from storage.db import Database
from storage.repo import Store

log = logging.getLogger(__name__)



def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utc_now,
    rate_limit: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The bot, wired: handlers, rate limiter, storage opened in post_init, closed after."""
    token = config.require_token()

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        db = await Database.open(config.db_path)
        store = Store(db)
        app.bot_data["haru"] = Haru(store=store, clock=clock)
        if app.bot.username:
            async with store.uow() as repo:
                await repo.set_meta(BOT_USERNAME_KEY, app.bot.username)
        log.info("Haru is running as @%s on %s", app.bot.username, config.db_path)

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        haru: Haru | None = app.bot_data.pop("haru", None)
        if haru is not None:
            await haru.store.db.close()

    builder = (
        Application.builder()
        .token(token)
        .base_url(f"{config.api_url}/bot")
        .base_file_url(f"{config.api_url}/file/bot")
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limit:
        # ~30 messages/s across all chats; a flood-control answer is waited out and retried.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    app = builder.build()
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", on_start, filters=private))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(private, on_message))
    app.add_error_handler(on_error)
    return app
