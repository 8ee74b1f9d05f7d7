"""How much workers agree with each other, and with a reference (gold or final labels).

Only real votes count; "not sure" (-1) is no value. Each answer is one value of its task
(unit), so a worker who answered a task twice counts twice: deduplicate before if needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from review.aggregate import Answers, IntArray, vote_counts


def krippendorff_alpha_nominal(answers: Answers) -> float | None:
    """Krippendorff's alpha for nominal data, from the coincidence matrix.

    Tasks with fewer than 2 real votes are not pairable and are left out. None when alpha is
    undefined: no pairable task, or every pairable value the same (no expected disagreement).
    """
    votes = vote_counts(answers).astype(np.float64)
    m = votes.sum(axis=1)
    votes, m = votes[m >= 2], m[m >= 2]
    n = m.sum()  # pairable values
    if n == 0:
        return None
    # Diagonal of the coincidence matrix: sum over units of n_uc (n_uc - 1) / (m_u - 1).
    agreeing = (votes * (votes - 1) / (m - 1)[:, None]).sum()
    n_c = votes.sum(axis=0)  # the coincidence matrix's marginals
    expected = n * n - (n_c * n_c).sum()  # (n - 1) x expected disagreement
    if expected <= 0:
        return None
    return float(1.0 - (n - 1) * (n - agreeing) / expected)


def percent_agreement(answers: Answers) -> float | None:
    """The share of agreeing pairs among all pairs of real votes on the same task, pooled over
    tasks (a task with more votes weighs more); None when no task has two votes."""
    votes = vote_counts(answers)
    m = votes.sum(axis=1)
    pairs = int((m * (m - 1)).sum()) // 2
    if pairs == 0:
        return None
    agreeing = int((votes * (votes - 1)).sum()) // 2
    return agreeing / pairs


@dataclass(frozen=True)
class WorkerStats:
    """One worker's answers, "not sure"s, and real votes checked against the reference."""

    worker: int
    answers: int
    not_sure: int
    not_sure_rate: float | None  # None without answers
    checked: int  # real votes on tasks that have a reference
    matching: int  # of those, equal to the reference
    accuracy: float | None  # matching / checked; None when nothing was checked


def _reference_array(reference: Mapping[int, int], answers: Answers) -> IntArray:
    """The reference per task, -1 where there is none (negative values are "none" too, so
    final labels with -1 for unvoted tasks can be passed as they are)."""
    table = np.full(answers.n_tasks, -1, dtype=np.int64)
    for task, label in reference.items():
        if not 0 <= task < answers.n_tasks or label >= answers.n_classes:
            raise ValueError(f"reference ({task}, {label}) is outside the answers' codes")
        table[task] = max(label, -1)
    return table


def worker_stats(answers: Answers, reference: Mapping[int, int]) -> list[WorkerStats]:
    """Per worker (index = worker code): counts, not-sure rate, and accuracy on the tasks in
    `reference`. Pass gold for gold accuracy, final labels for agreement with them."""
    size = answers.n_workers
    workers = answers.workers
    expected = _reference_array(reference, answers)[answers.tasks]
    checked_mask = answers.real & (expected >= 0)
    total = np.bincount(workers, minlength=size)
    unsure = np.bincount(workers[~answers.real], minlength=size)
    checked = np.bincount(workers[checked_mask], minlength=size)
    matching = np.bincount(
        workers[checked_mask & (answers.labels == expected)], minlength=size
    )
    return [
        WorkerStats(
            worker=w,
            answers=int(total[w]),
            not_sure=int(unsure[w]),
            not_sure_rate=float(unsure[w] / total[w]) if total[w] else None,
            checked=int(checked[w]),
            matching=int(matching[w]),
            accuracy=float(matching[w] / checked[w]) if checked[w] else None,
        )
        for w in range(size)
    ]
