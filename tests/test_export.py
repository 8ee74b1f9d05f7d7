"""`haru export` as a coordinator types it: every format read back by its own reader, against
a database the real bot filled; and every bad name or place refused in one line, leaving
nothing behind."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.objects import TaskValue

import storage.exports
from bot.cli import main
from review.export import (
    CsvWriter,
    JsonlWriter,
    LabelStudioWriter,
    class_name,
    class_names,
    pseudonym,
)
from tests.harness import Harness

CHOICES = ("🐶 Dog", "🐱 고양이", "🐰 Rabbit")
CLASSES = ["Dog", "고양이", "Rabbit"]
WORKERS = ((987654321, "민지"), (876543210, "Alice"), (765432109, "Bob"))
# Each picture's taps, one per worker (None: nobody answered it).
TAPS: list[tuple[str, str, str] | None] = [
    ("🐶", "🐶", "🐶"),  # 1: agreement, Dog
    ("🐱", "🐱", "🐱"),  # 2: agreement, 고양이
    ("🐶", "🐱", "🤔"),  # 3: a tie: review
    ("🐶", "🐶", "🐱"),  # 4: not sure enough: one more worker asked
    ("🐱", "🐱", "🐶"),  # 5: then the model finishes it (below)
    ("🐰", "🐶", "🐱"),  # 6: then a coordinator decides Rabbit (below)
    ("🐶", "🤔", "🤔"),  # 7: then a coordinator drops it (below)
    None,                 # 8: open, no answer yet
]
FINISHED = {1: ("Dog", "agreement"), 2: ("고양이", "agreement"), 5: ("고양이", "model"),
            6: ("Rabbit", "reviewer")}
DECIDED = {1: "agreement", 2: "agreement", 3: "review", 4: "more", 5: "model", 6: "reviewer",
           7: "dropped", 8: "open"}
FORMATS = ("csv", "jsonl", "label-studio", "imagefolder", "answers")
DONE = "('agreement', 'model', 'reviewer')"


async def fill(h: Harness) -> None:
    """"animals": pictures answered through the bot, each item in another state, and a gold
    item the export leaves out; "reviews": sentences; "empty": pictures nobody answered."""
    project = await h.project(choices=CHOICES, overlap=3)
    await h.pictures(project, len(TAPS))
    for n, (user_id, name) in enumerate(WORKERS):
        phone = h.phone(user_id, name)
        await phone.join(await h.invite(name))
        await phone.tap("▶️")
        for taps in TAPS:
            if taps is not None:
                await phone.tap(taps[n])
    reviews = await h.project("reviews", choices=("👍 Good", "👎 Bad"), overlap=2)
    await h.sentences(reviews, ["Lovely day", "Awful food", "Not sure what to say"])
    await h.pictures(await h.project("empty"), 2)
    async with h.store.uow() as repo:
        for sql in (
            "UPDATE items SET verdict = 'model', label = 1, confidence = 0.93 WHERE id = 5",
            "UPDATE items SET verdict = 'reviewer', label = 2, confidence = 1.0 WHERE id = 6",
            "UPDATE items SET verdict = 'dropped', label = NULL, confidence = NULL WHERE id = 7",
            "INSERT INTO items (project_id, kind, media_id, content_key, source, created_at,"
            " role, answer, verdict, label, confidence) SELECT project_id, kind, media_id,"
            " 'gold', 'gold.jpg', created_at, 'gold', 0, 'agreement', 0, 1.0 FROM items"
            " WHERE id = 1",
            "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at, answered_at)"
            " SELECT (SELECT id FROM items WHERE role = 'gold'), worker_id, batch_id, 0,"
            " shown_at, answered_at FROM answers LIMIT 1",
            # The sentences: two agreed, one still open with a single vote.
            "INSERT INTO answers (item_id, worker_id, batch_id, choice, shown_at, answered_at)"
            " SELECT i.id, w.id, 1, CASE i.text WHEN 'Awful food' THEN 1 ELSE 0 END,"
            " i.created_at, i.created_at FROM items i, workers w WHERE i.project_id = 2"
            " AND (i.text != 'Not sure what to say' OR w.id = 1)",
            "UPDATE items SET verdict = 'agreement', label = CASE text WHEN 'Awful food'"
            " THEN 1 ELSE 0 END, confidence = 1.0 WHERE project_id = 2"
            " AND text != 'Not sure what to say'",
        ):
            await repo.conn.execute(sql)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database, filled once for the whole module (the bot's taps take a moment)."""
    path = tmp_path_factory.mktemp("built") / "haru.db"

    async def build() -> None:
        h = Harness(path)
        await h.start()
        try:
            await fill(h)
        finally:
            await h.stop()

    asyncio.run(build())
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "haru.db"
    for end in ("", "-wal"):
        if built.with_name(built.name + end).exists():
            shutil.copy(built.with_name(built.name + end), path.with_name(path.name + end))
    monkeypatch.setenv("HARU_DB", str(path))
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for the exports, so that any file left behind shows."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql, args))


