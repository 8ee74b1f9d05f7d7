"""One label per task from many workers' answers: majority vote and Dawid & Skene (1979).

Everything is integer-coded: workers 0..W-1, tasks 0..T-1, labels 0..K-1, and -1 for
"not sure", which is no vote at all and is ignored by every method. The number of tasks and
classes is given, not guessed from the answers: a task nobody voted on and a class nobody
chose still exist, with label -1 (confidence 0.0) and a zero column respectively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NOT_SURE = -1
# Added to every count in the M-step (a Dirichlet(1.01) prior): no probability is ever 0,
# so no log is -inf, and a worker with few answers is not judged perfect or hopeless.
SMOOTHING = 0.01


def _int_array(values: object) -> IntArray:
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError("answers must be one-dimensional arrays")
    array = raw.astype(np.int64)
    if raw.dtype.kind not in "iub" and len(raw) and (array != raw).any():
        raise ValueError("answers must be integer codes")  # not silently truncated floats
    return array


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to one bool
class Answers:
    """Parallel arrays, one entry per answer: who answered which task with what label."""

    workers: IntArray
    tasks: IntArray
    labels: IntArray
    n_workers: int
    n_tasks: int
    n_classes: int

    def __post_init__(self) -> None:
        # Coerce (frozen, hence object.__setattr__) and check once, so no method has to.
        for name in ("workers", "tasks", "labels"):
            object.__setattr__(self, name, _int_array(getattr(self, name)))
        if not len(self.workers) == len(self.tasks) == len(self.labels):
            raise ValueError("workers, tasks and labels must have the same length")
        if self.n_classes < 1 or self.n_tasks < 0 or self.n_workers < 0:
            raise ValueError("need at least one class and no negative counts")
        _check_range("worker", self.workers, 0, self.n_workers)
        _check_range("task", self.tasks, 0, self.n_tasks)
        _check_range("label", self.labels, NOT_SURE, self.n_classes)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[int, int, int]],
        n_tasks: int,
        n_classes: int,
        n_workers: int | None = None,
    ) -> Answers:
        """From (worker, task, label) tuples; n_workers defaults to the largest worker + 1."""
        table = np.array(list(rows), dtype=np.int64).reshape(-1, 3)
        if n_workers is None:
            n_workers = int(table[:, 0].max()) + 1 if len(table) else 0
        return cls(table[:, 0], table[:, 1], table[:, 2], n_workers, n_tasks, n_classes)

    @property
    def real(self) -> BoolArray:
        """Which answers are votes (not "not sure")."""
        return self.labels >= 0


def _check_range(name: str, values: IntArray, low: int, high: int) -> None:
    if len(values) and (values.min() < low or values.max() >= high):
        raise ValueError(f"{name} codes must be in {low}..{high - 1}")


@dataclass(frozen=True, eq=False)
class Labels:
    """The aggregated label of every task, and what it rests on.

    `label` is -1 and `confidence` 0.0 for a task with no real votes. `tie` says two or more
    labels share the top vote count (for either method: it is about the votes). The rest is
    Dawid-Skene's only: `posterior` (T x K), `confusion` (W x K x K, row = true class,
    column = answered), class `priors`, and one observed-data log-likelihood per iteration.
    """

    label: IntArray
    confidence: FloatArray
    votes: IntArray
    tie: BoolArray
    posterior: FloatArray | None = None
    iterations: int = 0
    log_likelihood: list[float] = field(default_factory=list)
    confusion: FloatArray | None = None
    priors: FloatArray | None = None


def vote_counts(answers: Answers) -> IntArray:
    """T x K counts of real votes."""
    real = answers.real
    k = answers.n_classes
    flat = answers.tasks[real] * k + answers.labels[real]
    counts = np.bincount(flat, minlength=answers.n_tasks * k)
    return counts.reshape(answers.n_tasks, k).astype(np.int64)


def _ties(votes: IntArray) -> BoolArray:
    top = votes.max(axis=1, initial=0)
    tied: BoolArray = ((votes == top[:, None]).sum(axis=1) >= 2) & (top > 0)
    return tied


def majority(answers: Answers) -> Labels:
    """The most voted label per task; ties go to the smallest label index (np.argmax picks
    the first), so the result never depends on the order of the answers."""
    votes = vote_counts(answers)
    total = votes.sum(axis=1)
    voted = total > 0
    label = np.where(voted, votes.argmax(axis=1), NOT_SURE).astype(np.int64)
    top = votes.max(axis=1, initial=0)
    confidence = np.divide(top, total, out=np.zeros(len(total)), where=voted)
    return Labels(label=label, confidence=confidence, votes=votes, tie=_ties(votes))


# --- Dawid & Skene ------------------------------------------------------------------------
#
# Inside the EM loop the arrays are class-major: the posterior is K x T and the log confusion
# matrices K x (W*K), so each step runs along long contiguous rows, one per class. Task-major
# (T x K) arrays made every gather (x[index]) and every reduction over the classes (max, sum)
# step through K numbers at a time (x[index] on T x K rows was 5x slower than np.take):
# at 1M answers the whole run took 2.3x as long.


@dataclass(frozen=True, eq=False)
class _Votes:
    """The real votes in task order, so each EM step reads them once, in order. E-step: gather
    each vote's log-probabilities, sum each task's run (np.add.reduceat). M-step: spread each
    task's posterior over its votes (np.repeat), sum it per (worker, label) (np.bincount)."""

    pair: IntArray  # worker * K + label of each vote, in task order
    starts: IntArray  # where each voted task's run begins
    lengths: IntArray  # how many votes it has
    voted: IntArray  # the task of each run
    every_task: bool  # every task has a vote (the usual case): no scattering needed

    @classmethod
    def of(cls, answers: Answers) -> _Votes:
        real = answers.real
        tasks = answers.tasks[real]
        pair = answers.workers[real] * answers.n_classes + answers.labels[real]
        # Stable, so one file always sums in the same order; fast on answers already in task
        # order (timsort finds the runs).
        order = np.argsort(tasks, kind="stable")
        tasks, pair = tasks[order], pair[order]
        starts = np.flatnonzero(np.diff(tasks, prepend=-1))
        lengths = np.diff(starts, append=len(tasks))
        voted = tasks[starts]
        every = answers.n_tasks > 0 and len(voted) == answers.n_tasks
        return cls(pair, starts, lengths, voted, every)


