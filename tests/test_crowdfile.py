"""The `haru aggregate` files: answers CSV in, one label per task out, and clear errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from review.aggregate import Labels, majority
from review.crowdfile import CrowdFileError, aggregate_file, read_answers, write_labels

PETS = """worker,task,label
ann,photo-3,cat
bob,photo-3,cat
cid,photo-3,dog
ann,photo-1,dog
bob,photo-1,dog
cid,photo-1,
ann,photo-2,
bob,photo-2,
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding, newline="")
    return path


def output_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("method", ["mv", "ds"])
def test_a_round_trip_writes_every_task_with_its_label_as_written(
    tmp_path: Path, method: str
) -> None:
    out = tmp_path / "labels.csv"
    summary = aggregate_file(write(tmp_path / "answers.csv", PETS), out, method)
    rows = output_rows(out)
    assert rows[0] == ["task", "label", "confidence"]
    # Task names are not integers: first appearance. photo-2 has only "not sure": no label.
    assert [r[0] for r in rows[1:]] == ["photo-3", "photo-1", "photo-2"]
    assert [r[1] for r in rows[1:]] == ["cat", "dog", ""]
    assert rows[3][2] == "0.0000"
    assert all(len(r[2].split(".")[1]) == 4 for r in rows[1:])
    if method == "mv":
        assert [r[2] for r in rows[1:3]] == ["0.6667", "1.0000"]
    assert (summary.tasks, summary.workers, summary.answers) == (3, 3, 8)
    assert (summary.labels_written, summary.method) == (2, method)
    assert (summary.iterations > 0) == (method == "ds")


def test_integer_labels_and_tasks_are_ordered_by_number(tmp_path: Path) -> None:
    text = "worker,task,label\na,10,10\na,9,2\nb,10,10\nb,9,9\na,100,\n"
    data = read_answers(write(tmp_path / "a.csv", text))
    assert data.label_names == ("2", "9", "10")
    assert data.task_names == ("9", "10", "100")
    assert data.worker_names == ("a", "b")
    assert data.answers.n_classes == 3


def test_string_labels_are_sorted_and_workers_coded_by_first_appearance(tmp_path: Path) -> None:
    text = "worker,task,label\nzed,t,yes\namy,t,no\nzed,u,maybe\n"
    data = read_answers(write(tmp_path / "a.csv", text))
    assert data.label_names == ("maybe", "no", "yes")
    assert data.worker_names == ("zed", "amy")
    assert data.answers.labels.tolist() == [2, 1, 0]


def test_the_last_answer_of_a_worker_to_a_task_counts(tmp_path: Path) -> None:
    text = "worker,task,label\na,t,cat\nb,t,dog\na,t,dog\n"
    data = read_answers(write(tmp_path / "a.csv", text))
    assert len(data.answers.labels) == 2
    assert sorted(data.label_names[c] for c in data.answers.labels) == ["dog", "dog"]


@pytest.mark.parametrize(
    "header",
    [
        "worker,task,label",
        "\ufeffworker,task,label",  # a BOM, as Excel writes
        " Worker , TASK ,Label ",
        "label,comment,task,worker",
    ],
)
def test_header_case_spaces_bom_order_and_extra_columns_are_accepted(
    tmp_path: Path, header: str
) -> None:
    order = [name.strip().lower().lstrip("\ufeff") for name in header.split(",")]
    values = {"worker": "w1", "task": "t1", "label": "cat", "comment": 'hm, "odd"'}
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(values[name] for name in order)
    data = read_answers(write(tmp_path / "a.csv", f"{header}\n{line.getvalue()}\n\n"))
    assert (data.worker_names, data.task_names, data.label_names) == (("w1",), ("t1",), ("cat",))


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("", "", "empty"),
        ("worker,item,label\na,1,x\n", "line 1", "task"),
        ("worker,task,label\n", "line 1", "no answers"),
        ("worker,task,label\na,1,x\n,2,x\n", "line 3", "empty worker"),
        ("worker,task,label\na,1,x\n\nb, ,x\n", "line 4", "empty task"),
        ("worker,task,label\na,1,x\nb,2\n", "line 3", "field"),
        ('worker,task,label\na,1,x\nb,"2,x\nc,3,y\n', "line 3", "quote"),
    ],
)
def test_a_bad_file_names_the_file_and_line(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = write(tmp_path / "answers.csv", text)
    with pytest.raises(CrowdFileError, match=what) as caught:
        read_answers(path)
    assert str(path) in str(caught.value)
    assert where in str(caught.value)


def test_a_file_that_is_not_utf8_text_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"worker,task,label\na,1,x\nb,2,\xff\xfe\n")
    with pytest.raises(CrowdFileError, match="not UTF-8") as caught:
        read_answers(path)
    assert f"{path}, line 3" in str(caught.value)


def test_a_missing_file_is_a_crowd_file_error(tmp_path: Path) -> None:
    with pytest.raises(CrowdFileError, match="no such file"):
        read_answers(tmp_path / "nowhere.csv")
    with pytest.raises(CrowdFileError, match="cannot read"):
        read_answers(tmp_path)  # a folder


def test_a_bad_input_leaves_no_output_behind(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    with pytest.raises(CrowdFileError):
        aggregate_file(write(tmp_path / "a.csv", "worker,task,label\n,1,x\n"), out)
    assert list(tmp_path.iterdir()) == [tmp_path / "a.csv"]


def test_an_unknown_method_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    with pytest.raises(ValueError, match="method"):
        aggregate_file(write(tmp_path / "a.csv", PETS), out, "vote")
    assert not out.exists()


def test_a_failed_write_keeps_the_old_output_and_leaves_no_temp_file(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", PETS)
    out = tmp_path / "labels.csv"
    out.write_text("old\n", encoding="utf-8")
    data = read_answers(source)
    labels = majority(data.answers)
    broken = Labels(
        label=labels.label, confidence=labels.confidence[:1], votes=labels.votes,
        tie=labels.tie,
    )
    with pytest.raises(ValueError):
        write_labels(out, data, broken)  # confidences run out half-way through
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "labels.csv"]
    write_labels(out, data, labels)
    assert output_rows(out)[1] == ["photo-3", "cat", "0.6667"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "labels.csv"]
