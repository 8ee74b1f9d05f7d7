"""Items with a known answer: hidden gold and practice (`haru import --gold / --practice`).

Sentences bring their answer in the same file (CSV columns or JSONL keys `answer`, `reason`,
`level`); pictures in a folder or .zip bring it in a CSV beside them (`file,answer,reason`).
An answer names one of the project's choices: the whole label ("🐶 개"), its words ("개"), its
emoji ("🐶"), or its number (1 = the first button).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from tasks.images import Rejected
from tasks.model import Role

CAPTION_LIMIT = 1024  # Telegram's limit for a picture's caption
# What the practice explanation needs besides the reason: the progress line, "정답은 ...예요"
# and the spacing between them.
_EXPLAIN_OVERHEAD = 120
MAX_LEVEL = 5
FILE_COLUMNS = ("file", "filename", "image", "name")


@dataclass(frozen=True)
class KnownSpec:
    """What a known-answer import checks against: the project's choices and question."""

    role: Role
    choices: tuple[str, ...]
    question: str

    @property
    def max_reason(self) -> int:
        """A reason must fit in the caption with the question and the right answer."""
        longest = max((len(c) for c in self.choices), default=0)
        return CAPTION_LIMIT - len(self.question) - longest - _EXPLAIN_OVERHEAD


@dataclass(frozen=True)
class Answer:
    """The known answer of one item, with the reason practice shows."""

    choice: int
    reason: str | None = None
    level: int = 1


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split())).replace("\ufe0f", "").casefold()


def choice_index(raw: str, choices: tuple[str, ...]) -> int | None:
    """Which choice `raw` names (label, words, emoji or 1-based number), or None."""
    wanted = _norm(raw)
    if not wanted:
        return None
    if wanted.isdigit() and 1 <= int(wanted) <= len(choices):
        return int(wanted) - 1
    for index, label in enumerate(choices):
        emoji, _, words = label.partition(" ")
        if wanted in (_norm(label), _norm(words), _norm(emoji)):
            return index
    return None


def parse_answer(
    record: dict[str, str], spec: KnownSpec, source: str
) -> Answer | Rejected:
    """The answer, reason and level of one row, or why the row is refused."""
    raw = (record.get("answer") or "").strip()
    if not raw:
        return Rejected(source, "no answer")
    choice = choice_index(raw, spec.choices)
    if choice is None:
        listed = ", ".join(spec.choices)
        return Rejected(source, f'answer "{raw}" is not one of the project\'s choices ({listed})')
    reason = " ".join((record.get("reason") or "").split()) or None
    if spec.role is not Role.PRACTICE:
        return Answer(choice)  # gold is never explained: a reason would not be shown
    if reason and len(reason) > spec.max_reason:
        return Rejected(source, f"reason too long ({len(reason)} characters; with this "
                                f"project's question a caption leaves room for "
                                f"{spec.max_reason})")
    level_raw = (record.get("level") or "").strip()
    if not level_raw:
        return Answer(choice, reason)
    if not level_raw.isdigit() or not 1 <= int(level_raw) <= MAX_LEVEL:
        return Rejected(source, f'level "{level_raw}" is not a number from 1 (easy) to '
                                f"{MAX_LEVEL}")
    return Answer(choice, reason, int(level_raw))


Records = list[tuple[str, dict[str, str]]]


def csv_records(text: str, name: str) -> tuple[list[str], Records] | Rejected:
    """A CSV's lower-case header, and its rows as (source "file:line", {column: cell})."""
    # strict: a quote that is never closed is an error, not the rest of the file in one cell
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    try:
        header = [cell.strip().lstrip("\ufeff").strip().lower() for cell in next(reader, [])]
        start = reader.line_num + 1  # a quoted cell may span lines: report where a row starts
        for row in reader:
            if row and any(cell.strip() for cell in row):  # csv yields [] for a blank line
                records.append((f"{name}:{start}", dict(zip(header, row, strict=False))))
            start = reader.line_num + 1
    except csv.Error as exc:
        # A broken quote makes every later row doubtful: reject the file rather than guess.
        return Rejected(name, f"not valid CSV (line {reader.line_num}: {exc})")
    if not header:
        return Rejected(name, "empty file")
    return header, records


