"""Coaching prompts for coordinators: each signal speaks on a clear case and keeps quiet on a
near miss, on noise, and on too few answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from review.coaching import (
    RECENT_ANSWERS,
    Prompt,
    PromptKind,
    Said,
    fisher_less,
    prompts,
    run_chance,
)
from storage.coaching import coaching, coaching_inputs, query_plan
from storage.db import Database
from storage.times import ts

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BALANCED = (0.5, 0.5)


def said(
    choices: Sequence[int | None], *, seconds: float | Sequence[float] = 5.0,
    known: Sequence[int | None] | None = None,
) -> list[Said]:
    times = [seconds] * len(choices) if isinstance(seconds, float | int) else list(seconds)
    knowns = list(known) if known is not None else [None] * len(choices)
    return [
        Said(at=T0 + timedelta(minutes=i), seconds=float(t), choice=c, known=k)
        for i, (c, t, k) in enumerate(zip(choices, times, knowns, strict=True))
    ]


def alternating(n: int, k: int = 2) -> list[int | None]:
    return [i % k for i in range(n)]


def run(
    seq: Sequence[Said], *, kind: str = "image", n_choices: int = 2,
    shares: Sequence[float] = BALANCED, others: int = 1000,
) -> list[Prompt]:
    return prompts(seq, kind=kind, n_choices=n_choices, choice_shares=shares, others=others)


def kinds(found: Sequence[Prompt]) -> list[PromptKind]:
    return [p.kind for p in found]


def gold_answers(before_right: int, now_right: int, window: int = 10) -> list[Said]:
    """`window` known answers with `before_right` right, then `window` with `now_right` right,
    each known item among 4 ordinary ones (alternating choices, no other signal)."""
    right = [True] * before_right + [False] * (window - before_right)
    right += [True] * now_right + [False] * (window - now_right)
    choices: list[int | None] = []
    known: list[int | None] = []
    for i, ok in enumerate(right):
        choices += [0, 1, 0, 1, i % 2]
        known += [None, None, None, None, i % 2 if ok else 1 - i % 2]
    return said(choices, known=known)


# --- 1. falling gold -------------------------------------------------------------------------


def test_a_clear_drop_on_known_answers_is_a_prompt() -> None:
    found = run(gold_answers(10, 5))
    assert found == [Prompt(PromptKind.GOLD_FALLING, 0.5, 1.0, 20)]


@pytest.mark.parametrize(("before", "now"), [(9, 8), (9, 6), (10, 9), (5, 5), (6, 9)])
def test_noise_or_a_rise_on_known_answers_is_no_prompt(before: int, now: int) -> None:
    assert PromptKind.GOLD_FALLING not in kinds(run(gold_answers(before, now)))


def test_too_few_known_answers_is_no_prompt() -> None:
    assert run(gold_answers(9, 0, window=9)) == []


def test_not_sure_on_a_known_item_is_not_a_wrong_answer() -> None:
    # The newest ten known items all answered "not sure": nothing shows a drop.
    seq = gold_answers(10, 10)
    seq += said([None] * 10, known=[0] * 10)
    assert PromptKind.GOLD_FALLING not in kinds(run(seq))


def test_the_windows_grow_with_more_known_answers() -> None:
    # 20 a side: 20/20 -> 15/20 is a drop of 25 points with p = 0.02.
    assert fisher_less(20, 15, 20) < 0.05
    found = run(gold_answers(20, 15, window=20))
    assert found == [Prompt(PromptKind.GOLD_FALLING, 0.75, 1.0, 40)]


# --- 2. many "not sure" ----------------------------------------------------------------------


def with_not_sure(unsure: int, total: int) -> list[Said]:
    return said([None if i < unsure else i % 2 for i in range(total)])


def test_many_not_sure_is_a_prompt() -> None:
    assert run(with_not_sure(30, 100)) == [Prompt(PromptKind.NOT_SURE, 0.3, count=100)]


def test_29_percent_not_sure_is_no_prompt() -> None:
    assert run(with_not_sure(29, 100)) == []


def test_not_sure_on_too_few_answers_is_no_prompt() -> None:
    assert run(with_not_sure(10, 19)) == []


# --- 3. very fast ----------------------------------------------------------------------------


def test_fast_answers_on_pictures_are_a_prompt() -> None:
    found = run(said(alternating(40), seconds=0.8))
    assert found == [Prompt(PromptKind.FAST, 0.8, count=40)]


def test_three_seconds_a_picture_is_no_prompt() -> None:
    assert run(said(alternating(40), seconds=3.0)) == []


def test_a_sentence_needs_reading_time() -> None:
    seq = said(alternating(40), seconds=2.5)
    assert kinds(run(seq, kind="text")) == [PromptKind.FAST]
    assert run(seq, kind="image") == []


def test_the_median_ignores_a_few_quick_taps_and_long_breaks() -> None:
    times = [0.4] * 15 + [4.0] * 20 + [3600.0] * 5
    assert run(said(alternating(40), seconds=times)) == []


def test_fast_on_too_few_answers_is_no_prompt() -> None:
    assert run(said(alternating(19), seconds=0.5)) == []


# --- 4. the same answer many times in a row ----------------------------------------------------


def with_run(length: int, choice: int = 0, total: int = 200) -> list[Said]:
    # Alternating around the run, with the other choice right next to it on both sides.
    other = 1 - choice
    m = (total - length) // 2
    before = [other if (m - i) % 2 else choice for i in range(m)]
    after = [choice if i % 2 else other for i in range(total - length - m)]
    return said([*before, *[choice] * length, *after])


def test_a_long_run_in_a_balanced_project_is_a_prompt() -> None:
    found = run(with_run(20))
    assert found == [Prompt(PromptKind.SAME_RUN, 20.0, count=200)]


def test_the_same_run_is_expected_where_nearly_all_labels_are_one_class() -> None:
    assert run(with_run(20), shares=(0.95, 0.05)) == []


def test_a_long_run_of_the_rare_class_is_a_prompt_there() -> None:
    found = run(with_run(15, choice=1), shares=(0.95, 0.05))
    assert kinds(found) == [PromptKind.SAME_RUN]


def test_a_run_that_chance_explains_is_no_prompt() -> None:
    # 16 in a row among 200 balanced two-way answers happens to ~1 honest worker in 350.
    assert run_chance(200, BALANCED, 0, 16) > 0.001
    assert run(with_run(16)) == []


def test_a_short_run_is_no_prompt_even_when_unlikely() -> None:
    four = (0.25,) * 4
    seq = said([*alternating(50, 4), *[2] * 14, *alternating(50, 4)])
    assert run(seq, n_choices=4, shares=four) == []


def test_not_sure_breaks_a_run() -> None:
    seq = said([*alternating(90), *[0] * 10, None, *[0] * 10, *alternating(89)])
    assert PromptKind.SAME_RUN not in kinds(run(seq))


def test_without_enough_answers_from_others_no_run_is_judged() -> None:
    assert run(with_run(30), others=49) == []
    assert run(with_run(30), shares=(), others=0) == []


def test_run_chance_small_cases() -> None:
    assert run_chance(3, BALANCED, 0, 3) == pytest.approx(0.25)  # 000 or 111
    assert run_chance(2, BALANCED, 1, 2) == pytest.approx(0.5)  # 00 or 11
    assert run_chance(5, BALANCED, 0, 1) == pytest.approx(1.0)
    assert run_chance(3, (1.0, 0.0), 1, 2) == 0.0  # a choice nobody makes


# --- 5. always the top button ----------------------------------------------------------------


def top_heavy(top: int, total: int) -> list[Said]:
    # Spread out, so that no long run shows.
    step = total / (total - top) if total > top else total + 1
    others_at = {round(i * step) for i in range(total - top)}
    return said([1 if i in others_at else 0 for i in range(total)])


def test_nearly_always_the_top_button_is_a_prompt() -> None:
    found = run(top_heavy(36, 40), shares=(0.4, 0.6))
    assert found == [Prompt(PromptKind.TOP_BUTTON, 0.9, 0.4, 40)]


def test_the_top_button_is_no_prompt_where_everybody_chooses_it() -> None:
    assert run(top_heavy(36, 40), shares=(0.85, 0.15)) == []


def test_the_top_button_needs_85_percent_and_30_answers() -> None:
    assert run(top_heavy(32, 40), shares=(0.2, 0.8)) == []  # 80%
    assert PromptKind.TOP_BUTTON not in kinds(run(top_heavy(29, 29), shares=(0.2, 0.8)))


def test_not_sure_is_no_button_press_for_the_top_button_share() -> None:
    seq = top_heavy(36, 40) + said([None] * 10)
    found = run(seq, shares=(0.4, 0.6))
    assert [p for p in found if p.kind is PromptKind.TOP_BUTTON] == [
        Prompt(PromptKind.TOP_BUTTON, 0.9, 0.4, 40)
    ]


# --- together --------------------------------------------------------------------------------


def test_prompts_come_in_the_fixed_order() -> None:
    # Quick taps on the top button all along: right on the first 10 known items (answer 0),
    # wrong on the next 10 (answer 1); then 60 "not sure".
    known = [None if i % 5 else (0 if i < 50 else 1) for i in range(140)] + [None] * 60
    seq = said([0] * 140 + [None] * 60, seconds=0.5, known=known)
    assert kinds(run(seq)) == [
        PromptKind.GOLD_FALLING, PromptKind.NOT_SURE, PromptKind.FAST, PromptKind.SAME_RUN,
        PromptKind.TOP_BUTTON,
    ]


def test_only_the_newest_answers_count() -> None:
    old = said([None] * 100)  # a hard start long ago
    new = said(alternating(RECENT_ANSWERS))
    assert run(old + new) == []


def test_an_unknown_kind_of_item_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        run(said([0]), kind="video")


# --- storage ---------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=14)


async def test_coaching_finds_the_fast_worker_and_nothing_for_steady_ones(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "h.db")
    try:
        async with db.transaction() as conn:
            created = ts(SINCE - timedelta(days=30))

            async def insert(sql: str, *args: object) -> int:
                cursor = await conn.execute(sql, args)
                return int(cursor.lastrowid or 0)

            project = await insert(
                "INSERT INTO projects (name, question, choices, overlap, created_at)"
                " VALUES ('animals', '이 동물은 무엇인가요?', ?, 3, ?)",
                json.dumps(["🐶 개", "🐱 고양이"]), created,
            )
            coordinator = await insert(
                "INSERT INTO coordinators (name, created_at) VALUES ('coach', ?)", created
            )
            items: list[tuple[int, int]] = []  # (item id, its right answer)
            for n in range(310):
                is_gold = n >= 300
                item = await insert(
                    "INSERT INTO items (project_id, kind, text, content_key, source, created_at,"
                    " role, answer, wanted) VALUES (?, 'text', ?, ?, 'test.csv', ?, ?, ?, ?)",
                    project, f"sentence {n}", f"k{n}", created,
                    "gold" if is_gold else "work", n % 2 if is_gold else None, 0 if is_gold else 3,
                )
                items.append((item, n % 2))
            # A coordinator decided item 1: its label counts like gold.
            await conn.execute(
                "UPDATE items SET verdict = 'reviewer', label = 1, decided_by = ?, decided_at = ?"
                " WHERE id = ?", (coordinator, created, items[1][0]),
            )

            async def worker(name: str) -> tuple[int, int]:
                wid = await insert(
                    "INSERT INTO workers (name, project_id, created_at) VALUES (?, ?, ?)",
                    name, project, created,
                )
                batch = await insert(
                    "INSERT INTO batches (worker_id, day, size, created_at)"
                    " VALUES (?, '2026-11-01', 500, ?)", wid, created,
                )
                return wid, batch

            async def answer(who: tuple[int, int], picks: Sequence[tuple[int, int]],
                             start: datetime, seconds: float) -> None:
                wid, batch = who
                for n, (item, right) in enumerate(picks):
                    shown = start + timedelta(minutes=n)
                    await conn.execute(
                        "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at,"
                        " answered_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (item, wid, batch, right, ts(shown),
                         ts(shown + timedelta(seconds=seconds))),
                    )

            recent = SINCE + timedelta(days=3)
            gold = items[300:]
            steady = await worker("steady")
            # Quick taps before `since` are not recent: they must not count.
            await answer(steady, items[100:180], SINCE - timedelta(days=6), 0.5)
            await answer(steady, items[:60] + gold, recent, 5.0)
            busy = await worker("busy")
            await answer(busy, items[:100] + items[180:300] + gold, recent, 6.0)
            quick = await worker("quick")
            await answer(quick, items[:60] + gold, recent, 0.8)

        async with db.read() as conn:
            inputs = {w.name: w for w in await coaching_inputs(conn, SINCE)}
            found = await coaching(conn, SINCE)
            plan = await query_plan(conn)
    finally:
        await db.close()

    assert [(name, kinds(p)) for _, name, p in found] == [("quick", [PromptKind.FAST])]
    assert found[0][0] == quick[0]
    fast = found[0][2][0]
    assert fast.now == pytest.approx(0.8) and fast.count == 70

    assert len(inputs["steady"].said) == 70  # not the 80 older answers
    assert len(inputs["busy"].said) == RECENT_ANSWERS  # the newest 200 of 230
    q = inputs["quick"]
    assert q.kind == "text" and q.n_choices == 2 and q.project_id == project
    assert sum(s.known is not None for s in q.said) == 11  # 10 gold and 1 decided
    # The others' shares: steady's 70 and busy's 200 recent real answers, half each.
    assert q.others == 270
    assert q.choice_shares == pytest.approx((0.5, 0.5))

    # Index searches only, no scan of the answers.
    assert any("answers_worker" in line for line in plan)
    assert [line for line in plan if line.startswith("SCAN")] == ["SCAN w"]
