"""Dawid-Skene over a whole project in little memory, from answers read a stretch at a time.

`review.aggregate.dawid_skene` takes any `Answers` in any order and returns everything
(posteriors, confusion matrices, vote counts): on a project of 1.65M answers to 600k items it
peaked ~150 MB above the rest of the process. The project's judge needs only each item's
label and confidence, and reads the answers from the database already in item order. So here
the same EM runs (the same start from majority shares, the same smoothing, known items,
stopping rule and result; see `dawid_skene`) on one int32 per vote (worker * K + label, in
item order: nothing to sort) and one number or two per item, and each step goes through
blocks of about `BLOCK` votes, so no per-vote float array is ever made for all votes at once:
~15 MB beside the ~20 MB of collected answers for that project. Its sums are taken block by
block, so a result can differ from `dawid_skene`'s in the last bits of a float.

`Collector` turns the stretches of answers into `TaskVotes`, and keeps a digest of each
item's answers (`digest`): the judge decides an item only while its answers still have the
digest the model saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from review.aggregate import SMOOTHING, FloatArray, IntArray

Int32Array = npt.NDArray[np.int32]
Int8Array = npt.NDArray[np.int8]
UIntArray = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]

BLOCK = 1 << 16  # votes (and at most tasks) per block: 0.5 MB per float row of a block


@dataclass(frozen=True, eq=False)
class TaskVotes:
    """Real votes grouped by task, tasks in order: `pairs` is worker * n_classes + label of
    each vote, `counts` how many votes each task has (0 for a task known but not voted on).
    `known_tasks` (sorted, unique) have `known_classes` for sure."""

    pairs: Int32Array
    counts: Int32Array
    n_workers: int
    n_classes: int
    known_tasks: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    known_classes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if self.n_classes < 1 or self.n_workers < 0:
            raise ValueError("need at least one class and no negative counts")
        if int(self.counts.sum(dtype=np.int64)) != len(self.pairs) or (
            len(self.counts) and self.counts.min() < 0
        ):
            raise ValueError("the counts per task must add up to the votes")
        for name, values, high in (
            ("vote", self.pairs, self.n_workers * self.n_classes),
            ("known task", self.known_tasks, len(self.counts)),
            ("known class", self.known_classes, self.n_classes),
        ):
            if len(values) and (values.min() < 0 or values.max() >= high):
                raise ValueError(f"{name} codes must be in 0..{high - 1}")
        if len(self.known_tasks) != len(self.known_classes) or (
            len(self.known_tasks) > 1 and (np.diff(self.known_tasks) <= 0).any()
        ):
            raise ValueError("known tasks must be sorted, unique, one class each")

    @property
    def n_tasks(self) -> int:
        return len(self.counts)


@dataclass(frozen=True, eq=False)
class TaskLabels:
    """Each task's label (-1 for one without votes that is not known) and confidence."""

    label: npt.NDArray[np.signedinteger[Any]]  # int8 (int32 beyond 127 classes)
    confidence: FloatArray
    iterations: int
    log_likelihood: list[float]


@dataclass(frozen=True, eq=False)
class _Block:
    first: int  # its tasks: first .. end - 1
    end: int
    low: int  # its votes: low .. high - 1
    high: int
    known: IntArray  # its known tasks (block-local) and their classes
    classes: IntArray

    def runs(self, votes: TaskVotes) -> tuple[IntArray, IntArray | None]:
        """Where each voted task's run begins within the block's votes, and which of its
        tasks have votes (None: all of them). Made when needed: a few ms an iteration, and
        no T-long array kept."""
        counts = votes.counts[self.first:self.end]
        voted = np.flatnonzero(counts)
        starts = (np.cumsum(counts, dtype=np.intp) - counts)[voted]
        return starts, None if len(voted) == self.end - self.first else voted


def _blocks(votes: TaskVotes, block: int) -> list[_Block]:
    ends = np.cumsum(votes.counts, dtype=np.int64)  # votes up to and including each task
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(block, total, block), side="left") + 1
    cuts = np.union1d(cuts, np.arange(block, votes.n_tasks, block))
    bounds = np.unique(np.concatenate([[0], cuts, [votes.n_tasks]]).clip(0, votes.n_tasks))
    blocks = []
    for first, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k_lo, k_hi = np.searchsorted(votes.known_tasks, [first, end])
        blocks.append(_Block(
            first, end, int(ends[first - 1]) if first else 0, int(ends[end - 1]),
            votes.known_tasks[k_lo:k_hi] - first, votes.known_classes[k_lo:k_hi],
        ))
    return blocks