def real_answers(db: Path, project: str, finished: bool) -> int:
    where = f" AND i.verdict IN {DONE}" if finished else ""
    return int(query(db, "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
                         " JOIN projects p ON p.id = i.project_id WHERE p.name = ?"
                         f" AND i.role = 'work' AND a.not_sure = 0{where}", project)[0][0])


def export(*argv: str) -> int:
    return main(["export", *argv])


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("haru: ") and err.count("\n") == 1, err
    return err.strip()


# --- class names and pseudonyms -----------------------------------------------------------


def test_class_names_are_the_choices_words_safe_for_folders_and_distinct() -> None:
    assert class_names(CHOICES) == ("Dog", "고양이", "Rabbit")
    assert class_name("1️⃣ One") == "One" and class_name("❤️ Love it") == "Love it"
    assert class_name("🍎 A/B: c?") == "A-B- c-"
    # Same words in another case, a Windows device name, a name left empty: choice-N.
    assert class_names(("🐶 Dog", "🐕 dog", "🍎 CON", "🌙 ..")) == (
        "Dog", "choice-2", "choice-3", "choice-4")
    assert class_names(("🌙 choice-2", "☀ ..")) == ("choice-2", "choice-2-2")


def test_a_pseudonym_is_stable_for_one_key_and_says_nothing_without_it() -> None:
    assert pseudonym(b"k1", 7) == pseudonym(b"k1", 7)
    assert re.fullmatch(r"w[0-9a-f]{10}", pseudonym(b"k1", 7))
    assert len({pseudonym(b"k1", 7), pseudonym(b"k2", 7), pseudonym(b"k1", 8)}) == 3


# --- the formats, read back ---------------------------------------------------------------


