"""Coaching prompts: when a coordinator (job coach) might talk with a worker.

These are suggestions for a conversation, never penalties, and never shown to the worker (UX.md,
"Coordinator rules"). A prompt that is often wrong teaches coordinators to ignore all of them, so
every signal asks for enough answers and a clear difference before it speaks: a missed prompt
costs little (the coordinator sees the worker anyway), a noisy one costs trust.

Pure: no I/O. The input is one worker's recent real answers (work and hidden gold; never
practice), oldest first, on one project.

"Recent" is both: answers since a date the caller chooses (`RECENT_DAYS`, two weeks: about 200
answers at the default batch of 20 items a working day), and at most the last `RECENT_ANSWERS`
of them, so that a very busy worker's old habits do not hide a change and one report reads a
bounded number of rows.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt


class PromptKind(StrEnum):
    GOLD_FALLING = "gold_falling"
    NOT_SURE = "not_sure"
    FAST = "fast"
    SAME_RUN = "same_run"
    TOP_BUTTON = "top_button"


# Prompts come in this fixed order: the order of UX.md's list of quality signals (falling gold,
# many "not sure", very fast, the same answer in a row, always the top button), so a
# coordinator's screen and the guide read alike. It also puts the only direct evidence of wrong
# answers (gold) first.
ORDER: tuple[PromptKind, ...] = (
    PromptKind.GOLD_FALLING,
    PromptKind.NOT_SURE,
    PromptKind.FAST,
    PromptKind.SAME_RUN,
    PromptKind.TOP_BUTTON,
)

# --- what "recent" means ---------------------------------------------------------------------

# Two weeks: long enough for ~10 working days of a 20-item batch, short enough that a prompt is
# about how the worker is doing now, not last month.
RECENT_DAYS = 14
# At most this many of the newest answers: ~2 weeks at the default batch size. Enough for the
# rate signals below (>= 20-30 answers each), and for ~20 known answers at 1 gold in 10.
RECENT_ANSWERS = 200

# --- 1. GOLD_FALLING ----------------------------------------------------------------------------

# The newest known answers are compared with as many just before them. Known answers are sparse
# (1 gold in 10 items, plus coordinators' decisions), so they are taken from the whole recent
# range, not a fixed count of items. Fewer than 10 a side: a single slip moves accuracy 10+
# points, too noisy to say "falling". At most 20 a side: a change shows without waiting weeks.
GOLD_WINDOW_MIN = 10
GOLD_WINDOW_MAX = 20
# A drop must be large enough to matter (a quarter of the known answers) ...
GOLD_DROP = 0.25
# ... and unlikely to be chance: one-sided Fisher exact test between the two windows. At 10 a
# side: 10/10 -> 6/10 (p = 0.04) is a prompt; 9/10 -> 6/10 (p = 0.15) and 9/10 -> 8/10 are not.
GOLD_P = 0.05

# --- 2. NOT_SURE ----------------------------------------------------------------------------

# "Not sure" is always allowed and never counted against anyone; nearly one answer in three
# though suggests the instructions or the items do not fit the worker: worth asking.
NOT_SURE_SHARE = 0.30
# Below 20 answers one hard batch of pictures decides the share.
NOT_SURE_MIN = 20

# --- 3. FAST --------------------------------------------------------------------------------

# Floors for the *median* time from the item shown (by the bot) to the answer received (by the
# bot): it includes the photo arriving on the phone, looking, finding the button and the tap
# travelling back. Older adults' touch-screen taps alone take about a second; a picture with a
# question and 2-5 labelled buttons is hardly taken in under 1.5 s. A sentence must be read as
# well: ~10 어절 at a brisk adult pace is 2-3 s before choosing, so under 3 s the median answer
# was given without reading it. The median ignores breaks and a slow network, and a few quick
# taps on easy items do not move it.
FAST_FLOOR = {"image": 1.5, "text": 3.0}
FAST_MIN = 20

# --- 4. SAME_RUN ----------------------------------------------------------------------------

# A run shorter than this is not "many times in a row" for a coordinator, whatever the odds.
RUN_MIN = 15
# Prompt only when honest answering with the project's choice shares gives a run at least as
# unlikely in at most 1 of 1000 workers' recent answers. 1 in 100 would be ~1 false prompt per
# report in a 30-worker programme times the other signals; 1 in 1000 keeps it rare. For 200
# answers in a balanced 2-choice project that means a run of about 18; with 4 choices, 15.
RUN_CHANCE = 0.001

# --- 5. TOP_BUTTON ----------------------------------------------------------------------------

# Choices keep their order within a project, so the top button is position bias made visible.
TOP_SHARE = 0.85
TOP_MIN = 30
# The other workers on the project must choose the top button clearly less often: if the top
# choice is simply the common answer, everybody presses it. With a 25-point gap, 85% of 30
# answers against others' 60% has a chance of ~0.2% under honest answering.
TOP_GAP = 0.25

# --- the project's distribution (SAME_RUN, TOP_BUTTON) ------------------------------------------

# Both compare with the other workers' answers on the project; with fewer than this many real
# answers from them, the project's distribution is not known well enough, and neither prompts.
OTHERS_MIN = 50
# Shares are smoothed with half an answer per choice (Jeffreys), so a choice nobody else used
# is rare, not impossible.
SHARE_PSEUDO = 0.5


@dataclass(frozen=True)
class Said:
    """One real answer by the worker; a sequence of them is oldest first."""

    at: datetime
    seconds: float  # answered_at - shown_at
    choice: int | None  # None = not sure
    known: int | None  # the known answer (gold or a coordinator's decision), else None


@dataclass(frozen=True)
class Prompt:
    kind: PromptKind
    now: float  # the figure that triggered it: share 0..1, seconds, run length, accuracy
    before: float | None = None  # previous accuracy, or the others' top-button share
    count: int = 0  # how many answers it is based on


@dataclass(frozen=True)
class WorkerInput:
    """What `prompts` needs for one worker on one project."""

    worker_id: int
    name: str
    project_id: int
    kind: str  # "image" | "text": most of the worker's recent items
    n_choices: int
    said: tuple[Said, ...]
    choice_shares: tuple[float, ...]  # each choice's share among the OTHER workers' answers
    others: int  # how many real answers of other workers the shares come from


def default_since(now: datetime) -> datetime:
    return now - timedelta(days=RECENT_DAYS)


def prompts(
    said: Sequence[Said], *, kind: str, n_choices: int, choice_shares: Sequence[float],
    others: int,
) -> list[Prompt]:
    """The prompts for one worker's recent real answers (oldest first) on one project, in
    `ORDER`. `choice_shares` (one per choice, summing to 1) and `others` describe the other
    workers' real answers on the project."""
    if kind not in FAST_FLOOR:
        raise ValueError(f"unknown item kind {kind!r}")
    if n_choices < 1:
        raise ValueError("a project has at least one choice")
    if others > 0 and len(choice_shares) != n_choices:
        raise ValueError("one share per choice is needed")
    recent = list(said[-RECENT_ANSWERS:])
    found = {
        PromptKind.GOLD_FALLING: _gold_falling(recent),
        PromptKind.NOT_SURE: _not_sure(recent),
        PromptKind.FAST: _fast(recent, FAST_FLOOR[kind]),
        PromptKind.SAME_RUN: None,
        PromptKind.TOP_BUTTON: None,
    }
    if others >= OTHERS_MIN:
        shares = _smoothed(choice_shares, others)
        found[PromptKind.SAME_RUN] = _same_run(recent, shares)
        found[PromptKind.TOP_BUTTON] = _top_button(recent, float(choice_shares[0]))
    return [p for kind_ in ORDER if (p := found[kind_]) is not None]


