"""The files of `haru aggregate`: a worker,task,label CSV in, a task,label,confidence CSV out.

Input: a CSV whose header names at least `worker`, `task` and `label` (any case, any order,
extra columns ignored), UTF-8 with or without a BOM. An empty label is "not sure": no vote,
but its task is still in the output. When a worker answered a task more than once, the last
line counts. Labels are coded in sorted order (numerically when every label is an integer),
tasks numerically when every task is an integer and otherwise by first appearance, workers
by first appearance.

Output: `task,label,confidence`, one row per task of the input in that task order; a task
without votes gets an empty label and confidence 0.0000. It is written to a temp file beside
the target and renamed over it, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from review.aggregate import Answers, Labels, dawid_skene, majority
from storage.files import temp_beside

COLUMNS = ("worker", "task", "label")
METHODS = ("mv", "ds")
_INTEGER = re.compile(r"[+-]?[0-9]+")


class CrowdFileError(ValueError):
    """An answers file that cannot be read; the message names the file (and line)."""


@dataclass(frozen=True, eq=False)
class CrowdData:
    """Coded answers, and the original strings behind each code."""

    answers: Answers
    worker_names: tuple[str, ...]
    task_names: tuple[str, ...]
    label_names: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """What `aggregate_file` did."""

    tasks: int
    workers: int
    answers: int  # after repeated (worker, task) pairs were reduced to the last one
    labels_written: int  # tasks that got a label (the rest are written with an empty one)
    method: str
    iterations: int  # EM iterations; 0 for majority vote


def _error(path: Path, message: str, line: int | None = None) -> CrowdFileError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return CrowdFileError(f"{where}: {message}")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(path, "no such file") from None
    except OSError as error:
        raise _error(path, f"cannot read it ({error.strerror or error})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _error(path, "not UTF-8 text (is it a CSV file?)", line) from None


def _rows(path: Path, text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, fields) of every non-blank row (a quoted field can span
    lines); csv errors become CrowdFileErrors."""
    # strict: a quote that is never closed is an error, not the rest of the file in one cell
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                yield start, reader.line_num, fields
            start = reader.line_num + 1
    except csv.Error as error:
        if "end of data" in str(error):
            raise _error(path, "a quote opened here is never closed", start) from None
        raise _error(path, f"not valid CSV ({error})", start) from None


def _columns(path: Path, line: int, header: list[str]) -> tuple[int, int, int]:
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise _error(path, f"the header lacks the column(s) {', '.join(missing)} "
                     f"(it needs {','.join(COLUMNS)})", line)
    worker, task, label = (names.index(column) for column in COLUMNS)
    return worker, task, label


def _parse(path: Path, text: str) -> dict[tuple[str, str], str]:
    """(worker, task) -> label string, in order of first appearance; the last line wins."""
    rows = _rows(path, text)
    first = next(rows, None)
    if first is None:
        raise _error(path, "the file is empty (it needs a header: worker,task,label)")
    header_line, _, header = first
    indexes = _columns(path, header_line, header)
    needed = max(indexes) + 1
    answers: dict[tuple[str, str], str] = {}
    for line, last, fields in rows:
        if len(fields) < needed:
            hint = " (a quote opened here is never closed?)" if last > line else ""
            raise _error(path, f"{len(fields)} field(s), the header asks for {needed}{hint}",
                         line)
        worker, task, label = (fields[i].strip() for i in indexes)
        if not worker or not task:
            raise _error(path, f"empty {'worker' if not worker else 'task'}", line)
        answers[worker, task] = label
    if not answers:
        raise _error(path, "no answers after the header", header_line)
    return answers


def _is_integers(values: Iterable[str]) -> bool:
    return all(_INTEGER.fullmatch(value) for value in values)


def _label_order(labels: Iterable[str]) -> tuple[str, ...]:
    names = set(labels)
    if _is_integers(names):
        # int first, then the string, so "01" and "1" stay two distinct, stable labels.
        return tuple(sorted(names, key=lambda name: (int(name), name)))
    return tuple(sorted(names))


def _task_order(tasks: Iterable[str]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(tasks))  # first appearance
    if _is_integers(names):
        return tuple(sorted(names, key=lambda name: (int(name), name)))
    return names


def _codes(names: tuple[str, ...], values: Iterable[str]) -> list[int]:
    index = {name: code for code, name in enumerate(names)}
    return [index[value] for value in values]


def read_answers(path: str | os.PathLike[str]) -> CrowdData:
    """The answers of a worker,task,label CSV, coded; raises CrowdFileError."""
    where = Path(path)
    parsed = _parse(where, _read_text(where))
    workers = tuple(dict.fromkeys(worker for worker, _ in parsed))
    tasks = _task_order(task for _, task in parsed)
    labels = _label_order(label for label in parsed.values() if label)
    label_codes = {name: code for code, name in enumerate(labels)}
    answers = Answers(
        workers=np.array(_codes(workers, (w for w, _ in parsed)), dtype=np.int64),
        tasks=np.array(_codes(tasks, (t for _, t in parsed)), dtype=np.int64),
        labels=np.array([label_codes.get(label, -1) for label in parsed.values()],
                        dtype=np.int64),
        n_workers=len(workers),
        n_tasks=len(tasks),
        # At least one class, so a file of nothing but "not sure" still aggregates (to no
        # labels at all) instead of failing.
        n_classes=max(len(labels), 1),
    )
    return CrowdData(answers, workers, tasks, labels)


def write_labels(path: str | os.PathLike[str], data: CrowdData, labels: Labels) -> None:
    """Write task,label,confidence for every task, atomically (temp file, then os.replace)."""
    target = Path(path)
    if len(labels.label) != len(data.task_names):
        raise ValueError("labels and data do not have the same tasks")
    temp, descriptor = temp_beside(target)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("task", "label", "confidence"))
            for task, code, confidence in zip(
                data.task_names, labels.label.tolist(), labels.confidence.tolist(), strict=True
            ):
                name = data.label_names[code] if code >= 0 else ""
                writer.writerow((task, name, f"{confidence:.4f}"))
            handle.flush()
            os.fsync(handle.fileno())  # the rename must not land before the data
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def aggregate_file(
    in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], method: str = "ds"
) -> Summary:
    """Read answers, aggregate them ("mv": majority vote, "ds": Dawid-Skene), write labels."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    data = read_answers(in_path)
    labels = majority(data.answers) if method == "mv" else dawid_skene(data.answers)
    write_labels(out_path, data, labels)
    return Summary(
        tasks=data.answers.n_tasks,
        workers=data.answers.n_workers,
        answers=len(data.answers.labels),
        labels_written=int((labels.label >= 0).sum()),
        method=method,
        iterations=labels.iterations,
    )
