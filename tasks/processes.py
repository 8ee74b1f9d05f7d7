"""Worker processes for the import's picture work, one per core.

Each worker is a fresh `python -m tasks.processes`: it reads picklable jobs (a module-level
function, or a `partial` of one) from its stdin and writes their results to its stdout.

Why processes: Pillow lets go of the GIL inside decode and resize, but holds it through the
JPEG encoder and `tobytes` (the content key), and takes it back between a decode's 64 KB
chunks. On 2 cores, two threads kept ~1.75 cores busy (a third did not help) and made an
event loop beside them (in `haru run`, the loop that answers workers' taps) wake up to 15 ms
late (p99); two processes keep ~1.95 busy, and at a lower priority leave it late by 3 ms.

Why not `ProcessPoolExecutor`: forked, a child inherits the other threads' locks (aiosqlite's,
the bot's) in whatever state they are; spawned or from a fork server, multiprocessing runs the
caller's main module again for its workers — for `haru`, the whole bot and
python-telegram-bot, ~0.6 s and ~0.9 CPU seconds before the first photo. A fresh interpreter
that imports only `tasks` is ready in ~0.15 s.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_Process = asyncio.subprocess.Process
_HEADER = 8  # bytes before each pickle: its length


def cores() -> int:
    """The cores this process may run on: a container or `taskset` may allow fewer than exist."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class WorkerDied(Exception):
    """A worker process ended in the middle of a job: killed, out of memory, or a crash in a
    decoder on a hostile file."""


class Workers:
    """Up to `count` worker processes, each started when a job first finds no idle one.
    `close()` (always, as with a file) stops them."""

    def __init__(self, count: int) -> None:
        self._running: set[_Process] = set()
        # An idle worker, or None: a free place to start one.
        self._idle: asyncio.Queue[_Process | None] = asyncio.Queue()
        for _ in range(count):
            self._idle.put_nowait(None)

    async def run(self, job: Callable[[], T]) -> T:
        """`job()` in a worker process. Raises WorkerDied if the worker ends on the way."""
        payload = pickle.dumps(job)
        worker = await self._take()
        assert worker.stdin is not None and worker.stdout is not None
        try:
            worker.stdin.write(len(payload).to_bytes(_HEADER, "little") + payload)
            await worker.stdin.drain()
            size = int.from_bytes(await worker.stdout.readexactly(_HEADER), "little")
            ok, value = pickle.loads(await worker.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self._discard(worker)
            raise WorkerDied(f"worker process ended (exit code {await worker.wait()})") from exc
        except BaseException:
            self._discard(worker)  # cancelled mid-job: its answer would reach the next job
            raise
        self._idle.put_nowait(worker)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Idle workers end when their stdin closes; any other is killed."""
        for worker in self._running:
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in self._running:
            try:
                await asyncio.wait_for(worker.wait(), 5)
            except TimeoutError:
                worker.kill()
                await worker.wait()
        self._running.clear()

    async def _take(self) -> _Process:
        worker = await self._idle.get()
        if worker is not None:
            return worker
        try:
            worker = await _start()
        except BaseException:
            self._idle.put_nowait(None)
            raise
        self._running.add(worker)
        return worker

    def _discard(self, worker: _Process) -> None:
        if worker.returncode is None:
            worker.kill()
        self._idle.put_nowait(None)  # a replacement starts when a job needs it


# The folder that holds `tasks`, first on the workers' path: they import this very code.
_ROOT = str(Path(__file__).resolve().parents[1])


async def _start() -> _Process:
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
    # -P: not the current folder first on the path, where a folder called "tasks" (a
    # coordinator's, say) would be imported in place of this code.
    return await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", "tasks.processes",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
    )


# ---- the worker's side --------------------------------------------------------------------


def _serve() -> None:
    """Run each job read from stdin and write its result, until stdin closes."""
    # Ctrl-C reaches the whole process group: the importing process stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # batch work: a tap in `haru run`, beside it, goes first
        os.nice(_NICE)
    reuse_freed_memory()
    jobs, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not land among the answers
    while header := jobs.read(_HEADER):
        payload = jobs.read(int.from_bytes(header, "little"))
        try:
            answer = pickle.dumps((True, pickle.loads(payload)()))
        except Exception as exc:
            try:
                answer = pickle.dumps((False, exc))
            except Exception:
                answer = pickle.dumps((False, RuntimeError(repr(exc))))
        answers.write(len(answer).to_bytes(_HEADER, "little") + answer)
        answers.flush()


_NICE = 10
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_KEEP = 64 * 1024 * 1024


def reuse_freed_memory() -> None:
    """Each 12 MP photo takes ~35 MB in big blocks (its bytes, its decoded pixels, their copy
    for the content key) and frees them. glibc hands blocks that big back to the kernel at
    once, and the next photo's are fresh pages the kernel must zero on first touch: ~9,000
    page faults, ~20 ms of ~125 ms a photo. A worker lives for one import: it keeps them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this interpreter runs on
    except (OSError, AttributeError, TypeError):
        return  # not glibc (macOS, musl, Windows): the allocator's own ways
    mallopt(_M_MMAP_THRESHOLD, _KEEP)
    mallopt(_M_TRIM_THRESHOLD, 2 * _KEEP)


if __name__ == "__main__":
    _serve()