@dataclass(frozen=True)
class SheetRow:
    """One line of an answer sheet: which picture, and its answer."""

    source: str  # "answers.csv:3"
    path: str  # the picture, relative to the sheet's folder as written there
    answer: Answer
    folder: str = ""  # the sheet's folder inside the import


class AnswerSheet:
    """The CSV files beside pictures: which answer each picture has. A sheet names pictures
    relative to its own folder (or by their path in the import); a bare file name found in
    one sheet only also matches a picture of that name anywhere."""

    def __init__(self, name: str, rows: list[SheetRow]) -> None:
        self.name, self.rows = name, rows
        self._full: dict[str, SheetRow] = {}
        self._bare: dict[str, list[SheetRow]] = {}
        for row in rows:
            for key in _keys(row):
                self._full.setdefault(key, row)
            self._bare.setdefault(PurePath(row.path).name.casefold(), []).append(row)

    def find(self, relative: str) -> SheetRow | None:
        """The row for a picture at `relative` (its path in the folder or zip)."""
        found = self._full.get(PurePath(relative).as_posix().casefold())
        if found is not None:
            return found
        same_name = self._bare.get(PurePath(relative).name.casefold(), [])
        return same_name[0] if len(same_name) == 1 else None


def _keys(row: SheetRow) -> list[str]:
    """Where a row's picture may be: beside its sheet, or at that path in the import."""
    beside = (PurePath(row.folder) / row.path).as_posix() if row.folder else row.path
    return list(dict.fromkeys(k.casefold() for k in (beside, row.path)))


def read_sheets(sheets: list[tuple[str, str, bytes | Rejected]], spec: KnownSpec
                ) -> tuple[AnswerSheet, list[Rejected]]:
    """Read answer sheets — (source, folder, bytes) each — into one, refusing bad rows by line,
    and a picture given two different answers (names compared without case)."""
    rows: dict[str, SheetRow] = {}
    rejected: list[Rejected] = []
    for name, folder, data in sheets:
        if isinstance(data, Rejected):
            rejected.append(data)
            continue
        for row in _sheet_rows(data, name, folder, spec, rejected):
            key = _keys(row)[0]
            if key in rows and rows[key].answer.choice != row.answer.choice:
                rejected.append(Rejected(row.source, f"{row.path} has a different answer on "
                                                     f"{rows[key].source}"))
            else:
                rows.setdefault(key, row)
    names = ", ".join(name for name, _, _ in sheets)
    return AnswerSheet(names, list(rows.values())), rejected


def _sheet_rows(data: bytes, name: str, folder: str, spec: KnownSpec,
                rejected: list[Rejected]) -> list[SheetRow]:
    """The good rows of one sheet (`file,answer[,reason][,level]`); bad ones go to
    `rejected`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        rejected.append(Rejected(name, "not UTF-8 text"))
        return []
    read = csv_records(text, name)
    if isinstance(read, Rejected):
        rejected.append(read)
        return []
    header, records = read
    if "answer" not in header or not set(FILE_COLUMNS) & set(header):
        rejected.append(Rejected(name, "needs the columns 'file' and 'answer'"))
        return []
    if not records:
        rejected.append(Rejected(name, "no rows under the header"))
    rows = []
    for source, record in records:
        file = next((record[c].strip() for c in FILE_COLUMNS if record.get(c, "").strip()), "")
        answer = parse_answer(record, spec, source) if file else Rejected(
            source, "no file name (column 'file')")
        if isinstance(answer, Rejected):
            rejected.append(answer)
        else:
            rows.append(SheetRow(source, file.replace("\\", "/"), answer, folder))
    return rows
