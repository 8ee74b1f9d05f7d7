"""`haru demo`: the whole system offline in one process, and a capacity planner.

    haru demo [--out DIR] [--workers N] [--items M] [--overlap K] [--days D] [--seed S] [--force]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.demo import DemoOptions, prepare_folder, report, run_demo

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]
_DEFAULTS = DemoOptions()


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(
        "demo", help="see Haru work end to end, offline, with no token (a capacity planner too)",
        description="Runs the real bot in one process against an in-process stand-in for "
                    "Telegram: two sample projects (demo-images, demo-sentences), simulated "
                    "workers of different skill over several working days, the scheduler, "
                    "aggregation, a coordinator's review and a guardian's summaries. Prints "
                    "what happened; writes the database, exports and charts to --out.",
    )
    demo.add_argument("--out", type=Path, default=_DEFAULTS.out, metavar="DIR",
                      help=f"folder for haru.db, exports and charts (default ./{_DEFAULTS.out})")
    for option, default, words in (
        ("--workers", _DEFAULTS.workers, "simulated workers, shared between the projects"),
        ("--items", _DEFAULTS.items, "items in each sample project"),
        ("--overlap", _DEFAULTS.overlap, "workers who answer each item"),
        ("--days", _DEFAULTS.days, "working days to simulate"),
        ("--seed", _DEFAULTS.seed, "random seed: the same seed gives the same run"),
        ("--batch", _DEFAULTS.batch, "items a day per worker"),
    ):
        demo.add_argument(option, type=int, default=default, metavar="N",
                          help=f"{words} (default {default})")
    demo.add_argument("--force", action="store_true",
                      help="replace an earlier demo in the --out folder")


async def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    options = DemoOptions(workers=args.workers, items=args.items, overlap=args.overlap,
                          days=args.days, seed=args.seed, out=args.out, force=args.force,
                          batch=args.batch)
    options.check()
    await asyncio.to_thread(prepare_folder, options.out, options.force)
    print(f"Running the demo in {options.out}/ (offline; no token needed)...", flush=True)
    result = await run_demo(options, prepared=True)
    print(report(result))
    return 0


COMMANDS: dict[tuple[str, ...], Command] = {("demo",): cmd_demo}
