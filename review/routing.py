"""Where an item goes once it has its answers: done, one more worker, or a coordinator.

Pure: counts in, a `Decision` out. The same rules apply to the majority's confidence and,
where the project's Dawid-Skene run has one, to the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tasks.model import Project, Verdict


class ReviewReason(StrEnum):
    SPLIT = "split"  # not sure enough even after the most answers the project asks for
    TIE = "tie"  # two or more choices share the most votes
    FEW = "few"  # too few real votes ("not sure" is not a vote)
    UNSURE = "unsure"  # two or more workers said "not sure"


UNSURE_FOR_REVIEW = 2  # this many "not sure" make an item a coordinator's question


@dataclass(frozen=True)
class Tally:
    """The answers an item has: real votes per choice, and how many said "not sure"."""

    votes: tuple[int, ...]
    not_sure: int = 0

    @property
    def real(self) -> int:
        return sum(self.votes)

    @property
    def answers(self) -> int:
        return self.real + self.not_sure

    def top(self) -> tuple[int, float, bool]:
        """The majority label (ties to the smallest index: never the order answers came
        in), its share of the real votes, and whether it is tied."""
        best = max(self.votes, default=0)
        label = self.votes.index(best) if best else -1
        share = best / self.real if self.real else 0.0
        return label, share, self.votes.count(best) > 1 and best > 0


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    label: int | None
    confidence: float
    reason: ReviewReason | None = None
    wanted: int | None = None  # with Verdict.MORE: how many answers the item now wants


def route(tally: Tally, project: Project, model: tuple[int, float] | None = None) -> Decision:
    """Decide an item with all the answers it wanted. `model` is Dawid-Skene's (label,
    confidence) for it, which replaces the majority's where it exists."""
    label, share, tie = tally.top()
    confidence = share if model is None else model[1]
    label = label if model is None else model[0]
    found = None if label < 0 else label
    if tally.not_sure >= UNSURE_FOR_REVIEW:
        return Decision(Verdict.REVIEW, found, confidence, ReviewReason.UNSURE)
    if tally.real < min(2, project.overlap):
        return Decision(Verdict.REVIEW, found, confidence, ReviewReason.FEW)
    if tie:
        return Decision(Verdict.REVIEW, found, confidence, ReviewReason.TIE)
    if confidence >= project.threshold:
        done = Verdict.AGREEMENT if model is None else Verdict.MODEL
        return Decision(done, found, confidence)
    if tally.answers < max(project.max_overlap, project.overlap):
        return Decision(Verdict.MORE, found, confidence, wanted=tally.answers + 1)
    return Decision(Verdict.REVIEW, found, confidence, ReviewReason.SPLIT)


def tally_of(choices: Sequence[int | None], n_choices: int) -> Tally:
    """Count answers given as choice indexes, None for "not sure"."""
    votes = [0] * n_choices
    for choice in choices:
        if choice is not None:
            votes[choice] += 1
    return Tally(tuple(votes), sum(1 for c in choices if c is None))
