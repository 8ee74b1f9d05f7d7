"""`haru` commands for quality: project rules, practice, agreement, and crowd files.

    haru project set NAME [--overlap N] [--threshold X] [--max-overlap N] [--gold-every N]
                          [--mastery K/N]
    haru worker pass NAME            let a worker through practice
    haru quality PROJECT [--rerun]   agreement and each worker's figures (coordinators only)
    haru aggregate ANSWERS.csv [--method mv|ds] --out LABELS.csv
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.progress import table
from review.report import quality_report
from review.service import rejudge_project
from storage.db import Database
from storage.repo import SqlRepo, Store
from tasks.errors import InvalidInput, NotFound, TaskError
from tasks.model import Project
from tasks.projects import MAX_OVERLAP

MASTERY = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_GOLD_EVERY = 1000


def add_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    psub: argparse._SubParsersAction,  # type: ignore[type-arg]
    wsub: argparse._SubParsersAction,  # type: ignore[type-arg]
) -> None:
    pset = psub.add_parser("set", help="change a project's rules (any of the options)")
    pset.add_argument("name")
    pset.add_argument("--overlap", type=int, help=f"answers each item gets first (1-{MAX_OVERLAP})")
    pset.add_argument("--threshold", type=float,
                      help="confidence at which an item is done (0.5-1, default 0.9)")
    pset.add_argument("--max-overlap", type=int,
                      help="ask one more worker up to this many answers, then review (default 5)")
    pset.add_argument("--gold-every", type=int,
                      help="one hidden gold item in this many (default 10; 0: no gold)")
    pset.add_argument("--mastery", help="practice ends after K right among the last N (8/10)")

    wsub.add_parser("pass", help="let a worker through practice to real work").add_argument(
        "name")

    quality = sub.add_parser("quality", help="agreement and each worker's figures")
    quality.add_argument("project")
    quality.add_argument("--rerun", action="store_true",
                         help="weigh the workers again (Dawid-Skene) before reporting")

    aggregate = sub.add_parser(
        "aggregate", help="aggregate a worker,task,label CSV into task,label,confidence")
    aggregate.add_argument("answers", type=Path)
    aggregate.add_argument("--method", choices=("mv", "ds"), default="ds",
                           help="mv: majority vote; ds: Dawid-Skene (default)")
    aggregate.add_argument("--out", type=Path, required=True)


async def _store(config: Config) -> Store:
    if not config.db_path.exists():
        raise NotFound(f"There is no database at {config.db_path} yet.")
    return Store(await Database.open(config.db_path))


async def _project_named(repo: SqlRepo, name: str) -> Project:
    project = await repo.project_by_name(name)
    if project is None:
        raise NotFound(f'There is no project called "{name}". See `haru project list`.')
    return project


def _rules(args: argparse.Namespace) -> dict[str, float | int]:
    """The rules given on the command line, checked, as column -> value."""
    rules: dict[str, float | int] = {}
    if args.overlap is not None:
        if not 1 <= args.overlap <= MAX_OVERLAP:
            raise InvalidInput(f"--overlap must be 1 to {MAX_OVERLAP}; got {args.overlap}.")
        rules["overlap"] = args.overlap
    if args.threshold is not None:
        if not 0.5 <= args.threshold <= 1.0:
            raise InvalidInput(f"--threshold is a confidence from 0.5 to 1; got {args.threshold}.")
        rules["threshold"] = args.threshold
    if args.max_overlap is not None:
        if not 1 <= args.max_overlap <= 20:
            raise InvalidInput(f"--max-overlap must be 1 to 20; got {args.max_overlap}.")
        rules["max_overlap"] = args.max_overlap
    if args.gold_every is not None:
        if args.gold_every != 0 and not 2 <= args.gold_every <= MAX_GOLD_EVERY:
            raise InvalidInput(f"--gold-every is one gold item in N (2 to {MAX_GOLD_EVERY}), "
                               f"or 0 for none; got {args.gold_every}.")
        rules["gold_every"] = args.gold_every
    if args.mastery is not None:
        match = MASTERY.match(args.mastery)
        need, of = (int(match[1]), int(match[2])) if match else (0, 0)
        if not 1 <= need <= of <= 50:
            raise InvalidInput(f'--mastery is "K/N": K right among the last N practice '
                               f'answers, 1 <= K <= N <= 50; got "{args.mastery}".')
        rules["mastery_need"], rules["mastery_of"] = need, of
    if not rules:
        raise InvalidInput("Nothing to change: give --overlap, --threshold, --max-overlap, "
                           "--gold-every or --mastery.")
    return rules


async def cmd_project_set(args: argparse.Namespace, config: Config) -> int:
    rules = _rules(args)
    store = await _store(config)
    try:
        async with store.uow() as repo:
            project = await _project_named(repo, args.name)
            overlap = int(rules.get("overlap", project.overlap))
            most = int(rules.get("max_overlap", project.max_overlap))
            if most < overlap:
                raise InvalidInput(f"--max-overlap ({most}) is below the overlap ({overlap}): "
                                   "an item could never ask one more worker.")
            await repo.set_project_rules(project.id, rules)
            project = await repo.project(project.id)
    finally:
        await store.db.close()
    gold = f"1 in {project.gold_every}" if project.gold_every else "none"
    print(f"{project.name}: {project.overlap} answers first, up to {project.max_overlap}; done at "
          f"confidence {project.threshold:g}; hidden gold {gold}; practice ends at "
          f"{project.mastery_need}/{project.mastery_of}.")
    return 0


async def cmd_worker_pass(args: argparse.Namespace, config: Config) -> int:
    store = await _store(config)
    try:
        async with store.uow() as repo:
            worker = await repo.worker_by_name(args.name)
            if worker is None:
                raise NotFound(f'There is no worker called "{args.name}". '
                               "See `haru worker list`.")
            if worker.practiced_at is not None:
                print(f"{worker.name} already does real work.")
                return 0
            await repo.set_practiced(worker.id, datetime.now(UTC), "coordinator")
    finally:
        await store.db.close()
    print(f"{worker.name} goes straight to real work from their next ▶️.")
    return 0


def _share(value: float | None, checked: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" + (f" ({checked})" if checked is not None else "")


async def cmd_quality(args: argparse.Namespace, config: Config) -> int:
    store = await _store(config)
    try:
        async with store.reader() as repo:
            project = await _project_named(repo, args.project)
        run = None
        if args.rerun:
            run = await rejudge_project(store.uow, project.id, datetime.now(UTC), force=True,
                                        reader=store.reader)
        async with store.reader() as repo:
            data = await repo.project_answers(project.id)
            names = {w.id: w.name for n in await repo.worker_names()
                     if (w := await repo.worker_by_name(n)) is not None}
            waiting = await repo.review_count(project.id)
    finally:
        await store.db.close()
    report = quality_report(project, data)
    if run is not None:
        print(f"Dawid-Skene: {run.answers} answers, {run.iterations} iterations; "
              f"{run.moved} items moved on, {run.relabeled} relabeled.")
    counts = ", ".join(f"{n} {v}" for v, n in sorted(report.verdicts.items()))
    print(f"{project.name}: {report.items} items ({counts or 'none yet'}); "
          f"{waiting} waiting for review.")
    alpha = "-" if report.alpha is None else f"{report.alpha:.3f}"
    print(f"Krippendorff's alpha (nominal): {alpha}; "
          f"percent agreement: {_share(report.agreement)}")
    if report.workers:
        header = ("WORKER", "ANSWERS", "GOLD ACCURACY (N)", "AGREES WITH FINAL (N)", "NOT SURE")
        rows = [(names.get(w.worker_id, f"#{w.worker_id}"), str(w.answers),
                 _share(w.gold_accuracy, w.gold_checked),
                 _share(w.final_agreement, w.final_checked), _share(w.not_sure_rate))
                for w in report.workers]
        print(table(header, rows))
    print("These figures are for coordinators: talk with a worker, never penalize.")
    return 0


async def cmd_aggregate(args: argparse.Namespace, config: Config) -> int:
    from review.crowdfile import CrowdFileError, aggregate_file

    if args.out.exists() and args.answers.exists() and args.out.samefile(args.answers):
        raise TaskError(f"--out {args.out} is the answers file itself: write the labels "
                        "somewhere else.")
    try:
        summary = aggregate_file(args.answers, args.out, args.method)
    except CrowdFileError as exc:
        raise TaskError(str(exc)) from None
    except OSError as exc:
        raise TaskError(f"Cannot write {args.out}: {exc.strerror or exc}") from None
    how = "majority vote" if summary.method == "mv" else (
        f"Dawid-Skene, {summary.iterations} iterations")
    print(f"{summary.answers} answers from {summary.workers} workers on {summary.tasks} tasks "
          f"({how}): {summary.labels_written} labels written to {args.out}.")
    return 0


COMMANDS: dict[tuple[str, ...], Callable[..., object]] = {
    ("project", "set"): cmd_project_set,
    ("worker", "pass"): cmd_worker_pass,
    ("quality",): cmd_quality,
    ("aggregate",): cmd_aggregate,
}