def _start(votes: TaskVotes, blocks: list[_Block]) -> FloatArray:
    """K x T: soft majority-vote shares, 1/K without votes, known tasks one-hot."""
    k = votes.n_classes
    post = np.full((k, votes.n_tasks), 1.0 / k)
    for b in blocks:
        n = b.end - b.first
        local = np.repeat(np.arange(n), votes.counts[b.first:b.end])
        shares = np.bincount(local * k + votes.pairs[b.low:b.high] % k,
                             minlength=n * k).reshape(n, k).astype(np.float64)
        total = shares.sum(axis=1)
        some = total > 0
        post[:, b.first:b.end][:, some] = (shares[some] / total[some, None]).T
    post[:, votes.known_tasks] = np.eye(k)[:, votes.known_classes]
    return post


def _m_step(post: FloatArray, active: BoolArray, votes: TaskVotes, blocks: list[_Block]
            ) -> tuple[FloatArray, FloatArray]:
    """Class priors (K) and log confusion matrices laid out (K true, W*K answered)."""
    k, width = votes.n_classes, votes.n_workers * votes.n_classes
    mass = post.sum(axis=1, where=active[None, :])
    priors = (mass + SMOOTHING) / (active.sum() + SMOOTHING * k)
    counts = np.zeros((k, width))
    for b in blocks:
        pairs = votes.pairs[b.low:b.high].astype(np.intp)
        per_task = votes.counts[b.first:b.end]
        for c in range(k):
            counts[c] += np.bincount(pairs, weights=np.repeat(post[c, b.first:b.end], per_task),
                                     minlength=width)
    per_true = counts.reshape(k, votes.n_workers, k) + SMOOTHING
    per_true /= per_true.sum(axis=2, keepdims=True)
    return priors, np.log(per_true).reshape(k, width)


def _e_step(post: FloatArray, active: BoolArray, log_prior: FloatArray, log_pi: FloatArray,
            votes: TaskVotes, blocks: list[_Block]) -> float:
    """New posteriors in `post`, block by block; returns the observed-data log-likelihood."""
    log_likelihood = 0.0
    for b in blocks:
        starts, voted = b.runs(votes)
        joint = np.repeat(log_prior[:, None], b.end - b.first, axis=1)
        if len(starts):
            summed = np.add.reduceat(
                np.take(log_pi, votes.pairs[b.low:b.high].astype(np.intp), axis=1),
                starts, axis=1,
            )
            if voted is None:
                joint += summed
            else:
                joint[:, voted] += summed
        top = joint.max(axis=0)
        norm = top + np.log(np.exp(joint - top).sum(axis=0))
        post[:, b.first:b.end] = np.exp(joint - norm)
        post[:, b.first + b.known] = 0.0
        post[b.classes, b.first + b.known] = 1.0
        # A known task's likelihood is that of its known class, not of any class.
        norm[b.known] = joint[b.classes, b.known]
        log_likelihood += float(norm[active[b.first:b.end]].sum())
    return log_likelihood


def fit(votes: TaskVotes, *, max_iter: int = 100, tol: float = 1e-7,
        block: int = BLOCK) -> TaskLabels:
    """Dawid & Skene's EM, as `review.aggregate.dawid_skene` runs it: labels and confidences."""
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    blocks = _blocks(votes, block)
    post = _start(votes, blocks)
    active = votes.counts > 0
    active[votes.known_tasks] = True
    history: list[float] = []
    while True:
        priors, log_pi = _m_step(post, active, votes, blocks)
        history.append(_e_step(post, active, np.log(priors), log_pi, votes, blocks))
        if len(history) == max_iter or (
            len(history) > 1 and history[-1] - history[-2] <= tol * abs(history[-1])
        ):
            break
    # Block by block into small arrays: no T-long temporaries beside the posteriors.
    label: npt.NDArray[np.signedinteger[Any]] = np.empty(
        votes.n_tasks, np.int32 if votes.n_classes > 127 else np.int8)
    confidence = np.empty(votes.n_tasks)
    for first in range(0, votes.n_tasks, block):
        part = post[:, first:first + block]
        label[first:first + block] = part.argmax(axis=0)
        confidence[first:first + block] = part.max(axis=0)
    label[~active] = -1
    confidence[~active] = 0.0
    return TaskLabels(label, confidence, len(history), history)


