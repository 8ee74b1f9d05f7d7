"""Agreement for coordinators: per project and per worker. Workers never see any of it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from review.aggregate import Answers
from review.agreement import krippendorff_alpha_nominal, percent_agreement, worker_stats
from review.ports import ProjectAnswers
from tasks.model import Project, Verdict

FINAL = (Verdict.AGREEMENT, Verdict.MODEL, Verdict.REVIEWER)


@dataclass(frozen=True)
class WorkerLine:
    worker_id: int
    answers: int
    not_sure_rate: float | None
    gold_checked: int  # answers on gold items and on items a coordinator decided
    gold_accuracy: float | None
    final_checked: int  # answers on items with a final label
    final_agreement: float | None


@dataclass(frozen=True)
class QualityReport:
    items: int
    verdicts: dict[str, int]  # verdict (or "collecting") -> number of work items
    alpha: float | None  # Krippendorff's alpha, nominal, over work items
    agreement: float | None  # pairwise percent agreement, over work items
    workers: list[WorkerLine]


def quality_report(project: Project, data: ProjectAnswers) -> QualityReport:
    """Agreement on the project's work items, and each worker's gold accuracy (gold and
    coordinators' decisions count alike), agreement with final labels and not-sure rate."""
    work = {row[0] for row in data.items}
    workers = sorted({v.worker_id for v in data.votes})
    w_index = {w: i for i, w in enumerate(workers)}
    tasks = sorted({v.item_id for v in data.votes} | work)
    t_index = {t: i for i, t in enumerate(tasks)}
    k = len(project.choices)

    def answers(only_work: bool) -> Answers:
        rows = [(w_index[v.worker_id], t_index[v.item_id], -1 if v.choice is None else v.choice)
                for v in data.votes if not only_work or v.item_id in work]
        return Answers.from_rows(rows, len(tasks), k, len(workers))

    everything = answers(False)
    on_work = answers(True)
    gold = {t_index[i]: label for i, label in data.known.items() if i in t_index}
    final = {t_index[r[0]]: r[4] for r in data.items if r[1] in FINAL and r[4] is not None}
    by_gold = worker_stats(everything, gold)
    by_final = worker_stats(everything, final)
    lines = [
        WorkerLine(
            worker_id=w, answers=g.answers, not_sure_rate=g.not_sure_rate,
            gold_checked=g.checked, gold_accuracy=g.accuracy,
            final_checked=f.checked, final_agreement=f.accuracy,
        )
        for w, g, f in zip(workers, by_gold, by_final, strict=True)
    ]
    verdicts = Counter(str(r[1]) if r[1] else "collecting" for r in data.items)
    return QualityReport(
        items=len(data.items), verdicts=dict(verdicts),
        alpha=krippendorff_alpha_nominal(on_work), agreement=percent_agreement(on_work),
        workers=lines,
    )
