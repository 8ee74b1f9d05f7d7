"""The files of `haru export`: a project's labels in the formats AI teams read. No SQL here.

Every format uses the same **class names**: a choice's words without its emoji ("🐶 Dog" ->
"Dog", "🐱 고양이" -> "고양이"), made safe as a folder name (``\\ / : * ? " < > |`` and control
characters become "-", leading and trailing dots and spaces go). A name left empty, reserved on
Windows (CON, NUL, ...) or equal to an earlier choice's name ignoring case becomes
"choice-N" (N = the button's place, from 1). ``label_index`` is the choice's place in the
project's buttons, from 0. **item_id** is Haru's item id, the same number in every format.
**decided** says how the label was reached: ``agreement`` (the workers), ``model``
(Dawid-Skene's weighting of the workers), ``reviewer`` (a coordinator); with ``--all`` also the
states of unfinished items: ``open`` (collecting answers), ``more`` (one more worker asked),
``review`` (waiting for a coordinator), ``dropped`` (a coordinator found it unclear; no label).
**answers** counts real votes; **not_sure** the "not sure" taps, which are no vote.
Confidence has 4 decimals; a coordinator's decision has 1.0.

csv (UTF-8, one row per item, in item order)::

    item_id,source,text,label,label_index,confidence,decided,answers,not_sure,votes_<class>...

  one ``votes_<class name>`` column per choice, in button order. ``text`` is empty for pictures;
  ``label``, ``label_index`` and ``confidence`` are empty for an item without a label.

jsonl (UTF-8, one JSON object per line, the same keys)::

    {"item_id": 7, "source": "p3.jpg", "text": null, "label": "Dog", "label_index": 0,
     "confidence": 1.0, "decided": "agreement", "answers": 3, "not_sure": 0,
     "votes": {"Dog": 3, "고양이": 0}}

  missing values are ``null`` (``text`` for pictures, the label of an item without one).

label-studio: one JSON list of tasks (Label Studio's import format). Each task::

    {"data": {"image": "data:image/jpeg;base64,...", "item_id": 7, "source": "p3.jpg",
              "decided": "agreement"},
     "predictions": [{"model_version": "haru-agreement", "score": 1.0,
                      "result": [{"from_name": "label", "to_name": "image", "type": "choices",
                                  "value": {"choices": ["Dog"]}}]}]}

  sentences use ``"text"`` in place of ``"image"``; an item without a label has no prediction.
  The labeling config that matches (``label_config``) is written beside it.

imagefolder: a folder with one sub-folder per class name holding ``<item_id>.jpg``, and
``metadata.csv``::

    file_name,label,label_index,item_id,source,confidence,decided,answers,not_sure

  ``file_name`` is relative to the folder (``Dog/7.jpg``). Hugging Face datasets 5.x ignores the
  folder names when a metadata.csv is present, so the ``label`` column carries the class name:
  ``load_dataset("imagefolder", data_dir=PATH, split="train")`` gives ``image`` and ``label``
  (a string) with no options; ``.class_encode_column("label")`` makes it a ClassLabel.
  ``torchvision.datasets.ImageFolder(PATH)`` reads the sub-folders (it ignores metadata.csv);
  both number classes in sorted-name order, not button order (``label_index`` keeps that).
  Only classes with pictures get a folder. Items without a label are left out.

answers: every real answer, the input of crowd-kit and ``haru aggregate``::

    worker,task,label

  ``worker`` is a pseudonym (``pseudonym``), ``task`` the item id, ``label`` the class name.
  "Not sure" is no vote, so those answers are left out.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tasks.projects import is_emoji_char

FINISHED = ("agreement", "model", "reviewer")
CONTROL = "label"  # the name of the Choices tag in the labeling config
ANSWERS_HEADER = ("worker", "task", "label")
METADATA_HEADER = ("file_name", "label", "label_index", "item_id", "source", "confidence",
                   "decided", "answers", "not_sure")
_KEYCAP = re.compile("^[0-9#*]\ufe0f?\u20e3")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_WINDOWS = {"con", "prn", "aux", "nul", *(f"{p}{n}" for p in ("com", "lpt") for n in range(10))}


@dataclass(frozen=True)
class ExportItem:
    """One work item as exported: its content, its (current best) label and its votes."""

    id: int
    kind: str  # "image" | "text"
    text: str | None
    media_id: int | None
    source: str
    decided: str  # a verdict, or "open"
    label: int | None  # index into the project's choices
    confidence: float | None
    votes: tuple[int, ...]  # real votes per choice, in button order
    not_sure: int

    @property
    def answers(self) -> int:
        return sum(self.votes)


# --- names ----------------------------------------------------------------------------------


def class_name(choice: str) -> str:
    """A choice's words without its emoji, safe as a folder name; may be empty."""
    text = unicodedata.normalize("NFC", " ".join(choice.split()))
    keycap = _KEYCAP.match(text)
    cut = keycap.end() if keycap else 0
    while cut < len(text) and (is_emoji_char(text[cut]) or text[cut].isspace()):
        cut += 1
    return _UNSAFE.sub("-", text[cut:]).strip(" .")


