"""The composition root: builds the python-telegram-bot Application on Haru's storage."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import datetime

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import BOT_USERNAME_KEY, Config
from bot.coord_import import BACKGROUND, IMPORT_CAPTION, on_import_file, on_other_file
from bot.dispatch import TICK_SECONDS, Dispatcher
from bot.family import on_family_button
from bot.handlers import (
    on_button,
    on_coordinator_command,
    on_error,
    on_message,
    on_share_command,
    on_start,
)
from bot.ratelimit import rate_limiter
from bot.reviewing import on_review_button
from bot.services import Haru, utc_now
from bot.updates import OnePerUser
from review.service import rejudge_project
from storage.db import Database
from storage.repo import Store

log = logging.getLogger(__name__)

# Durations from python-telegram-bot (RetryAfter.retry_after) as timedelta now, as they will be
# in its next major version, instead of an int with a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

COORDINATOR_COMMANDS = ("workers", "pause", "resume", "review", "stats", "status", "invite",
                        "import", "help")

JUDGE_SECONDS = 600.0  # how often each project's workers are weighed again (if it changed)


async def judge_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-run Dawid-Skene on every project with new answers; one failing project does not
    stop the others."""
    haru: Haru | None = context.application.bot_data.get("haru")
    if haru is None:
        return
    async with haru.store.reader() as repo:
        projects = await repo.project_ids()
    for project_id in projects:
        try:
            run = await rejudge_project(haru.store.uow, project_id, haru.clock(),
                                        reader=haru.store.reader)
        except Exception:
            log.exception("weighing the answers of project %s failed", project_id)
            continue
        if run is not None:
            log.info("judged %s: %d answers, %d iterations, %d items moved on, %d relabeled",
                     run.project, run.answers, run.iterations, run.moved, run.relabeled)


def build_application(
    config: Config,
    *,
    request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utc_now,
    rate_limit: bool = True,
    tick_seconds: float = TICK_SECONDS,
    judge_seconds: float = JUDGE_SECONDS,
) -> Application:  # type: ignore[type-arg]
    """The bot, wired: handlers, rate limiter, storage opened in post_init, closed after."""
    token = config.require_token()

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        db = await Database.open(config.db_path)
        store = Store(db)
        haru = Haru(store=store, clock=clock)
        app.bot_data["haru"] = haru
        if app.bot.username:
            async with store.uow() as repo:
                await repo.set_meta(BOT_USERNAME_KEY, app.bot.username)
        if interrupted := await haru.daily.recover(clock()):
            log.warning("%d notices were being sent when Haru stopped: not sent again",
                        interrupted)
        dispatcher = Dispatcher(haru, app.bot)
        app.bot_data["dispatcher"] = dispatcher
        if app.job_queue is not None:
            # A stateless repeating job: what is due lives in SQLite. One extra run right
            # after start catches up on anything that fell due while Haru was stopped (an
            # interval job's first run would only come one interval later).
            options = {"misfire_grace_time": None, "coalesce": True, "max_instances": 4}
            app.job_queue.run_once(dispatcher.job, when=0.5, name="haru-catch-up",
                                   job_kwargs=options)
            app.job_queue.run_repeating(dispatcher.job, interval=tick_seconds,
                                        first=tick_seconds, name="haru-schedule",
                                        job_kwargs=options)
            # Dawid-Skene over each project whose answers changed, off the event loop.
            app.job_queue.run_repeating(judge_job, interval=judge_seconds, first=judge_seconds,
                                        name="haru-judge",
                                        job_kwargs={**options, "max_instances": 1})
        log.info("Haru is running as @%s on %s", app.bot.username, config.db_path)

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        # An import still running is stopped (its file's transaction rolls back; sending the
        # file again imports the rest) before the database closes under it.
        running = list(app.bot_data.get(BACKGROUND, ()))
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
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
        .concurrent_updates(OnePerUser())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limit:
        # At most 29 messages in any second; a flood-control answer (RetryAfter) is waited
        # out and retried, up to 3 times.
        builder = builder.rate_limiter(rate_limiter(max_retries=3))  # type: ignore[arg-type]
    app = builder.build()
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", on_start, filters=private))
    app.add_handler(CommandHandler(COORDINATOR_COMMANDS, on_coordinator_command, filters=private))
    app.add_handler(CommandHandler("share", on_share_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_review_button, pattern=r"^r\."))
    app.add_handler(CallbackQueryHandler(on_family_button, pattern=r"^g\."))
    app.add_handler(CallbackQueryHandler(on_button))
    # Work sent as a file, captioned /import PROJECT (coordinators; anyone else: on_message).
    document = filters.Document.ALL
    import_caption = filters.CaptionRegex(IMPORT_CAPTION)
    app.add_handler(MessageHandler(private & document & import_caption, on_import_file))
    app.add_handler(MessageHandler(private & (document | (filters.PHOTO & import_caption)),
                                   on_other_file))
    app.add_handler(MessageHandler(private, on_message))
    app.add_error_handler(on_error)
    return app