def test_csv_has_one_row_per_finished_item_with_its_votes(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "animals.csv"
    assert export("animals", "--format", "csv", "--out", str(path)) == 0
    assert capsys.readouterr().out == (
        f'Exported 4 items of "animals" (finished only) as csv to {path}\n')
    frame = pd.read_csv(path)
    assert list(frame.columns) == [
        "item_id", "source", "text", "label", "label_index", "confidence", "decided",
        "answers", "not_sure", "votes_Dog", "votes_고양이", "votes_Rabbit"]
    finished = [r[0] for r in query(db, "SELECT id FROM items WHERE project_id = 1 AND"
                                        f" role = 'work' AND verdict IN {DONE} ORDER BY id")]
    assert list(frame.item_id) == finished == list(FINISHED)
    assert list(frame.label) == [name for name, _ in FINISHED.values()]
    assert list(frame.decided) == [how for _, how in FINISHED.values()]
    assert list(frame.label_index) == [0, 1, 1, 2]
    assert list(frame.confidence) == [1.0, 1.0, 0.93, 1.0]
    assert list(frame.source) == ["p0.jpg", "p1.jpg", "p4.jpg", "p5.jpg"]
    assert frame.text.isna().all()  # pictures
    assert frame.answers.sum() == real_answers(db, "animals", finished=True) == 12
    votes = frame[["votes_Dog", "votes_고양이", "votes_Rabbit"]].to_numpy().tolist()
    assert votes == [[3, 0, 0], [0, 3, 0], [1, 2, 0], [1, 1, 1]]


def test_csv_with_all_has_every_work_item_in_its_current_state(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "all.csv"
    assert export("animals", "--format", "csv", "--out", str(path), "--all") == 0
    assert "Exported 8 items of \"animals\" (all work items)" in capsys.readouterr().out
    frame = pd.read_csv(path).set_index("item_id")
    assert frame.decided.to_dict() == DECIDED  # no gold item
    assert frame.answers.sum() == real_answers(db, "animals", finished=False) == 18
    assert frame.not_sure.sum() == 3 and frame.not_sure[7] == 2
    assert frame.label[4] == "Dog" and frame.confidence[4] == pytest.approx(0.6667)
    assert pd.isna(frame.label[7]) and pd.isna(frame.label_index[8])
    assert frame.answers[8] == 0


def test_jsonl_has_the_votes_by_class_name(db: Path, out: Path) -> None:
    path = out / "animals.jsonl"
    assert export("animals", "--format", "jsonl", "--out", str(path)) == 0
    frame = pd.read_json(path, lines=True, dtype=False)
    assert list(frame.item_id) == list(FINISHED)
    assert list(frame.label) == [name for name, _ in FINISHED.values()]
    assert frame.votes[3] == {"Dog": 1, "고양이": 1, "Rabbit": 1}
    assert frame.text.isna().all() and list(frame.confidence) == [1.0, 1.0, 0.93, 1.0]
    assert frame.answers.sum() == real_answers(db, "animals", finished=True)


def test_label_studio_tasks_carry_the_pictures_and_valid_predictions(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "tasks.json"
    assert export("animals", "--format", "label-studio", "--out", str(path), "--all") == 0
    config = (out / "tasks.label-config.xml").read_text(encoding="utf-8")
    assert f"labeling config in {out / 'tasks.label-config.xml'}" in capsys.readouterr().out
    interface = LabelInterface(config)
    assert interface.get_control("label").labels == CLASSES
    assert "What animal is this?" in config
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert [t["data"]["item_id"] for t in tasks] == list(DECIDED)
    labelled = dict(query(db, "SELECT id, label FROM items WHERE project_id = 1 AND"
                              " role = 'work' AND label IS NOT NULL"))
    for task in tasks:
        TaskValue.model_validate(task)  # Label Studio's own task model
        assert all(obj.value_name in task["data"] for obj in interface.objects)
        item = task["data"]["item_id"]
        jpeg = query(db, "SELECT m.data FROM media m JOIN items i ON i.media_id = m.id"
                         " WHERE i.id = ?", item)[0][0]
        prefix = "data:image/jpeg;base64,"
        assert task["data"]["image"] == prefix + base64.b64encode(jpeg).decode()
        assert len(task["predictions"]) == (1 if item in labelled else 0)
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction) is True
            assert prediction["result"][0]["value"]["choices"] == [CLASSES[labelled[item]]]
            assert prediction["model_version"] == f"haru-{DECIDED[item]}"
    scores = {t["data"]["item_id"]: t["predictions"][0]["score"] for t in tasks
              if t["predictions"]}
    assert scores[5] == 0.93 and scores[1] == 1.0


def test_imagefolder_loads_in_datasets_with_the_class_names_as_labels(
    db: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = out / "animals"
    assert export("animals", "--format", "imagefolder", "--out", str(folder)) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CLASSES, "metadata.csv"])
    jpeg = query(db, "SELECT m.data FROM media m JOIN items i ON i.media_id = m.id"
                     " WHERE i.id = 6")[0][0]
    assert (folder / "Rabbit" / "6.jpg").read_bytes() == jpeg
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    data = datasets.load_dataset("imagefolder", data_dir=str(folder), split="train",
                                 cache_dir=str(tmp_path / "hf" / "cache"))
    assert sorted(zip(data["item_id"], data["label"], strict=True)) == [
        (i, name) for i, (name, _) in FINISHED.items()]
    assert data[0]["image"].size == (8, 8)
    assert sorted(data["decided"]) == sorted(how for _, how in FINISHED.values())
    encoded = data.class_encode_column("label")
    assert encoded.features["label"].names == sorted(CLASSES)

    # --all: the items without a label cannot go in a label folder; they are counted.
    capsys.readouterr()
    assert export("animals", "--format", "imagefolder", "--out", str(folder), "--all",
                  "--force") == 0
    labelled = query(db, "SELECT count(*) FROM items WHERE project_id = 1 AND role = 'work'"
                         " AND label IS NOT NULL")[0][0]
    captured = capsys.readouterr()
    assert f"Exported {labelled} items" in captured.out
    assert f"Left out {8 - labelled} items without a label" in captured.err
    assert len(pd.read_csv(folder / "metadata.csv")) == labelled
    assert sorted(os.listdir(out)) == ["animals"]  # the old folder is gone, no temporary left


def test_answers_are_the_real_votes_under_stable_pseudonyms(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "answers.csv"
    assert export("animals", "--format", "answers", "--out", str(path)) == 0
    assert capsys.readouterr().out == (
        f'Exported 12 answers by 3 workers on 4 items of "animals" (finished only) as answers'
        f' to {path} ("not sure" is no vote: left out)\n')
    assert path.read_text(encoding="utf-8").splitlines()[0] == "worker,task,label"
    frame = pd.read_csv(path)
    assert len(frame) == real_answers(db, "animals", finished=True)
    assert set(frame.task) == set(FINISHED) and set(frame.label) == set(CLASSES)
    key = query(db, "SELECT value FROM meta WHERE key = 'export_key'")[0][0]
    minji = pseudonym(key.encode(), 1)
    assert frame[(frame.task == 6) & (frame.worker == minji)].label.tolist() == ["Rabbit"]
    assert frame.worker.str.fullmatch(r"w[0-9a-f]{10}").all()

    assert export("animals", "--format", "answers", "--out", str(path), "--all",
                  "--force") == 0
    everything = pd.read_csv(path)
    assert len(everything) == real_answers(db, "animals", finished=False) == 18
    assert (everything.task == 3).sum() == 2  # its "not sure" is left out
    assert set(everything.task) == {1, 2, 3, 4, 5, 6, 7}  # 8 has none; gold is not work
    assert set(everything.worker) == set(frame.worker)  # the same pseudonyms again


def test_no_worker_name_or_telegram_id_is_in_any_export(db: Path, out: Path) -> None:
    for fmt in FORMATS:
        assert export("animals", "--format", fmt, "--out", str(out / fmt), "--all") == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > len(FORMATS)
    for path in files:
        data = path.read_bytes()
        for user_id, name in WORKERS:
            assert name.encode() not in data and str(user_id).encode() not in data, path


def test_sentences_export_their_text_but_not_as_an_image_folder(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "reviews.csv"
    assert export("reviews", "--format", "csv", "--out", str(path)) == 0
    frame = pd.read_csv(path)
    assert list(frame.text) == ["Lovely day", "Awful food"]
    assert list(frame.label) == ["Good", "Bad"] and list(frame.votes_Good) == [3, 0]
    tasks = out / "reviews.json"
    assert export("reviews", "--format", "label-studio", "--out", str(tasks), "--all") == 0
    interface = LabelInterface((out / "reviews.label-config.xml").read_text(encoding="utf-8"))
    found = json.loads(tasks.read_text(encoding="utf-8"))
    assert [t["data"]["text"] for t in found] == ["Lovely day", "Awful food",
                                                   "Not sure what to say"]
    assert found[2]["predictions"] == [] and found[2]["data"]["decided"] == "open"
    assert all(interface.validate_prediction(p) for t in found for p in t["predictions"])
    capsys.readouterr()
    assert export("reviews", "--format", "imagefolder", "--out", str(out / "f")) == 1
    assert one_error(capsys) == ('haru: "reviews" has sentences, not pictures: export it with'
                                 " --format csv or jsonl.")
    assert not (out / "f").exists()


def test_a_project_with_nothing_finished_exports_empty_files(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    for fmt in FORMATS:
        assert export("empty", "--format", fmt, "--out", str(out / fmt)) == 0
        assert " 0 items of \"empty\"" in capsys.readouterr().out
    assert (out / "csv").read_text(encoding="utf-8").count("\n") == 1  # the header
    assert (out / "jsonl").read_text(encoding="utf-8") == ""
    assert json.loads((out / "label-studio").read_text(encoding="utf-8")) == []
    assert (out / "answers").read_text(encoding="utf-8") == "worker,task,label\n"
    assert os.listdir(out / "imagefolder") == ["metadata.csv"]


# --- bad input ----------------------------------------------------------------------------


def test_an_unknown_project_format_or_database_is_one_line(
    db: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    no_project = 'haru: There is no project called "nope". See `haru project list`.'
    assert export("nope", "--format", "csv", "--out", str(out / "x.csv")) == 1
    assert one_error(capsys) == no_project
    assert export("animals", "--format", "xml", "--out", str(out / "x.xml")) == 1
    assert one_error(capsys) == ('haru: unknown format "xml": use csv, jsonl, label-studio,'
                                 " imagefolder or answers")
    missing = tmp_path / "none.db"
    monkeypatch.setenv("HARU_DB", str(missing))
    assert export("nope", "--format", "csv", "--out", str(out / "x.csv")) == 1
    assert one_error(capsys) == no_project
    assert not missing.exists() and os.listdir(out) == []


def test_an_existing_place_is_replaced_only_with_force(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = out / "animals.csv"
    path.write_text("keep me\n", encoding="utf-8")
    assert export("animals", "--format", "csv", "--out", str(path)) == 1
    assert one_error(capsys) == f"haru: --out {path} already exists: add --force to replace it."
    assert path.read_text(encoding="utf-8") == "keep me\n"
    assert export("animals", "--format", "csv", "--out", str(path), "--force") == 0
    assert len(pd.read_csv(path)) == 4
    # label-studio's config beside the tasks counts too.
    (out / "tasks.label-config.xml").write_text("mine", encoding="utf-8")
    assert export("animals", "--format", "label-studio", "--out", str(out / "tasks.json")) == 1
    assert "tasks.label-config.xml already exists" in one_error(capsys)
    assert sorted(os.listdir(out)) == ["animals.csv", "tasks.label-config.xml"]


def test_a_place_that_cannot_be_written_is_refused_and_left_clean(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert export("animals", "--format", "csv", "--out", str(out / "no" / "x.csv")) == 1
    assert one_error(capsys) == (f"haru: --out {out / 'no' / 'x.csv'}: the folder "
                                 f"{out / 'no'} does not exist.")
    assert export("animals", "--format", "csv", "--out", str(out)) == 1
    assert "is a folder: give a file name" in one_error(capsys)
    (out / "file").write_text("x", encoding="utf-8")
    assert export("animals", "--format", "imagefolder", "--out", str(out / "file"),
                  "--force") == 1
    assert "is a file: imagefolder writes a folder" in one_error(capsys)
    locked = unwritable_folder(out)
    assert export("animals", "--format", "csv", "--out", str(locked / "x.csv")) == 1
    assert one_error(capsys).startswith(f"haru: Cannot write {locked / 'x.csv'}: ")
    assert export("animals", "--format", "imagefolder", "--out", str(locked / "f")) == 1
    assert one_error(capsys).startswith(f"haru: Cannot write {locked / 'f'}: ")
    assert sorted(os.listdir(out)) == sorted(["file", *(["locked"] if locked.parent == out
                                                         else [])])


def unwritable_folder(out: Path) -> Path:
    locked = out / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    probe = locked / "probe"
    try:
        probe.touch()
    except PermissionError:
        return locked
    probe.unlink()  # root writes anywhere: try the kernel's own folders
    locked.rmdir()
    for place in (Path("/sys"), Path("/proc")):
        try:
            (place / "haru-probe").touch()
        except OSError:
            return place
        (place / "haru-probe").unlink()
    pytest.skip("no folder here refuses to be written")


def test_the_database_is_never_written_over(
    db: Path, out: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    before = db.read_bytes()
    for target in (db, db.with_name(db.name + "-wal")):
        assert export("animals", "--format", "csv", "--out", str(target), "--force") == 1
        assert one_error(capsys) == (f"haru: --out {target} is the database itself: write the"
                                     " export somewhere else.")
    # A folder that holds the database, or anything but an earlier export, is not replaced.
    assert export("animals", "--format", "imagefolder", "--out", str(db.parent),
                  "--force") == 1
    assert "holds the database" in one_error(capsys)
    (out / "photos").mkdir()
    (out / "photos" / "mine.jpg").write_bytes(b"x")
    assert export("animals", "--format", "imagefolder", "--out", str(out / "photos"),
                  "--force") == 1
    assert "is not an earlier imagefolder export" in one_error(capsys)
    assert os.listdir(out / "photos") == ["mine.jpg"]
    assert db.read_bytes() == before


# --- nothing half written -----------------------------------------------------------------


def fail_on(count: int, error: BaseException, real: Callable[..., Any]) -> Callable[..., Any]:
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls >= count:
            raise error
        return real(*args, **kwargs)

    return failing


def test_a_failure_midway_leaves_nothing_at_the_place(
    db: Path, out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(CsvWriter, "add", fail_on(
        2, OSError(28, "No space left on device"), CsvWriter.add))
    path = out / "animals.csv"
    assert export("animals", "--format", "csv", "--out", str(path)) == 1
    assert one_error(capsys) == f"haru: Cannot write {path}: No space left on device"
    monkeypatch.setattr(JsonlWriter, "add", fail_on(3, RuntimeError("a bug"), JsonlWriter.add))
    with pytest.raises(RuntimeError):
        export("animals", "--format", "jsonl", "--out", str(out / "animals.jsonl"))
    assert os.listdir(out) == []


def test_a_kill_midway_leaves_no_temporary_file(
    db: Path, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM (kill, timeout, systemd stop) unwinds like Ctrl-C: the temporaries go too."""
    import signal

    def killed(*args: Any, **kwargs: Any) -> None:
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(LabelStudioWriter, "add", killed)
    assert export("animals", "--format", "label-studio", "--out", str(out / "t.json")) == 143
    monkeypatch.setattr(JsonlWriter, "add", killed)
    assert export("animals", "--format", "jsonl", "--out", str(out / "a.jsonl")) == 143
    assert os.listdir(out) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back afterwards


def test_an_image_folder_may_be_written_over_by_its_own_name_dot(
    db: Path, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = out / "animals"
    assert export("animals", "--format", "imagefolder", "--out", str(folder)) == 0
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    monkeypatch.chdir(folder)
    assert export("animals", "--format", "imagefolder", "--out", ".", "--force") == 0
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    assert os.listdir(out) == ["animals"]


def test_a_failed_forced_image_folder_keeps_the_earlier_export(
    db: Path, out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = out / "animals"
    assert export("animals", "--format", "imagefolder", "--out", str(folder)) == 0
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    metadata = (folder / "metadata.csv").read_text(encoding="utf-8")
    monkeypatch.setattr(storage.exports, "picture", fail_on(
        3, OSError(5, "Input/output error"), storage.exports.picture))
    assert export("animals", "--format", "imagefolder", "--out", str(folder), "--all",
                  "--force") == 1
    assert one_error(capsys) == f"haru: Cannot write {folder}: Input/output error"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    assert (folder / "metadata.csv").read_text(encoding="utf-8") == metadata
    assert os.listdir(out) == ["animals"]