def class_names(choices: Sequence[str]) -> tuple[str, ...]:
    """One distinct class name per choice, in button order (see the module docstring)."""
    names: list[str] = []
    taken: set[str] = set()
    for place, choice in enumerate(choices, 1):
        name = class_name(choice)
        if not name or name.casefold() in taken or name.casefold() in _WINDOWS:
            name, extra = f"choice-{place}", 1
            while name.casefold() in taken:  # only if a choice's words were "choice-N"
                extra += 1
                name = f"choice-{place}-{extra}"
        names.append(name)
        taken.add(name.casefold())
    return tuple(names)


def pseudonym(key: bytes, worker_id: int) -> str:
    """A worker's id in exports: stable for one database, not derivable without its key."""
    return "w" + hmac.new(key, str(worker_id).encode(), hashlib.sha256).hexdigest()[:10]


def _confidence(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


# --- writers --------------------------------------------------------------------------------


class Writer:
    """Items in, one format out. `images`: whether `add` needs each picture's JPEG bytes."""

    images = False

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = tuple(classes)
        self.written = 0

    def wants_image(self, item: ExportItem) -> bool:
        return self.images and item.media_id is not None

    def add(self, item: ExportItem, image: bytes | None = None) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Complete the output (after the last item)."""

    def close(self) -> None:
        """Let go of what the writer opened itself, finished or not."""

    def _label(self, item: ExportItem) -> str | None:
        return None if item.label is None else self.classes[item.label]


def csv_header(classes: Sequence[str]) -> tuple[str, ...]:
    return ("item_id", "source", "text", "label", "label_index", "confidence", "decided",
            "answers", "not_sure", *(f"votes_{name}" for name in classes))


class CsvWriter(Writer):
    def __init__(self, handle: TextIO, classes: Sequence[str]) -> None:
        super().__init__(classes)
        self._csv = csv.writer(handle, lineterminator="\n")
        self._csv.writerow(csv_header(self.classes))

    def add(self, item: ExportItem, image: bytes | None = None) -> None:
        self._csv.writerow([_cell(v) for v in (
            item.id, item.source, item.text, self._label(item), item.label,
            _confidence(item.confidence), item.decided, item.answers, item.not_sure,
            *item.votes)])
        self.written += 1


class JsonlWriter(Writer):
    def __init__(self, handle: TextIO, classes: Sequence[str]) -> None:
        super().__init__(classes)
        self._handle = handle

    def add(self, item: ExportItem, image: bytes | None = None) -> None:
        record = {
            "item_id": item.id, "source": item.source, "text": item.text,
            "label": self._label(item), "label_index": item.label,
            "confidence": _confidence(item.confidence), "decided": item.decided,
            "answers": item.answers, "not_sure": item.not_sure,
            "votes": dict(zip(self.classes, item.votes, strict=True)),
        }
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.written += 1


def label_config(question: str, classes: Sequence[str], kind: str) -> str:
    """Label Studio's labeling config for these tasks: the question, the picture or sentence,
    one single-choice button per class."""
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=question)
    ET.SubElement(view, "Image" if kind == "image" else "Text", name=kind, value=f"${kind}")
    choices = ET.SubElement(view, "Choices", name=CONTROL, toName=kind, choice="single",
                            showInline="true")
    for name in classes:
        ET.SubElement(choices, "Choice", value=name)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


class LabelStudioWriter(Writer):
    """A JSON list of tasks, one task at a time (never the whole list in memory)."""

    def __init__(self, handle: TextIO, classes: Sequence[str], kind: str) -> None:
        super().__init__(classes)
        self._handle, self._kind = handle, kind
        self.images = kind == "image"
        handle.write("[")

    def task(self, item: ExportItem, image: bytes | None) -> dict[str, Any]:
        if self._kind == "image":
            content = "data:image/jpeg;base64," + base64.b64encode(image or b"").decode("ascii")
        else:
            content = item.text or ""
        label = self._label(item)
        predictions: list[dict[str, Any]] = []
        if label is not None:
            prediction: dict[str, Any] = {"model_version": f"haru-{item.decided}"}
            if item.confidence is not None:
                prediction["score"] = _confidence(item.confidence)
            prediction["result"] = [{"from_name": CONTROL, "to_name": self._kind,
                                     "type": "choices", "value": {"choices": [label]}}]
            predictions.append(prediction)
        data = {self._kind: content, "item_id": item.id, "source": item.source,
                "decided": item.decided}
        return {"data": data, "predictions": predictions}

    def add(self, item: ExportItem, image: bytes | None = None) -> None:
        task = json.dumps(self.task(item, image), ensure_ascii=False)
        self._handle.write(("\n" if self.written == 0 else ",\n") + task)
        self.written += 1

    def finish(self) -> None:
        self._handle.write("\n]\n")


class ImageFolderWriter(Writer):
    """`<class>/<item_id>.jpg` and metadata.csv in `folder`; items without a label are skipped."""

    images = True

    def __init__(self, folder: Path, classes: Sequence[str]) -> None:
        super().__init__(classes)
        self.folder = folder
        self.skipped = 0
        self._made: set[str] = set()
        self._handle = (folder / "metadata.csv").open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._handle, lineterminator="\n")
        self._csv.writerow(METADATA_HEADER)

    def wants_image(self, item: ExportItem) -> bool:
        return item.label is not None and item.media_id is not None

    def add(self, item: ExportItem, image: bytes | None = None) -> None:
        label = self._label(item)
        if label is None or image is None:
            self.skipped += 1
            return
        if label not in self._made:
            (self.folder / label).mkdir(exist_ok=True)
            self._made.add(label)
        name = f"{label}/{item.id}.jpg"
        (self.folder / name).write_bytes(image)
        self._csv.writerow([_cell(v) for v in (
            name, label, item.label, item.id, item.source, _confidence(item.confidence),
            item.decided, item.answers, item.not_sure)])
        self.written += 1

    def finish(self) -> None:
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class AnswersWriter(Writer):
    """`worker,task,label` rows: real answers only, workers under their pseudonyms."""

    def __init__(self, handle: TextIO, classes: Sequence[str], key: bytes) -> None:
        super().__init__(classes)
        self._key = key
        self._names: dict[int, str] = {}
        self.tasks: set[int] = set()
        self._csv = csv.writer(handle, lineterminator="\n")
        self._csv.writerow(ANSWERS_HEADER)

    @property
    def workers(self) -> int:
        return len(self._names)

    def add_answer(self, worker_id: int, item_id: int, choice: int) -> None:
        if not 0 <= choice < len(self.classes):
            return  # not a button of this project (never written by Haru)
        worker = self._names.get(worker_id)
        if worker is None:
            worker = self._names[worker_id] = pseudonym(self._key, worker_id)
        self._csv.writerow((worker, item_id, self.classes[choice]))
        self.tasks.add(item_id)
        self.written += 1
