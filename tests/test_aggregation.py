"""Majority vote, Dawid-Skene and agreement: on workers whose confusion matrices we chose, on
hand-checked small cases, and on three public crowdsourcing datasets with known truth."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from review.aggregate import Answers, FloatArray, IntArray, Labels, dawid_skene, majority
from review.agreement import krippendorff_alpha_nominal, percent_agreement, worker_stats
from review.crowdfile import read_answers

K = 3
CROWD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crowd"


def worker_confusions() -> FloatArray:
    """30 workers (row = true class, column = answered): 10 good, 8 fair, 6 spammers who
    answer at random, 6 biased who say class 0 60% of the time whatever they see."""
    eye = np.eye(K)
    good = 0.85 * eye + 0.15 * (1 - eye) / (K - 1)
    fair = 0.65 * eye + 0.35 * (1 - eye) / (K - 1)
    spammer = np.full((K, K), 1 / K)
    biased = 0.6 * np.eye(K)[[0] * K] + 0.4 * eye
    return np.stack([good] * 10 + [fair] * 8 + [spammer] * 6 + [biased] * 6)


def simulate(
    seed: int, n_tasks: int = 1000, per_task: int = 10
) -> tuple[Answers, IntArray, FloatArray]:
    """Answers drawn from `worker_confusions`, `per_task` distinct workers per task; also the
    true classes (priors 0.5, 0.3, 0.2) and the confusion matrices."""
    rng = np.random.default_rng(seed)
    pis = worker_confusions()
    truth = rng.choice(K, size=n_tasks, p=[0.5, 0.3, 0.2])
    workers = np.argsort(rng.random((n_tasks, len(pis))), axis=1)[:, :per_task].ravel()
    tasks = np.repeat(np.arange(n_tasks), per_task)
    cumulative = pis[workers, truth[tasks]].cumsum(axis=1)
    labels = (rng.random(len(tasks))[:, None] > cumulative).sum(axis=1)
    return Answers(workers, tasks, labels, len(pis), n_tasks, K), truth, pis


def accuracy(labels: Labels, truth: IntArray) -> float:
    return float((labels.label == truth).mean())


# --- Dawid-Skene on simulated workers -----------------------------------------------------


def test_dawid_skene_recovers_the_workers_confusion_matrices() -> None:
    answers, truth, pis = simulate(seed=0)
    result = dawid_skene(answers)
    assert result.confusion is not None
    assert result.confusion.shape == (30, K, K)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0)
    # Against the matrices the answers were drawn from (sampling noise included) ...
    assert np.abs(result.confusion - pis).mean() < 0.035
    assert np.abs(result.confusion - pis).max() < 0.2
    # ... and against what each worker really did on the true classes (no sampling noise).
    seen = np.zeros((30, K, K))
    np.add.at(seen, (answers.workers, truth[answers.tasks], answers.labels), 1)
    seen /= seen.sum(axis=2, keepdims=True)
    assert np.abs(result.confusion - seen).max() < 0.05


def test_dawid_skene_beats_majority_vote_when_some_workers_are_spammers_or_biased() -> None:
    answers, truth, _ = simulate(seed=1)
    assert accuracy(dawid_skene(answers), truth) > accuracy(majority(answers), truth) + 0.03


def test_dawid_skene_log_likelihood_never_decreases() -> None:
    answers, _, _ = simulate(seed=2)
    history = np.array(dawid_skene(answers, tol=0.0, max_iter=60).log_likelihood)
    assert len(history) >= 5
    assert (np.diff(history) >= -1e-9 * np.abs(history[1:])).all()
    assert history[-1] > history[0]


def test_dawid_skene_stops_when_the_log_likelihood_stops_improving() -> None:
    answers, _, _ = simulate(seed=3)
    result = dawid_skene(answers, tol=1e-7)
    history = result.log_likelihood
    assert result.iterations == len(history) < 100
    assert history[-1] - history[-2] <= 1e-7 * abs(history[-1])
    assert all(b - a > 1e-7 * abs(b) for a, b in pairwise(history[:-1]))


def test_known_tasks_keep_their_class_even_against_the_votes() -> None:
    answers, truth, _ = simulate(seed=4)
    known = {task: (int(truth[task]) + 1) % K for task in range(0, 1000, 50)}
    result = dawid_skene(answers, known=known)
    assert result.posterior is not None
    for task, label in known.items():
        assert result.label[task] == label
        assert result.confidence[task] == 1.0
        np.testing.assert_array_equal(result.posterior[task], np.eye(K)[label])


def test_known_tasks_improve_the_confusion_estimates_when_answers_are_few() -> None:
    answers, truth, pis = simulate(seed=0, n_tasks=300, per_task=3)
    gold = np.random.default_rng(100).choice(300, size=60, replace=False)
    rest = np.setdiff1d(np.arange(300), gold)
    alone = dawid_skene(answers)
    helped = dawid_skene(answers, known={int(t): int(truth[t]) for t in gold})
    assert alone.confusion is not None and helped.confusion is not None
    assert np.abs(helped.confusion - pis).mean() < np.abs(alone.confusion - pis).mean() - 0.01
    assert accuracy_on(helped, truth, rest) > accuracy_on(alone, truth, rest)


def accuracy_on(labels: Labels, truth: IntArray, tasks: IntArray) -> float:
    return float((labels.label[tasks] == truth[tasks]).mean())


def test_a_task_without_votes_gets_no_label_and_the_priors_as_posterior() -> None:
    answers = Answers.from_rows([(0, 0, 1), (1, 0, 1), (0, 1, 0), (2, 2, -1)], 4, 3)
    result = dawid_skene(answers)
    assert result.posterior is not None and result.priors is not None
    assert result.label.tolist()[2:] == [-1, -1]
    assert result.confidence.tolist()[2:] == [0.0, 0.0]
    np.testing.assert_allclose(result.posterior[3], result.priors)


def test_a_known_task_without_votes_still_gets_its_class() -> None:
    votes = [[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1]]
    rows = [(w, t, label) for t, labels in enumerate(votes) for w, label in enumerate(labels)]
    result = dawid_skene(Answers.from_rows(rows, 5, 2), known={4: 1})
    assert result.label.tolist() == [1, 0, 1, 0, 1]
    assert result.confidence[4] == 1.0


def test_a_class_nobody_chose_is_still_in_the_posterior_and_confusions() -> None:
    answers = Answers.from_rows([(0, 0, 0), (1, 0, 0), (0, 1, 2), (1, 1, 2)], 2, 4)
    result = dawid_skene(answers)
    assert result.posterior is not None and result.confusion is not None
    assert result.posterior.shape == (2, 4)
    assert result.confusion.shape == (2, 4, 4)
    assert result.votes[:, 1].tolist() == [0, 0]
    assert result.label.tolist() == [0, 2]


def test_dawid_skene_handles_no_real_votes_at_all() -> None:
    answers = Answers.from_rows([(0, 0, -1)], 2, 2)
    result = dawid_skene(answers)
    assert result.iterations == 2  # nothing to improve: it stops at once
    assert result.label.tolist() == [-1, -1]
    assert result.confidence.tolist() == [0.0, 0.0]


# --- majority vote ------------------------------------------------------------------------


def test_majority_ties_go_to_the_smallest_label_whatever_the_row_order() -> None:
    rows = [(0, 0, 2), (1, 0, 1), (2, 0, 2), (3, 0, 1), (0, 1, 0), (1, 1, 1), (2, 1, 1)]
    first = majority(Answers.from_rows(rows, 2, 3))
    assert first.label.tolist() == [1, 1]
    assert first.tie.tolist() == [True, False]
    assert first.confidence.tolist() == [0.5, pytest.approx(2 / 3)]
    rng = np.random.default_rng(5)
    for _ in range(10):
        shuffled = [rows[i] for i in rng.permutation(len(rows))]
        again = majority(Answers.from_rows(shuffled, 2, 3))
        assert again.label.tolist() == first.label.tolist()
        assert again.tie.tolist() == first.tie.tolist()


def test_majority_ignores_not_sure_answers() -> None:
    rows = [(0, 0, 1), (1, 0, -1), (2, 0, -1), (3, 0, -1), (1, 1, 0)]
    result = majority(Answers.from_rows(rows, 2, 2))
    assert result.label.tolist() == [1, 0]
    assert result.confidence.tolist() == [1.0, 1.0]
    assert result.votes.tolist() == [[0, 1], [1, 0]]


def test_a_task_with_only_not_sure_answers_stays_with_no_label() -> None:
    rows = [(0, 0, 1), (0, 1, -1), (1, 1, -1)]
    for result in (majority(Answers.from_rows(rows, 3, 2)),
                   dawid_skene(Answers.from_rows(rows, 3, 2))):
        assert len(result.label) == 3
        assert result.label.tolist()[1:] == [-1, -1]
        assert result.confidence.tolist()[1:] == [0.0, 0.0]
        assert not result.tie[1]


def test_answers_outside_their_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="label"):
        Answers.from_rows([(0, 0, 2)], 1, 2)
    with pytest.raises(ValueError, match="task"):
        Answers.from_rows([(0, 1, 0)], 1, 2)
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="integer codes"):
        Answers(one, one, np.array([0.5]), 1, 1, 1)
    with pytest.raises(ValueError, match="same length"):
        Answers(np.zeros(2, dtype=np.int64), one, one, 1, 1, 1)
    with pytest.raises(ValueError, match="known class"):
        dawid_skene(Answers.from_rows([(0, 0, 0)], 1, 2), known={0: 2})


# --- agreement ----------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: nominal data,
# 4 observers, 12 units, values 1..5, "." missing. Unit 12 has a single value: not pairable.
KRIPPENDORFF_2011 = (
    "1 2 3 3 2 1 4 1 2 . . .",
    "1 2 3 3 2 2 4 1 2 5 . 3",
    ". 3 3 3 2 3 4 2 2 5 1 .",
    "1 2 3 3 2 4 4 1 2 5 1 .",
)


def krippendorff_answers() -> Answers:
    rows = [
        (coder, unit, int(value) - 1)
        for coder, line in enumerate(KRIPPENDORFF_2011)
        for unit, value in enumerate(line.split())
        if value != "."
    ]
    return Answers.from_rows(rows, 12, 5)


def test_krippendorff_alpha_matches_the_textbook_nominal_example() -> None:
    # By hand: n = 40 pairable values, n_c = 9, 13, 10, 5, 3; the coincidence diagonal sums
    # to 7 + 10 + 8 + 4 + 3 = 32, so alpha = 1 - 39 * (40 - 32) / (40² - 384) = 0.743.
    alpha = krippendorff_alpha_nominal(krippendorff_answers())
    assert alpha == pytest.approx(1 - 39 * 8 / (1600 - 384))
    assert round(alpha or 0, 3) == 0.743


def test_percent_agreement_counts_agreeing_pairs_within_tasks() -> None:
    # The same data by hand: 55 pairs within units, 43 of them agree.
    assert percent_agreement(krippendorff_answers()) == pytest.approx(43 / 55)


def test_agreement_is_undefined_without_pairs_or_without_variety() -> None:
    lonely = Answers.from_rows([(0, 0, 0), (1, 1, 1), (2, 1, -1)], 2, 2)
    assert krippendorff_alpha_nominal(lonely) is None
    assert percent_agreement(lonely) is None
    unanimous = Answers.from_rows([(0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)], 2, 2)
    assert krippendorff_alpha_nominal(unanimous) is None
    assert percent_agreement(unanimous) == 1.0


def test_krippendorff_alpha_is_zero_for_chance_and_negative_for_systematic_disagreement() -> None:
    opposed = Answers.from_rows([(0, t, t % 2) for t in range(10)]
                                + [(1, t, 1 - t % 2) for t in range(10)], 10, 2)
    alpha = krippendorff_alpha_nominal(opposed)
    assert alpha is not None and alpha < 0
    answers, _, _ = simulate(seed=6)
    spammers = answers.workers >= 18  # the spammers and the biased only
    noise = Answers(answers.workers[spammers], answers.tasks[spammers],
                    np.random.default_rng(0).integers(0, K, int(spammers.sum())), 30, 1000, K)
    assert abs(krippendorff_alpha_nominal(noise) or 1.0) < 0.05


def test_worker_stats_count_answers_not_sure_and_accuracy_on_the_reference() -> None:
    rows = [(0, 0, 1), (0, 1, 0), (0, 2, -1), (0, 3, 1), (1, 0, 0), (1, 2, 1), (2, 3, -1)]
    answers = Answers.from_rows(rows, 4, 2, n_workers=4)
    stats = worker_stats(answers, {0: 1, 1: 1, 2: -1})
    assert [s.worker for s in stats] == [0, 1, 2, 3]
    first = stats[0]
    assert (first.answers, first.not_sure, first.checked, first.matching) == (4, 1, 2, 1)
    assert first.not_sure_rate == 0.25 and first.accuracy == 0.5
    assert (stats[1].checked, stats[1].matching, stats[1].accuracy) == (1, 0, 0.0)
    assert (stats[2].not_sure_rate, stats[2].accuracy) == (1.0, None)
    assert (stats[3].answers, stats[3].not_sure_rate, stats[3].accuracy) == (0, None, None)


def test_worker_stats_against_final_labels_measure_agreement_with_them() -> None:
    answers, truth, _ = simulate(seed=7)
    final = dawid_skene(answers)
    stats = worker_stats(answers, dict(enumerate(final.label.tolist())))
    gold = worker_stats(answers, dict(enumerate(truth.tolist())))
    good = [s.accuracy or 0 for s in stats[:10]]
    spammers = [s.accuracy or 1 for s in stats[18:24]]
    assert min(good) > 0.75 > 0.45 > max(spammers)
    for with_final, with_truth in zip(stats, gold, strict=True):
        assert abs((with_final.accuracy or 0) - (with_truth.accuracy or 0)) < 0.05


# --- public datasets ----------------------------------------------------------------------

# (dataset, published DS, crowd-kit MV with ties to the smallest, published MV half-credited)
PUBLISHED = [
    ("bluebirds", 0.889, 0.759, 0.759),
    ("rte", 0.929, 0.919, 0.897),
    ("dog", 0.838, 0.818, 0.822),
]


def load(name: str) -> tuple[Answers, IntArray]:
    """A dataset through the file reader, and the true label code of every task."""
    folder = CROWD / name
    if not (folder / "answers.csv").exists() or not (folder / "truth.csv").exists():
        pytest.skip(f"the public crowd datasets are not at {folder} (kept outside the repo)")
    data = read_answers(folder / "answers.csv")
    truth_rows = np.loadtxt(folder / "truth.csv", delimiter=",", skiprows=1, dtype=str)
    truth = dict(zip(truth_rows[:, 0].tolist(), truth_rows[:, 1].tolist(), strict=True))
    assert set(truth) == set(data.task_names)
    codes = {name: code for code, name in enumerate(data.label_names)}
    return data.answers, np.array([codes[truth[t]] for t in data.task_names], dtype=np.int64)


def half_credited(labels: Labels, truth: IntArray) -> float:
    """Majority vote where a tie earns 1/|tied top labels| when the truth is among them."""
    votes = labels.votes
    top = votes == votes.max(axis=1, keepdims=True)
    credit = top[np.arange(len(truth)), truth] / top.sum(axis=1)
    return float(credit.mean())


@pytest.mark.parametrize(("name", "ds", "mv", "mv_half"), PUBLISHED)
def test_dawid_skene_reaches_the_published_accuracy(
    name: str, ds: float, mv: float, mv_half: float
) -> None:
    answers, truth = load(name)
    result = dawid_skene(answers)
    assert accuracy(result, truth) >= ds - 0.005
    assert result.iterations > 2  # a known implementation stopped after 2 on bluebirds
    history = np.array(result.log_likelihood)
    assert (np.diff(history) >= -1e-9 * np.abs(history[1:])).all()


@pytest.mark.parametrize(("name", "ds", "mv", "mv_half"), PUBLISHED)
def test_majority_vote_matches_the_published_figures(
    name: str, ds: float, mv: float, mv_half: float
) -> None:
    answers, truth = load(name)
    result = majority(answers)
    assert round(accuracy(result, truth), 3) == mv
    assert round(half_credited(result, truth), 3) == mv_half
