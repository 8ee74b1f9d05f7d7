"""Telegram's "about 30 messages a second", kept without losing pace.

python-telegram-bot's AIORateLimiter is kept for what it does well (waiting out a flood-control
answer, pausing every request meanwhile, and retrying), but its overall limit is a leaky bucket.
Set to no bursts it loses about 1 ms a message to the event loop's timer rounding (measured:
0.947 of the limit on an idle loop); allowed a burst it can put more than 30 in one second.
A sliding window does neither: at most N sends in any window of a second, and a send that woke
late leaves its slot to the next one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from telegram.ext import AIORateLimiter

# At most this many messages in any one second: one below Telegram's 30, as slack for a
# message that reaches Telegram a little later or sooner than it left.
MESSAGES_PER_SECOND = 29


class SlidingWindow:
    """An async context manager: at most `count` entries in any `period` seconds, first come
    first served."""

    def __init__(self, count: int, period: float = 1.0) -> None:
        self.count, self.period = count, period
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()  # FIFO: waiters go in the order they came

    async def __aenter__(self) -> None:
        async with self._turn:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.count:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[0] + self.period - now)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        return None


def rate_limiter(max_retries: int = 3) -> AIORateLimiter:
    """AIORateLimiter with a sliding window for its overall limit (requests with a chat_id)."""
    limiter = AIORateLimiter(max_retries=max_retries)
    limiter._base_limiter = SlidingWindow(MESSAGES_PER_SECOND)  # type: ignore[assignment]
    return limiter