def _m_step(
    post: FloatArray, active: BoolArray, votes: _Votes, n_workers: int
) -> tuple[FloatArray, FloatArray]:
    """Class priors (K) and log confusion matrices laid out (K true, W*K answered)."""
    k = post.shape[0]
    # Every task voted (so active) is the usual case: a plain sum, no masked copy.
    mass = post.sum(axis=1) if votes.every_task else post[:, active].sum(axis=1)
    priors = (mass + SMOOTHING) / (active.sum() + SMOOTHING * k)
    by_task = post if votes.every_task else post[:, votes.voted]
    spread = np.repeat(by_task, votes.lengths, axis=1)  # K x votes: each vote's task posterior
    counts = np.stack([
        np.bincount(votes.pair, weights=row, minlength=n_workers * k) for row in spread
    ])
    # counts[c, w*K + l]: how much of class c worker w called l; normalise over l.
    per_true = counts.reshape(k, n_workers, k) + SMOOTHING
    per_true /= per_true.sum(axis=2, keepdims=True)
    return priors, np.log(per_true).reshape(k, n_workers * k)


def _log_joint(
    log_prior: FloatArray, log_pi: FloatArray, votes: _Votes, n_tasks: int
) -> FloatArray:
    """K x T: log P(class k) + sum of log P(answer | class k) over the task's votes."""
    if votes.every_task:
        joint: FloatArray = np.add.reduceat(
            np.take(log_pi, votes.pair, axis=1), votes.starts, axis=1
        )
        joint += log_prior[:, None]
        return joint
    joint = np.repeat(log_prior[:, None], n_tasks, axis=1)
    if len(votes.voted):
        joint[:, votes.voted] += np.add.reduceat(
            np.take(log_pi, votes.pair, axis=1), votes.starts, axis=1
        )
    return joint


