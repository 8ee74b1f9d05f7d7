"""The ticker: a stateless repeating job asks SQLite what is due, and sends it.

Sending many at once stays inside Telegram's limits: every message goes through the
application's rate limiter (about 30 a second in all), a few at a time, so a worker's tap is
never stuck behind a long queue. A flood-control answer (RetryAfter) is waited out and
retried; a blocked bot (Forbidden) marks the worker unreachable; a send that surely did not
reach Telegram is retried with back-off; one that may have arrived is never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

import httpx
from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.screen import remove_keyboard
from bot.services import Haru
from bot.views import View, start_keyboard
from tasks.daily import Delivery, Outcome, PlanReport, Result
from tasks.model import NoticeKind

log = logging.getLogger(__name__)

TICK_SECONDS = 20  # how often the schedule is looked at for what has fallen due
SENDERS = 16  # sends in flight at once: enough to keep 30/s busy, few enough to let taps by
IDLE = 0.05  # seconds a sender waits for the planner when nothing is due yet
# The httpx errors after which the request surely did not reach Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteTimeout)


def notice_view(delivery: Delivery) -> View:
    """The words of a notice, in its recipient's language."""
    lang, name = delivery.lang, escape(delivery.name)
    kind = delivery.notice.kind
    if kind is NoticeKind.UNREACHABLE:
        return View(t(lang, "coord_unreachable", name=name), None)
    assert delivery.seq is not None
    keyboard = start_keyboard(lang, delivery.seq)
    if kind is NoticeKind.REMINDER:
        return View(t(lang, "reminder", name=name), keyboard)
    hour = delivery.local_time.hour if delivery.local_time else 12
    lines = [
        t(lang, "greeting_morning" if 4 <= hour < 12 else "greeting", name=name),
        t(lang, f"batch_{delivery.kind}s" + ("_one" if delivery.count == 1 else ""),
          count=delivery.count),
        t(lang, "batch_minutes", minutes=delivery.minutes),
    ]
    if delivery.practice:
        lines.append(t(lang, "batch_practice"))
    return View("\n".join(lines), keyboard)


def surely_not_sent(exc: NetworkError) -> bool:
    """Whether a failed request never reached Telegram (so sending again cannot repeat it)."""
    return isinstance(exc.__cause__, _NOT_SENT) or "not* sent" in str(exc)


def _wait(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (a timedelta with PTB_TIMEDELTA, see bot/app.py)."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class Attempt:
    """What became of one message sent on Haru's own initiative."""

    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    error: str | None = None


async def attempt(call: Callable[[], Awaitable[Message]], what: str) -> Attempt:
    """Send one message and classify what happened: sent, blocked, worth a retry (surely not
    delivered), uncertain (may have arrived: never sent again) or failed for good."""
    try:
        message = await call()
    except Forbidden as exc:
        return Attempt(Outcome.BLOCKED, error=str(exc))
    except BadRequest as exc:
        gone = "chat not found" in str(exc).lower()
        return Attempt(Outcome.BLOCKED if gone else Outcome.FAILED, error=str(exc))
    except RetryAfter as exc:
        return Attempt(Outcome.RETRY, retry_after=_wait(exc), error=str(exc))
    except (TimedOut, NetworkError) as exc:
        outcome = Outcome.RETRY if surely_not_sent(exc) else Outcome.UNCERTAIN
        return Attempt(outcome, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug: log it; the message is not sent twice
        log.exception("could not send %s", what)
        return Attempt(Outcome.UNCERTAIN, error=repr(exc))
    return Attempt(Outcome.SENT, message_id=message.message_id)


async def send(bot: Bot, delivery: Delivery) -> Result:
    """Send one notice and say what became of it."""
    view = notice_view(delivery)
    done = await attempt(lambda: bot.send_message(
        delivery.chat_id, view.text, parse_mode=ParseMode.HTML, reply_markup=view.keyboard
    ), f"notice {delivery.notice.id}")
    return Result(delivery, done.outcome, message_id=done.message_id,
                  retry_after=done.retry_after, error=done.error)


class Dispatcher:
    """Plans what is due and sends it. One tick at a time; a second one returns at once."""

    def __init__(self, haru: Haru, bot: Bot) -> None:
        from bot.outbox import Outbox

        self.haru, self.bot = haru, bot
        self.outbox = Outbox(haru, bot)
        self._lock = asyncio.Lock()

    async def job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The JobQueue's repeating job: stops sending as soon as the bot is stopping."""
        application = context.application
        await self.tick(lambda: application.running)

    async def tick(self, keep_going: Callable[[], bool] = lambda: True) -> PlanReport | None:
        if self._lock.locked():
            return None
        async with self._lock:
            # Sending starts as soon as the first workers are planned: on a busy morning the
            # first messages do not wait for the last batch to be reserved.
            planning = asyncio.ensure_future(self.haru.daily.plan(self.haru.clock()))
            try:
                await self.drain(keep_going, planning)
            finally:
                report = await planning
            # Then summaries, alerts and digests (rare, and never in a worker's way).
            try:
                if sent := await self.outbox.run(keep_going):
                    log.info("sent %d summaries, alerts and digests", sent)
            except Exception:
                log.exception("sending summaries, alerts and digests failed")
            if report.batches or report.missed or report.released:
                log.info("schedule: %s", report)
            return report

    async def drain(
        self, keep_going: Callable[[], bool] = lambda: True,
        planning: asyncio.Future[PlanReport] | None = None,
    ) -> list[Result]:
        """Send every notice that is due, SENDERS at a time, while `planning` adds more;
        then tidy old buttons."""
        results: list[Result] = []

        async def sender() -> None:
            while keep_going():
                claimed = await self.haru.daily.claim(self.haru.clock(), 1)
                if not claimed:
                    if planning is None or planning.done():
                        return
                    await asyncio.sleep(IDLE)
                    continue
                # A notice is a new screen: what was prepared for the old one is gone.
                self.haru.ahead.forget(claimed[0].chat_id)
                result = await send(self.bot, claimed[0])
                await self.haru.daily.record([result], self.haru.clock())
                results.append(result)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        self._log(results)
        # The previous screen's buttons go once the new ones are there. This waits until
        # every notice is out, so the first messages of a busy morning are not slowed down.
        old = [(r.delivery.chat_id, r.delivery.old_message_id) for r in results
               if r.outcome is Outcome.SENT and r.delivery.old_message_id is not None]
        for start in range(0, len(old), SENDERS):
            if not keep_going():
                break
            await asyncio.gather(*(self._tidy(chat, message)
                                   for chat, message in old[start:start + SENDERS] if message))
        return results

    async def _tidy(self, chat_id: int, message_id: int) -> None:
        try:
            await remove_keyboard(self.bot, chat_id, message_id)
        except TelegramError as exc:  # blocked meanwhile, flood control, ...: only cosmetic
            log.info("could not remove old buttons in chat %s: %s", chat_id, exc)

    @staticmethod
    def _log(results: list[Result]) -> None:
        if not results:
            return
        counts: dict[str, int] = {}
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        log.info("notices: %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        for result in results:
            if result.outcome not in (Outcome.SENT, Outcome.RETRY):
                log.warning("notice %s to chat %s: %s (%s)", result.delivery.notice.id,
                            result.delivery.chat_id, result.outcome, result.error)
