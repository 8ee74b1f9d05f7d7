"""Where an item goes once it has its answers (pure rules)."""

from __future__ import annotations

import itertools

import pytest

from review.routing import ReviewReason, Tally, route, tally_of
from tasks.model import Project, Verdict

PROJECT = Project(1, "p", "q?", ("🐶 Dog", "🐱 Cat", "🐰 Rabbit"), overlap=3)


@pytest.mark.parametrize(("votes", "unsure", "verdict", "reason", "wanted"), [
    ((3, 0, 0), 0, Verdict.AGREEMENT, None, None),
    ((2, 1, 0), 0, Verdict.MORE, None, 4),  # 0.67 < 0.9: one more worker
    ((3, 1, 0), 0, Verdict.MORE, None, 5),
    ((4, 1, 0), 0, Verdict.REVIEW, ReviewReason.SPLIT, None),  # at the maximum of 5
    ((1, 1, 0), 1, Verdict.REVIEW, ReviewReason.TIE, None),
    ((2, 2, 0), 0, Verdict.REVIEW, ReviewReason.TIE, None),
    ((1, 0, 0), 2, Verdict.REVIEW, ReviewReason.UNSURE, None),
    ((1, 0, 0), 1, Verdict.REVIEW, ReviewReason.FEW, None),  # one real vote is too few
    ((0, 0, 0), 1, Verdict.REVIEW, ReviewReason.FEW, None),
])
def test_an_item_is_done_asks_one_more_or_goes_to_review(
    votes: tuple[int, ...], unsure: int, verdict: Verdict, reason: ReviewReason | None,
    wanted: int | None,
) -> None:
    decision = route(Tally(votes, unsure), PROJECT)
    assert (decision.verdict, decision.reason, decision.wanted) == (verdict, reason, wanted)


def test_not_sure_is_not_a_vote_and_ties_never_depend_on_the_order_of_answers() -> None:
    answers = [1, 0, None, 1, 0]
    labels = {route(tally_of(order, 3), PROJECT).label
              for order in itertools.permutations(answers)}
    assert labels == {0}  # the tie between Dog and Cat goes to the smaller index, always
    assert tally_of(answers, 3) == Tally((2, 2, 0), 1)


def test_the_models_confidence_replaces_the_majoritys() -> None:
    sure = route(Tally((2, 1, 0)), PROJECT, model=(0, 0.97))
    assert (sure.verdict, sure.label, sure.confidence) == (Verdict.MODEL, 0, 0.97)
    unsure = route(Tally((3, 0, 0)), PROJECT, model=(0, 0.6))
    assert unsure.verdict is Verdict.MORE and unsure.wanted == 4


def test_a_project_with_one_answer_per_item_and_a_lower_threshold() -> None:
    single = Project(1, "p", "q?", ("🐶 Dog", "🐱 Cat"), overlap=1, threshold=0.8)
    assert route(Tally((1, 0)), single).verdict is Verdict.AGREEMENT
    assert route(Tally((0, 0), 1), single).reason is ReviewReason.FEW