def _logsumexp(joint: FloatArray) -> FloatArray:
    """Per task (column) of a K x T array."""
    top = joint.max(axis=0)
    summed: FloatArray = top + np.log(np.exp(joint - top).sum(axis=0))
    return summed


def _known_arrays(known: Mapping[int, int] | None, answers: Answers) -> tuple[IntArray, IntArray]:
    items = sorted((known or {}).items())
    tasks = np.array([t for t, _ in items], dtype=np.int64)
    classes = np.array([c for _, c in items], dtype=np.int64)
    _check_range("known task", tasks, 0, answers.n_tasks)
    _check_range("known class", classes, 0, answers.n_classes)
    return tasks, classes


def _start(
    votes: IntArray, known_tasks: IntArray, known_classes: IntArray
) -> tuple[FloatArray, BoolArray]:
    """The first posteriors, K x T (soft majority-vote shares, known tasks one-hot), and
    which tasks take part: those with votes, and known ones (their class informs the priors)."""
    n_tasks, k = votes.shape
    total = votes.sum(axis=1)
    voted = total > 0
    active = voted.copy()
    active[known_tasks] = True
    post = np.full((k, n_tasks), 1.0 / k)
    post[:, voted] = (votes[voted] / total[voted, None]).T
    post[:, known_tasks] = np.eye(k)[:, known_classes]
    return post, active


def dawid_skene(
    answers: Answers,
    *,
    known: Mapping[int, int] | None = None,
    max_iter: int = 100,
    tol: float = 1e-7,
) -> Labels:
    """Dawid & Skene's EM: each worker's confusion matrix and each task's class posterior.

    Starts from soft majority-vote shares. `known` tasks (gold, reviewer decisions:
    task -> class) stay one-hot in every E-step, which anchors the confusion matrices; they
    keep their class (confidence 1.0) even without votes. Other tasks without votes get the
    priors as posterior but label -1 and confidence 0.0. Stops when the observed-data
    log-likelihood improves by no more than `tol` * |LL| or after `max_iter` iterations.
    """
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    votes = vote_counts(answers)
    known_tasks, known_classes = _known_arrays(known, answers)
    post, active = _start(votes, known_tasks, known_classes)
    one_hot = np.eye(answers.n_classes)[:, known_classes]
    grouped = _Votes.of(answers)
    history: list[float] = []
    while True:
        priors, log_pi = _m_step(post, active, grouped, answers.n_workers)
        joint = _log_joint(np.log(priors), log_pi, grouped, answers.n_tasks)
        norm = _logsumexp(joint)
        post = np.exp(joint - norm)
        post[:, known_tasks] = one_hot
        # A known task's likelihood is that of its known class, not of any class.
        norm[known_tasks] = joint[known_classes, known_tasks]
        history.append(float(norm[active].sum()))
        if len(history) == max_iter or (
            # <=, not <: a log-likelihood that cannot move (no votes: 0.0) also stops.
            len(history) > 1 and history[-1] - history[-2] <= tol * abs(history[-1])
        ):
            break
    return _ds_labels(post, votes, active, priors, log_pi, history)


def _ds_labels(
    post: FloatArray,
    votes: IntArray,
    active: BoolArray,
    priors: FloatArray,
    log_pi: FloatArray,
    history: list[float],
) -> Labels:
    """The public, task-major result of the class-major EM arrays."""
    k = votes.shape[1]
    label = np.where(active, post.argmax(axis=0), NOT_SURE).astype(np.int64)
    confidence = np.where(active, post.max(axis=0), 0.0)
    # log_pi is (K true, W*K answered); the public layout is W x true x answered.
    workers = log_pi.shape[1] // k
    confusion = np.exp(log_pi).reshape(k, workers, k).transpose(1, 0, 2).copy()
    return Labels(
        label=label,
        confidence=confidence,
        votes=votes,
        tie=_ties(votes),
        posterior=post.T.copy(),
        iterations=len(history),
        log_likelihood=history,
        confusion=confusion,
        priors=priors,
    )
