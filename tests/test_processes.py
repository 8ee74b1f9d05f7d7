"""The import's worker processes: jobs in, results out, and a dead or abandoned worker is
never handed the next job."""

from __future__ import annotations

import asyncio
import os
import time
from functools import partial
from pathlib import Path

import pytest

from tasks.processes import WorkerDied, Workers


async def test_a_job_runs_in_another_process_and_its_result_comes_back() -> None:
    workers = Workers(2)
    try:
        pids = await asyncio.gather(*(workers.run(os.getpid) for _ in range(4)))
    finally:
        await workers.close()
    assert os.getpid() not in pids
    assert 1 <= len(set(pids)) <= 2  # never more processes than asked for


async def test_a_jobs_error_is_raised_here_and_the_worker_goes_on() -> None:
    workers = Workers(1)
    try:
        with pytest.raises(ValueError, match="invalid literal"):
            await workers.run(partial(int, "seven"))
        assert await workers.run(partial(int, "7")) == 7
    finally:
        await workers.close()


async def test_a_worker_that_dies_is_replaced_for_the_next_job() -> None:
    workers = Workers(1)
    try:
        with pytest.raises(WorkerDied):
            await workers.run(partial(os._exit, 3))
        assert await workers.run(partial(int, "8")) == 8
    finally:
        await workers.close()


async def test_a_job_abandoned_midway_never_answers_the_next_one() -> None:
    workers = Workers(1)
    try:
        slow = asyncio.create_task(workers.run(partial(time.sleep, 5)))
        await asyncio.sleep(0.5)  # the worker has it
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await asyncio.wait_for(workers.run(partial(int, "9")), 5) == 9
    finally:
        await workers.close()


async def test_a_folder_called_tasks_where_haru_runs_is_not_what_workers_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = tmp_path / "tasks"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('the wrong tasks')\n")
    monkeypatch.chdir(tmp_path)
    workers = Workers(1)
    try:
        assert await workers.run(partial(int, "10")) == 10
    finally:
        await workers.close()
