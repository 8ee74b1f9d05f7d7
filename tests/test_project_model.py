"""The project judge's Dawid-Skene on compact arrays, and the digest of an item's answers."""

from __future__ import annotations

import numpy as np
import pytest

from review.aggregate import Answers, dawid_skene
from review.project_model import Collector, TaskVotes, digest, fit


def crowd(seed: int, n_tasks: int = 400, n_workers: int = 30, k: int = 3
          ) -> tuple[Answers, dict[int, int]]:
    """Answers with tasks nobody voted on, "not sure", uneven workers, and known tasks (some
    without votes), in a shuffled order."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_tasks)
    skill = rng.uniform(0.3, 0.95, n_workers)
    rows = []
    for task in range(n_tasks):
        if task % 9 == 4:
            continue  # nobody voted on it
        for worker in rng.choice(n_workers, size=int(rng.integers(1, 6)), replace=False):
            label = truth[task] if rng.random() < skill[worker] else rng.integers(0, k)
            rows.append((worker, task, -1 if rng.random() < 0.05 else int(label)))
    rng.shuffle(rows)
    known = {int(t): int(truth[t]) for t in range(0, n_tasks, 13)}
    return Answers.from_rows(rows, n_tasks, k, n_workers), known


def by_task(answers: Answers, known: dict[int, int]) -> TaskVotes:
    """The same answers as the project judge reads them: real votes in task order."""
    real = answers.real
    order = np.argsort(answers.tasks[real], kind="stable")
    tasks = answers.tasks[real][order]
    pairs = (answers.workers[real] * answers.n_classes + answers.labels[real])[order]
    tasks_known = np.array(sorted(known), np.int64)
    return TaskVotes(pairs.astype(np.int32),
                     np.bincount(tasks, minlength=answers.n_tasks).astype(np.int32),
                     answers.n_workers, answers.n_classes, tasks_known,
                     np.array([known[t] for t in tasks_known.tolist()], np.int64))


@pytest.mark.parametrize("block", [7, 100, 1 << 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lean_model_labels_every_task_as_dawid_skene_does(seed: int, block: int) -> None:
    answers, known = crowd(seed)
    expected = dawid_skene(answers, known=known)
    found = fit(by_task(answers, known), block=block)
    assert found.iterations == expected.iterations
    assert found.label.tolist() == expected.label.tolist()
    np.testing.assert_allclose(found.confidence, expected.confidence, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found.log_likelihood, expected.log_likelihood, rtol=1e-12)


def test_the_lean_model_handles_no_votes_and_only_known_tasks() -> None:
    empty = fit(TaskVotes(np.zeros(0, np.int32), np.zeros(0, np.int32), 0, 2))
    assert (empty.label.tolist(), empty.iterations) == ([], 2)
    known_only = fit(TaskVotes(np.zeros(0, np.int32), np.zeros(3, np.int32), 0, 2,
                               np.array([1]), np.array([1])))
    assert known_only.label.tolist() == [-1, 1, -1]
    assert known_only.confidence.tolist() == [0.0, 1.0, 0.0]


def test_votes_that_do_not_add_up_or_are_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        TaskVotes(np.array([0, 1], np.int32), np.array([1], np.int32), 1, 2)
    with pytest.raises(ValueError, match="vote codes"):
        TaskVotes(np.array([4], np.int32), np.array([1], np.int32), 2, 2)
    with pytest.raises(ValueError, match="known class"):
        TaskVotes(np.array([0], np.int32), np.array([1], np.int32), 1, 2, np.array([0]),
                  np.array([2]))


def arrays(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.array(rows, np.int64).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def test_the_digest_of_an_items_answers_moves_with_any_answer_added_or_changed() -> None:
    items = np.array([10, 20])
    base = [(10, 1, 0), (10, 2, 1), (10, 3, -1), (20, 1, 1)]
    first = digest(items, *arrays(base))
    assert first[0] != 0 and first[1] != 0
    assert digest(items, *arrays(base[::-1])).tolist() == first.tolist()  # any order
    changed = digest(items, *arrays([(10, 1, 1), *base[1:]]))
    assert changed[0] != first[0] and changed[1] == first[1]
    unsure = digest(items, *arrays([(10, 1, -1), *base[1:]]))
    assert unsure[0] != first[0]
    added = digest(items, *arrays([*base, (20, 4, 1)]))
    assert added[0] == first[0] and added[1] != first[1]
    # Two workers swapping their answers leave the votes as they were, not the digest.
    swapped = digest(items, *arrays([(10, 1, 1), (10, 2, 0), *base[2:]]))
    assert swapped[0] != first[0]
    assert digest(np.array([30]), *arrays(base)).tolist() == [0]  # no answers


def test_the_collector_builds_the_same_votes_from_stretches_of_any_size() -> None:
    answers, known = crowd(5, n_tasks=60, n_workers=8)
    order = np.lexsort((answers.workers, answers.tasks))
    item = answers.tasks[order] * 10 + 1000  # item ids: not 0..T-1, gaps between them
    worker = answers.workers[order] * 7 + 3
    choice = answers.labels[order]
    known_item = np.array(sorted(known), np.int64) * 10 + 1000
    known_class = np.array([known[t] for t in sorted(known)], np.int64)
    results = []
    for size in (1, 17, 10_000):
        collector = Collector(3, answers=5)  # too little room: it grows
        for low in range(1000, 1600, size * 10):
            mine = (item >= low) & (item < low + size * 10)
            here = (known_item >= low) & (known_item < low + size * 10)
            collector.add(item[mine], worker[mine], choice[mine], known_item[here],
                          known_class[here], np.ones(here.sum(), np.bool_))
        votes, items, prints = collector.votes()
        results.append(fit(votes))
        assert collector.answers == len(item)
        assert items.tolist() == sorted(set(item.tolist()) | set(known_item.tolist()))
        assert prints.tolist() == digest(items, item, worker, choice).tolist()
    assert results[0].label.tolist() == results[1].label.tolist() == results[2].label.tolist()
