"""How fast majority vote and Dawid-Skene label a project, and how right they are.

Run from the repository root: python -m bench.bench_aggregate [--quick] [--json PATH]
Prints a Markdown table and writes it as JSON (default bench/results/aggregate.json):

1. the public datasets in ../shared/data/crowd (bluebirds, rte, dog; skipped when absent),
   read through `review.crowdfile.read_answers`, accuracy against their truth;
2. simulated projects of 10k, 100k and 1M answers (--quick: 10k and 100k): 4 classes,
   10 answers per task, one worker per 500 answers, a fixed mix of good (85% right),
   fair (65%), spammers (random) and biased workers (say class 0 60% of the time), seed 0.

Each method runs at least 3 times (more while under a second in total); the table gives the
median. "read ms" is `read_answers` on the same answers written as a CSV (worker,task,label
with string names), i.e. what `haru aggregate` spends before aggregating. Times per 1k
answers show how the cost grows with size; DS stops on the log-likelihood (tol 1e-7).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from review.aggregate import Answers, IntArray, Labels, dawid_skene, majority
from review.crowdfile import read_answers

ROOT = Path(__file__).resolve().parents[1]
CROWD = ROOT.parent / "shared" / "data" / "crowd"
DATASETS = ("bluebirds", "rte", "dog")
RESULTS = ROOT / "bench" / "results" / "aggregate.json"
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
CLASSES = 4
PER_TASK = 10
ANSWERS_PER_WORKER = 500


@dataclass(frozen=True)
class Row:
    dataset: str
    answers: int
    tasks: int
    workers: int
    read_ms: float
    mv_ms: float
    ds_ms: float
    ds_iterations: int
    mv_accuracy: float
    ds_accuracy: float
    mv_ms_per_1k: float
    ds_ms_per_1k: float


def timed(call: Callable[[], Labels], budget: float = 1.0) -> tuple[float, Labels]:
    """Median milliseconds of at least 3 calls (more while under `budget` seconds)."""
    times: list[float] = []
    start = time.perf_counter()
    result = call()  # a warm-up, also the result
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 50):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def simulate(n_answers: int, seed: int = 0) -> tuple[Answers, IntArray]:
    """Answers of a mixed crowd (see the module docstring) and the true class of each task."""
    rng = np.random.default_rng(seed)
    n_tasks = n_answers // PER_TASK
    n_workers = max(PER_TASK * 2, n_answers // ANSWERS_PER_WORKER)
    eye = np.eye(CLASSES)
    kinds = np.stack([
        0.85 * eye + 0.15 * (1 - eye) / (CLASSES - 1),  # good
        0.65 * eye + 0.35 * (1 - eye) / (CLASSES - 1),  # fair
        np.full((CLASSES, CLASSES), 1 / CLASSES),  # spammer
        0.6 * np.eye(CLASSES)[[0] * CLASSES] + 0.4 * eye,  # biased towards class 0
    ])
    kind = rng.choice(len(kinds), size=n_workers, p=[0.4, 0.3, 0.15, 0.15])
    truth = rng.integers(0, CLASSES, size=n_tasks)
    tasks = np.repeat(np.arange(n_tasks), PER_TASK)
    # PER_TASK distinct workers per task (n_workers >= PER_TASK): a random start and the next
    # ones; who sits next to whom does not matter to either method.
    start = rng.integers(0, n_workers, size=n_tasks)
    workers = (start[:, None] + np.arange(PER_TASK)[None, :]) % n_workers
    workers = workers.ravel()
    cumulative = kinds[kind[workers], truth[tasks]].cumsum(axis=1)
    labels = (rng.random(len(tasks))[:, None] > cumulative).sum(axis=1)
    return Answers(workers, tasks, labels, n_workers, n_tasks, CLASSES), truth


def write_csv(path: Path, answers: Answers) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("worker", "task", "label"))
        writer.writerows(
            (f"w{w}", str(t), f"class-{label}")
            for w, t, label in zip(answers.workers.tolist(), answers.tasks.tolist(),
                                   answers.labels.tolist(), strict=True)
        )


def read_timed(path: Path) -> tuple[float, Answers, tuple[str, ...], tuple[str, ...]]:
    began = time.perf_counter()
    data = read_answers(path)
    elapsed = (time.perf_counter() - began) * 1000
    return elapsed, data.answers, data.task_names, data.label_names


def measure(name: str, answers: Answers, truth: IntArray, read_ms: float) -> Row:
    mv_ms, mv = timed(lambda: majority(answers))
    ds_ms, ds = timed(lambda: dawid_skene(answers))
    per_1k = 1000 / max(len(answers.labels), 1)
    return Row(
        dataset=name,
        answers=len(answers.labels),
        tasks=answers.n_tasks,
        workers=answers.n_workers,
        read_ms=round(read_ms, 1),
        mv_ms=round(mv_ms, 2),
        ds_ms=round(ds_ms, 2),
        ds_iterations=ds.iterations,
        mv_accuracy=round(float((mv.label == truth).mean()), 4),
        ds_accuracy=round(float((ds.label == truth).mean()), 4),
        mv_ms_per_1k=round(mv_ms * per_1k, 4),
        ds_ms_per_1k=round(ds_ms * per_1k, 4),
    )


def public(name: str) -> Row | None:
    folder = CROWD / name
    if not (folder / "answers.csv").exists() or not (folder / "truth.csv").exists():
        print(f"(skipped {name}: not found at {folder})")
        return None
    read_ms, answers, task_names, label_names = read_timed(folder / "answers.csv")
    with (folder / "truth.csv").open(encoding="utf-8", newline="") as handle:
        truth_of = {row["task"]: row["label"] for row in csv.DictReader(handle)}
    codes = {label: code for code, label in enumerate(label_names)}
    truth = np.array([codes[truth_of[task]] for task in task_names], dtype=np.int64)
    return measure(name, answers, truth, read_ms)


def synthetic(size: int, folder: Path) -> Row:
    answers, truth = simulate(size)
    path = folder / f"answers-{size}.csv"
    write_csv(path, answers)
    read_ms, read, task_names, _ = read_timed(path)
    # The reader sorts integer task names numerically: the same order as the simulation.
    assert task_names == tuple(str(t) for t in range(answers.n_tasks))
    assert len(read.labels) == len(answers.labels)
    path.unlink()
    return measure(f"simulated {size:,}", answers, truth, read_ms)


def row(*cells: object) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def table(rows: list[Row]) -> list[str]:
    lines = [
        row("dataset", "answers", "tasks", "workers", "read ms", "MV ms", "DS ms",
            "DS iterations", "accuracy MV / DS", "MV ms per 1k", "DS ms per 1k"),
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
            "---:"),
    ]
    for r in rows:
        lines.append(row(
            r.dataset, f"{r.answers:,}", f"{r.tasks:,}", f"{r.workers:,}", f"{r.read_ms:,.0f}",
            f"{r.mv_ms:,.1f}", f"{r.ds_ms:,.1f}", r.ds_iterations,
            f"{r.mv_accuracy:.4f} / {r.ds_accuracy:.4f}", f"{r.mv_ms_per_1k:.3f}",
            f"{r.ds_ms_per_1k:.3f}",
        ))
    return lines


def machine() -> dict[str, str]:
    return {
        "cpus": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"simulated sizes {' '.join(map(str, QUICK_SIZES))} only")
    parser.add_argument("--json", type=Path, metavar="PATH", default=RESULTS,
                        help="where to write the results (default bench/results/aggregate.json)")
    args = parser.parse_args()
    started = time.perf_counter()
    info = machine()
    print("# Haru aggregation benchmark\n")
    print(f"- CPUs: {info['cpus']}; {info['platform']}; Python {info['python']}; "
          f"numpy {info['numpy']}\n")
    rows = [r for r in (public(name) for name in DATASETS) if r is not None]
    with tempfile.TemporaryDirectory(prefix="haru-bench-") as temp:
        rows += [synthetic(size, Path(temp)) for size in
                 (QUICK_SIZES if args.quick else FULL_SIZES)]
    print("\n".join(table(rows)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"machine": info, "rows": [asdict(r) for r in rows]}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"\n(written to {args.json}; total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
