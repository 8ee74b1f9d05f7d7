"""Summaries and alerts to guardians, digests to coordinators: sent when due, each once.

Every guardian has a `next_at` (their local 18:00, every day); every coordinator with a digest
a `next_digest_at`. When one falls due, what it brings is worked out then, from what the worker
agrees to share at that moment (a consent withdrawn a minute ago is respected). Each message
is noted in `sends` before it goes out: a period's summary, alert or digest is never sent twice,
also across a crash. A send that surely did not reach Telegram is tried again on the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode

from bot.dispatch import Attempt, attempt
from bot.family import alert_text, summary_chart, summary_text
from bot.services import Haru
from bot.stats import digest_text
from tasks.daily import Outcome
from tasks.family import LATE, Guardian, next_send
from tasks.schedule import local_day, next_local
from tasks.summary import Outgoing, owed

log = logging.getLogger(__name__)

BATCH = 100  # guardians (or coordinators) looked at per tick
_STATE = {Outcome.SENT: "sent", Outcome.BLOCKED: "blocked", Outcome.UNCERTAIN: "uncertain",
          Outcome.FAILED: "failed"}


class Outbox:
    def __init__(self, haru: Haru, bot: Bot) -> None:
        self.haru, self.bot = haru, bot

    async def run(self, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Send what is due; the number of messages sent."""
        now = self.haru.clock()
        async with self.haru.store.uow() as repo:
            await repo.plan_digests(now)
        async with self.haru.store.reader() as repo:
            guardians = await repo.due_guardians(now, BATCH)
            digests = await repo.due_digests(now, BATCH)
        sent = 0
        for guardian in guardians:
            if not keep_going():
                return sent
            sent += await self._guardian(guardian)
        for coordinator_id in digests:
            if not keep_going():
                return sent
            sent += await self._digest(coordinator_id)
        return sent

    async def _guardian(self, guardian: Guardian) -> int:
        now = self.haru.clock()
        assert guardian.next_at is not None
        outgoing: list[Outgoing] = []
        due = guardian.next_at
        if now - due > LATE:  # Haru was stopped: the latest run, if it is recent enough
            due = next_send(guardian, now - timedelta(days=1))
        async with self.haru.store.reader() as repo:
            # As of now: a consent withdrawn while earlier guardians were sent to counts.
            guardian = await repo.guardian(guardian.id) or guardian
            worker = await repo.worker(guardian.worker_id)
            if guardian.unreachable_at is None:
                outgoing = await owed(repo, guardian, due, now)
        sent, again = 0, False
        for out in outgoing:
            done = await self._send_once(out, worker.name)
            if done is None:
                continue
            sent += done.outcome is Outcome.SENT
            again |= done.outcome is Outcome.RETRY
            if done.outcome is Outcome.BLOCKED:
                async with self.haru.store.uow() as repo:
                    await repo.set_guardian_unreachable(guardian.id, now)
                break
        if not again:  # else: the same run again on the next tick
            async with self.haru.store.uow() as repo:
                await repo.set_guardian_next(guardian.id, next_send(guardian, now))
        return sent

    async def _send_once(self, out: Outgoing, worker_name: str) -> Attempt | None:
        guardian, now = out.guardian, self.haru.clock()
        assert guardian.chat_id is not None
        chat_id, lang = guardian.chat_id, guardian.lang
        async with self.haru.store.uow() as repo:
            send_id = await repo.claim_send(out.kind, out.period, now, guardian_id=guardian.id)
        if send_id is None:
            return None  # sent (or tried) already
        what = f"{out.kind} to guardian {guardian.id}"
        if out.summary is None:
            words = alert_text(lang, worker_name, out.missed)
            done = await attempt(lambda: self.bot.send_message(chat_id, words), what)
        else:
            summary = out.summary
            words = summary_text(lang, summary)
            picture = await asyncio.to_thread(summary_chart, lang, summary)
            done = await attempt(
                lambda: self.bot.send_photo(chat_id, picture, caption=words), what
            )
        await self._record(send_id, done)
        return done

    async def _record(self, send_id: int, done: Attempt) -> None:
        now = self.haru.clock()
        async with self.haru.store.uow() as repo:
            if done.outcome is Outcome.RETRY:
                await repo.forget_send(send_id)
            else:
                await repo.finish_send(send_id, _STATE[done.outcome], now, done.error)
        if done.outcome is not Outcome.SENT:
            log.warning("send %s: %s (%s)", send_id, done.outcome, done.error)

    async def _digest(self, coordinator_id: int) -> int:
        now = self.haru.clock()
        async with self.haru.store.reader() as repo:
            coordinator = await repo.coordinator(coordinator_id)
            clock, tz = await repo.digest_settings(coordinator_id)
        done: Attempt | None = None
        if coordinator is not None and coordinator.chat_id is not None and (
                coordinator.unreachable_at is None):
            period = local_day(tz, now).isoformat()
            async with self.haru.store.uow() as repo:
                send_id = await repo.claim_send("digest", period, now,
                                                coordinator_id=coordinator_id)
            if send_id is not None:
                chat_id = coordinator.chat_id
                words = await digest_text(self.haru, coordinator.lang, tz, now)
                done = await attempt(lambda: self.bot.send_message(
                    chat_id, words, parse_mode=ParseMode.HTML), f"digest to {coordinator_id}")
                await self._record(send_id, done)
        if done is None or done.outcome is not Outcome.RETRY:
            async with self.haru.store.uow() as repo:
                await repo.set_digest(coordinator_id, clock, tz,
                                      next_local(clock, tz, now) if clock else None)
        return int(done is not None and done.outcome is Outcome.SENT)