def prompts_for(worker: WorkerInput) -> list[Prompt]:
    return prompts(
        worker.said, kind=worker.kind, n_choices=worker.n_choices,
        choice_shares=worker.choice_shares, others=worker.others,
    )


# --- the signals ---------------------------------------------------------------------------


def _gold_falling(recent: Sequence[Said]) -> Prompt | None:
    # "Not sure" on a known item is no answer (never counted against anyone).
    checked = [s.choice == s.known for s in recent if s.known is not None and s.choice is not None]
    window = min(GOLD_WINDOW_MAX, len(checked) // 2)
    if window < GOLD_WINDOW_MIN:
        return None
    before = sum(checked[-2 * window:-window])
    now = sum(checked[-window:])
    if (before - now) / window < GOLD_DROP or fisher_less(before, now, window) > GOLD_P:
        return None
    return Prompt(PromptKind.GOLD_FALLING, now / window, before / window, 2 * window)


def _not_sure(recent: Sequence[Said]) -> Prompt | None:
    if len(recent) < NOT_SURE_MIN:
        return None
    share = sum(s.choice is None for s in recent) / len(recent)
    if share < NOT_SURE_SHARE:
        return None
    return Prompt(PromptKind.NOT_SURE, share, count=len(recent))


def _fast(recent: Sequence[Said], floor: float) -> Prompt | None:
    if len(recent) < FAST_MIN:
        return None
    median = statistics.median(s.seconds for s in recent)
    return Prompt(PromptKind.FAST, median, count=len(recent)) if median < floor else None


def _same_run(recent: Sequence[Said], shares: Sequence[float]) -> Prompt | None:
    """The run of identical choices least likely under the project's shares ("not sure" ends a
    run and is no run itself), if it is long and unlikely enough."""
    real = [s.choice for s in recent if s.choice is not None]
    runs: list[tuple[int, int]] = []  # (choice, length)
    current: int | None = None
    length = 0
    for s in recent:
        if s.choice is not None and s.choice == current:
            length += 1
            continue
        if current is not None:
            runs.append((current, length))
        current, length = s.choice, 1
    if current is not None:
        runs.append((current, length))
    long = [(c, n) for c, n in runs if n >= RUN_MIN and 0 <= c < len(shares)]
    if not long:
        return None
    # The most surprising run: the smallest chance p_c ** n of that run itself.
    choice, run = min(long, key=lambda r: (r[1] * math.log(shares[r[0]]), -r[1]))
    # "Not sure" between real answers only breaks runs, so counting the real answers alone
    # overstates the chance: the test errs towards no prompt.
    if run_chance(len(real), shares, choice, run) >= RUN_CHANCE:
        return None
    return Prompt(PromptKind.SAME_RUN, float(run), count=len(recent))


def _top_button(recent: Sequence[Said], others_top: float) -> Prompt | None:
    real = [s.choice for s in recent if s.choice is not None]
    if len(real) < TOP_MIN:
        return None
    share = sum(c == 0 for c in real) / len(real)
    if share < TOP_SHARE or others_top > share - TOP_GAP:
        return None
    return Prompt(PromptKind.TOP_BUTTON, share, others_top, len(real))


# --- statistics ------------------------------------------------------------------------------


def _smoothed(shares: Sequence[float], others: int) -> list[float]:
    counts = [max(float(s), 0.0) * others + SHARE_PSEUDO for s in shares]
    total = sum(counts)
    return [c / total for c in counts]


def fisher_less(before: int, now: int, window: int) -> float:
    """One-sided Fisher exact test: the chance, if both windows of `window` answers had the
    same accuracy, that the newer one has `now` or fewer right given `before + now` right in
    all."""
    right = before + now
    total = math.comb(2 * window, window)
    low = max(0, right - window)
    return sum(math.comb(right, k) * math.comb(2 * window - right, window - k)
               for k in range(low, now + 1)) / total


def run_chance(n: int, shares: Sequence[float], choice: int, length: int) -> float:
    """The chance that `n` independent answers drawn with `shares` hold a run at least as
    unlikely as `length` times `choice` in a row: a run of any choice d at least
    ceil(length * log p_choice / log p_d) long (same or smaller p ** run)."""
    p = np.asarray(shares, dtype=np.float64)
    p = p / p.sum()
    k = len(p)
    if length <= 0:
        return 1.0
    if n < length or p[choice] <= 0:
        return 0.0  # such a run cannot happen at all
    target = length * math.log(float(p[choice]))
    # n + 1: cannot happen within n answers
    limit: npt.NDArray[np.int64] = np.full(k, n + 1, dtype=np.int64)
    for d in range(k):
        if 0 < p[d] < 1:
            limit[d] = min(n + 1, math.ceil(target / math.log(float(p[d])) - 1e-9))
        elif p[d] >= 1:
            limit[d] = length  # the only choice: any run of `length` is as likely as this one
    limit = np.maximum(limit, 1)
    width = int(limit.max()) + 1
    # alive[d, j]: no qualifying run yet, the last j answers were d (and the one before not).
    alive = np.zeros((k, width), dtype=np.float64)
    cols = np.arange(width)
    dead = cols[None, :] >= limit[:, None]
    alive[:, 1] = p
    alive[dead] = 0.0
    for _ in range(n - 1):
        per_choice = alive.sum(axis=1)
        moved = np.zeros_like(alive)
        moved[:, 1] = p * (per_choice.sum() - per_choice)
        moved[:, 2:] = p[:, None] * alive[:, 1:-1]
        moved[dead] = 0.0
        alive = moved
    return float(max(0.0, 1.0 - alive.sum()))