# --- reading the answers a stretch at a time ----------------------------------------------


def _mix(worker: IntArray, choice: IntArray) -> UIntArray:
    """A 64-bit hash of each (worker, choice) (splitmix64's finaliser)."""
    x = (worker.astype(np.uint64) << np.uint64(16)) ^ (choice + 1).astype(np.uint64)
    x *= np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def digest(items: IntArray, item: IntArray, worker: IntArray, choice: IntArray) -> UIntArray:
    """For each of `items` (sorted, unique), a digest of its answers, given as parallel
    arrays (item, worker, choice; -1 for "not sure"): the sum of a 64-bit hash of each
    (worker, choice), so it moves with any answer added or changed, whatever the order the
    answers come in. 0 for an item without answers; answers to other items are left out."""
    found = np.zeros(len(items), np.uint64)
    if len(items) and len(item):
        at = np.searchsorted(items, item).clip(0, len(items) - 1)
        mine = items[at] == item
        np.add.at(found, at[mine], _mix(worker[mine], choice[mine]))
    return found


class _Buffer:
    """A growing array: room for `hint` values at first (untouched room is not resident)."""

    def __init__(self, dtype: type[np.generic], hint: int) -> None:
        self._data: npt.NDArray[np.generic] = np.empty(max(hint, 1024), dtype)
        self.size = 0

    def extend(self, values: npt.NDArray[np.generic]) -> None:
        end = self.size + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data)), self._data.dtype)
            grown[:self.size] = self._data[:self.size]
            self._data = grown
        self._data[self.size:end] = values
        self.size = end

    def take(self) -> npt.NDArray[Any]:
        """The values, let go of by the buffer."""
        data, self._data = self._data[:self.size], np.empty(0, self._data.dtype)
        return data


class Collector:
    """Builds `TaskVotes` from stretches of a project's answers, read in item order. A task
    is an item with answers, or a work item whose answer is known (gold nobody answered says
    nothing of the workers). `answers` and `tasks`: how many are expected (room is made)."""

    def __init__(self, n_classes: int, answers: int = 0, tasks: int = 0) -> None:
        self.n_classes = n_classes
        self.answers = 0  # every answer seen, "not sure" included
        self._items = _Buffer(np.int64, tasks)
        self._digests = _Buffer(np.uint64, tasks)
        self._counts = _Buffer(np.int32, tasks)
        self._workers = _Buffer(np.int32, answers)
        self._labels = _Buffer(np.int8, answers)
        self._known_tasks = _Buffer(np.int64, 0)
        self._known_classes = _Buffer(np.int64, 0)

    def add(self, item: IntArray, worker: IntArray, choice: IntArray, known_item: IntArray,
            known_class: IntArray, known_work: BoolArray) -> None:
        """One stretch: its answers (parallel arrays in item order; choice -1: "not sure")
        and its items known for sure (and whether each is a work item). A stretch's items
        all come after the previous stretch's."""
        self.answers += len(item)
        tasks = np.union1d(item, known_item[known_work])
        real = (choice >= 0) & (choice < self.n_classes)
        keep = np.isin(known_item, tasks) & (known_class >= 0) & (known_class < self.n_classes)
        self._known_tasks.extend(self._items.size + np.searchsorted(tasks, known_item[keep]))
        self._known_classes.extend(known_class[keep])
        self._items.extend(tasks)
        self._digests.extend(digest(tasks, item, worker, choice))
        self._counts.extend(np.bincount(np.searchsorted(tasks, item[real]),
                                        minlength=len(tasks)))
        self._workers.extend(worker[real])
        self._labels.extend(choice[real])

    def votes(self) -> tuple[TaskVotes, IntArray, UIntArray]:
        """The votes, each task's item id and the digest of its answers (the collector lets
        go of them)."""
        workers, labels = self._workers.take(), self._labels.take()
        # Worker ids to 0..W-1 through a table (np.unique's inverse would be int64 per vote).
        seen = np.unique(workers)
        table = np.zeros(int(seen[-1]) + 1 if len(seen) else 0, np.int32)
        table[seen] = np.arange(len(seen), dtype=np.int32)
        pairs = table[workers]
        del workers, table
        pairs *= self.n_classes
        pairs += labels
        votes = TaskVotes(pairs, self._counts.take(), len(seen), self.n_classes,
                          self._known_tasks.take(), self._known_classes.take())
        return votes, self._items.take(), self._digests.take()
