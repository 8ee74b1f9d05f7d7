"""Import work items from a folder, a .zip, a single image, or a .csv/.jsonl of sentences.

Each input file becomes prepared items (phone-ready JPEGs or clean text) or a plain-English
rejection; one bad file never stops the import. Storage is behind the small `ItemSink` port.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import struct
import threading
import unicodedata
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from pathlib import Path, PurePath
from typing import Protocol

from PIL import Image

from tasks.errors import InvalidInput
from tasks.images import (
    MAX_PIXELS,
    MAX_SIDE,
    PreparedImage,
    Rejected,
    open_image,
    prepare_image,
)
from tasks.known import Answer, AnswerSheet, KnownSpec, csv_records, parse_answer, read_sheets
from tasks.model import ItemKind, Role
from tasks.processes import WorkerDied, Workers, cores

log = logging.getLogger(__name__)

__all__ = [
    "MAX_ENTRY_BYTES",
    "MAX_PIXELS",
    "MAX_ROWS",
    "MAX_SIDE",
    "MAX_TEXT_CHARS",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_RATIO",
    "ImportReport",
    "ItemSink",
    "PreparedImage",
    "PreparedItem",
    "PreparedText",
    "Rejected",
    "ZipLimits",
    "ZipProblem",
    "ZipRefusal",
    "check_kind",
    "check_zip",
    "import_path",
    "kind_of",
    "prepare_image",
    "read_texts",
]

MAX_TEXT_CHARS = 1000
MAX_ROWS = 100_000
MAX_ENTRY_BYTES = 50 * 1024 * 1024
# A zip is refused whole, before anything in it is unpacked, when it holds more entries than
# this (like MAX_ROWS: one import should never hold the database for long)...
MAX_ZIP_ENTRIES = 100_000
# ...or when its entries say they unpack to more than MAX_ZIP_RATIO times the zip's own size
# (photos barely compress, sentences ~3-10x; a zip bomb 1,000x and more). Below
# ZIP_RATIO_FLOOR any ratio is fine: a small zip of repetitive sentences compresses well.
# zipfile never unpacks more than an entry declares (it cuts the data there, and then the CRC
# fails), so the declared sizes are a true bound on the work.
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 100 * 1024 * 1024
# A central directory larger than this per allowed entry is refused before zipfile reads it
# (it would build one object per entry): 46 bytes of header, a name and extra fields.
_ZIP_DIRECTORY_BYTES_PER_ENTRY = 512

_TEXT_SUFFIXES = frozenset({".csv", ".jsonl"})
# One worker process per core (tasks/processes.py says why not threads).
_WORKERS = cores()
# At most this many files are read and decoded ahead of the sink: memory stays flat on huge folders.
_LOOKAHEAD = 2 * _WORKERS
_JUNK_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class PreparedText:
    text: str
    content_key: str
    source: str
    kind: ItemKind = ItemKind.TEXT
    answer: Answer | None = None  # gold and practice: the known answer


PreparedItem = PreparedImage | PreparedText


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)


class ItemSink(Protocol):
    async def add_items(self, project_id: int, items: Sequence[PreparedItem]) -> tuple[int, int]:
        """Store one input file's items in ONE transaction (all or nothing); return (imported,
        duplicates). Duplicates = content_key already in the project or repeated within `items`."""

    async def add_known(
        self, project_id: int, items: Sequence[PreparedItem], role: Role
    ) -> tuple[int, int, list[Rejected]]:
        """Like `add_items` for gold or practice items (each has its `answer`). The same item
        with the same answer is a duplicate; with another answer, or already in the project
        in another role, it is refused, named by its source."""


_Outcome = tuple[Sequence[PreparedItem], Sequence[Rejected]]


@dataclass(frozen=True)
class _Unit:
    """One input file (or zip entry): its progress step and the blocking work that prepares it."""

    source: str
    work: Callable[[], _Outcome]
    key: str = ""  # a picture's path inside the folder or zip, to find it on an answer sheet
    read: Callable[[], bytes | Rejected] | None = None  # its raw bytes (an answer sheet's)
    # The same work for a worker process: picklable, and needing nothing of this process's
    # (a picture in a zip is read through the worker's own handle on the zip).
    job: Callable[[], _Outcome] | None = None


# ---- texts --------------------------------------------------------------------------------


def read_texts(
    data: bytes, name: str, known: KnownSpec | None = None
) -> tuple[list[PreparedText], list[Rejected]]:
    """Read the sentences of a .csv (column `text`) or .jsonl (key `text`) file, and with
    `known` each one's answer (column or key `answer`, optional `reason` and `level`)."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in _TEXT_SUFFIXES:
        raise InvalidInput(f"{name} is not a .csv or a .jsonl file")
    if not data:
        return [], [Rejected(name, "empty file")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Rejected(name, "not UTF-8 text")]
    if not text.strip():
        return [], [Rejected(name, "empty file")]
    rows = _csv_rows if suffix == ".csv" else _jsonl_rows
    results = rows(text, name, known)
    if len(results) > MAX_ROWS:
        # One file is one transaction: a huge one would hold the database while workers tap.
        return [], [Rejected(name, f"too many rows ({len(results):,}; the limit is "
                                   f"{MAX_ROWS:,} per file): split it into smaller files")]
    items = [r for r in results if isinstance(r, PreparedText)]
    return items, [r for r in results if isinstance(r, Rejected)]


def _csv_rows(text: str, name: str, known: KnownSpec | None) -> list[PreparedText | Rejected]:
    read = csv_records(text, name)
    if isinstance(read, Rejected):
        return [read]
    header, records = read
    if "text" not in header:
        return [Rejected(name, "no 'text' column")]
    if known is not None and "answer" not in header:
        return [Rejected(name, "no 'answer' column")]
    results = [_prepare_record(record, source, known) for source, record in records]
    return results or [Rejected(name, "no rows under the header")]


def _jsonl_rows(text: str, name: str, known: KnownSpec | None) -> list[PreparedText | Rejected]:
    results: list[PreparedText | Rejected] = []
    # Not splitlines(): it would also split on U+2028, which JSON allows inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        source = f"{name}:{number}"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            results.append(Rejected(source, "not valid JSON"))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            results.append(Rejected(source, "no 'text' string"))
            continue
        cells = {k: v if isinstance(v, str) else "" if v is None else json.dumps(v)
                 for k, v in record.items()}
        results.append(_prepare_record(cells, source, known))
    return results


def _prepare_record(
    record: dict[str, str], source: str, known: KnownSpec | None
) -> PreparedText | Rejected:
    """One sentence, with its known answer when importing gold or practice."""
    prepared = _prepare_text(record.get("text") or "", source)
    if known is None or isinstance(prepared, Rejected):
        return prepared
    answer = parse_answer(record, known, source)
    return answer if isinstance(answer, Rejected) else replace(prepared, answer=answer)


def _prepare_text(raw: str, source: str) -> PreparedText | Rejected:
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        return Rejected(source, "empty text")
    if len(text) > MAX_TEXT_CHARS:
        return Rejected(
            source, f"text too long ({len(text)} characters; the limit is {MAX_TEXT_CHARS})"
        )
    try:  # JSON escapes can smuggle in lone surrogates, which no database can store
        collapsed = " ".join(text.split()).encode("utf-8")
    except UnicodeEncodeError:
        return Rejected(source, "not UTF-8 text")
    return PreparedText(text, "txt:" + hashlib.sha256(collapsed).hexdigest(), source)


# ---- inputs -------------------------------------------------------------------------------


def _plan(path: Path, stack: ExitStack, known: KnownSpec | None = None) -> list[_Unit]:
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if path.is_dir():
        return _folder_units(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _zip_units(path, stack)
    if suffix in _TEXT_SUFFIXES:
        return [_Unit(path.name, partial(_texts_from_file, path, known))]
    if _is_image_file(path):
        if known is not None:
            raise InvalidInput(
                f"{path.name}: a picture's answer comes from a CSV beside it (columns file,"
                " answer, reason); import the folder or .zip that holds both."
            )
        return [_Unit(path.name, partial(_image_from_file, path, path.name))]
    raise InvalidInput(f"{path} is not a folder, a .zip, a .csv, a .jsonl or an image file")


def _is_sheet(unit: _Unit) -> bool:
    return PurePath(unit.key).suffix.lower() == ".csv"


def _split_sheets(
    units: list[_Unit], spec: KnownSpec, where: Path
) -> tuple[list[_Unit], AnswerSheet, list[Rejected]]:
    """Gold or practice pictures: the CSV files among them are their answer sheet."""
    sheets = [u for u in units if _is_sheet(u)]
    if not sheets:
        raise InvalidInput(
            f"{where.name} has no answer sheet: put a CSV beside the pictures with the columns"
            " file,answer (and reason for practice)."
        )
    read = [(u.source, PurePath(u.key).parent.as_posix().strip("."),
             u.read() if u.read else Rejected(u.source, "cannot be read")) for u in sheets]
    sheet, rejected = read_sheets(read, spec)
    return [u for u in units if not _is_sheet(u)], sheet, rejected


def _folder_units(root: Path) -> list[_Unit]:
    units = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted((d for d in subfolders if not _is_junk(d)), key=_natural)
        for name in sorted(files, key=_natural):
            path = Path(folder, name)
            if not _is_junk(name) and path.is_file():  # is_file() skips sockets and FIFOs
                source = path.relative_to(root).as_posix()
                work = partial(_image_from_file, path, source)
                units.append(_Unit(source, work, source, partial(_read_file, path, source), work))
    return units


class ZipProblem(StrEnum):
    CORRUPT = "corrupt"  # not a zip, or cut short
    ENTRIES = "entries"  # too many entries
    UNPACKED = "unpacked"  # its entries add up to more than the limit
    RATIO = "ratio"  # its entries add up to an absurd multiple of the zip's size


@dataclass(frozen=True)
class ZipLimits:
    entries: int = MAX_ZIP_ENTRIES
    unpacked: int | None = None  # bytes: the most all entries together may declare
    ratio: int = MAX_ZIP_RATIO
    ratio_floor: int = ZIP_RATIO_FLOOR


@dataclass(frozen=True)
class ZipRefusal:
    """Why a zip is not opened at all; `found` and `limit` are entries or bytes."""

    problem: ZipProblem
    name: str
    found: int = 0
    limit: int = 0
    size: int = 0  # the zip's own size in bytes

    def __str__(self) -> str:
        if self.problem is ZipProblem.CORRUPT:
            return f"{self.name} is not a valid zip file"
        if self.problem is ZipProblem.ENTRIES:
            return (f"{self.name} holds {self.found:,} files; the limit is {self.limit:,} per "
                    "zip: split it into smaller zips")
        if self.problem is ZipProblem.UNPACKED:
            return (f"{self.name} would unpack to {_size(self.found)}; the limit is "
                    f"{_size(self.limit)} per zip: split it into smaller zips")
        return (f"{self.name} says it unpacks to {_size(self.found)} from "
                f"{_size(self.size)}, more than {self.limit} times its size: refused as a "
                "likely zip bomb")


def _size(size: int) -> str:
    if size < 2**20:
        return f"{size / 2**10:,.1f} KB"
    return f"{size / 2**20:,.1f}".removesuffix(".0") + " MB"


def _end_record(path: Path) -> tuple[int, int] | None:
    """(entries, central directory bytes) as the zip's end record declares them, read before
    zipfile loads the whole directory; None when there is no end record."""
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        start = max(0, size - 22 - 65_535)  # the record, and a comment of up to 64 KiB
        file.seek(start)
        tail = file.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None
        entries, directory = struct.unpack_from("<HI", tail, at + 10)
        if entries != 0xFFFF and directory != 0xFFFFFFFF:
            return entries, directory
        # Zip64: a locator just before the end record points at the larger record.
        if start + at < 20:
            return None
        file.seek(start + at - 20)
        locator = file.read(20)
        if locator[:4] != b"PK\x06\x07":
            return None
        file.seek(struct.unpack_from("<Q", locator, 8)[0])
        record = file.read(56)
        if len(record) < 56 or record[:4] != b"PK\x06\x06":
            return None
        entries64, directory64 = struct.unpack_from("<QQ", record, 32)
        return int(entries64), int(directory64)


def check_zip(path: Path, limits: ZipLimits | None = None) -> ZipRefusal | None:
    """A zip bomb, or a zip too big to import at once, refused before anything is unpacked:
    only its directory is read. None: it may be imported."""
    limits = limits or ZipLimits()
    name = path.name
    try:
        size = path.stat().st_size
        end = _end_record(path)
        if end is None:
            return ZipRefusal(ZipProblem.CORRUPT, name)
        if end[0] > limits.entries or end[1] > limits.entries * _ZIP_DIRECTORY_BYTES_PER_ENTRY:
            found = max(end[0], end[1] // _ZIP_DIRECTORY_BYTES_PER_ENTRY)
            return ZipRefusal(ZipProblem.ENTRIES, name, found, limits.entries)
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error):
        return ZipRefusal(ZipProblem.CORRUPT, name)
    except OSError as exc:
        raise InvalidInput(f"{path} cannot be read ({exc.strerror})") from exc
    if len(entries) > limits.entries:  # the end record may understate them
        return ZipRefusal(ZipProblem.ENTRIES, name, len(entries), limits.entries)
    unpacked = sum(info.file_size for info in entries)
    if limits.unpacked is not None and unpacked > limits.unpacked:
        return ZipRefusal(ZipProblem.UNPACKED, name, unpacked, limits.unpacked, size)
    if unpacked > limits.ratio_floor and unpacked > limits.ratio * max(size, 1):
        return ZipRefusal(ZipProblem.RATIO, name, unpacked, limits.ratio, size)
    return None


def _zip_units(path: Path, stack: ExitStack) -> list[_Unit]:
    refusal = check_zip(path)
    if refusal is not None and refusal.problem is not ZipProblem.CORRUPT:
        raise InvalidInput(f"{refusal}.")
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
    except (zipfile.BadZipFile, EOFError, ValueError):
        return [_Unit(path.name, partial(_rejected, path.name, "not a valid zip file"))]
    except OSError as exc:
        raise InvalidInput(f"{path} cannot be read ({exc.strerror})") from exc
    lock = threading.Lock()  # one reader at a time on the shared archive; decoding stays parallel
    units = []
    for info in sorted(archive.infolist(), key=lambda i: _natural(_entry_name(i))):
        name = _entry_name(info)
        source = f"{path.name}:{name}"
        if _is_unsafe(info.filename) or _is_unsafe(name):
            refuse = partial(_rejected, source, "unsafe path in zip")
            units.append(_Unit(source, refuse, job=refuse))
        elif not info.is_dir() and not any(_is_junk(part) for part in name.split("/")):
            units.append(_Unit(source, partial(_image_from_zip, archive, info, lock, source),
                               name, partial(_zip_bytes, archive, info, lock, source),
                               partial(_image_in_worker, path, info, source)))
    return units


def _image_from_zip(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, lock: threading.Lock, source: str
) -> _Outcome:
    data = _zip_bytes(archive, info, lock, source)
    return _outcome(data if isinstance(data, Rejected) else prepare_image(data, source))


# A worker process's own handles on the zips it reads from (one per import: the pool, and
# with it the worker, ends with the import). Never used in the importing process itself.
_worker_archives: dict[Path, tuple[zipfile.ZipFile, threading.Lock]] = {}


def _image_in_worker(path: Path, info: zipfile.ZipInfo, source: str) -> _Outcome:
    if path not in _worker_archives:
        try:
            _worker_archives[path] = zipfile.ZipFile(path), threading.Lock()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return _rejected(source, "corrupt file in zip")  # changed since it was planned
    archive, lock = _worker_archives[path]
    return _image_from_zip(archive, info, lock, source)


def _zip_bytes(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, lock: threading.Lock, source: str
) -> bytes | Rejected:
    if info.file_size > MAX_ENTRY_BYTES:
        return Rejected(source, _file_too_large(info.file_size))
    if info.flag_bits & 0x1:
        return Rejected(source, "password-protected file in zip")
    try:
        with lock, archive.open(info) as entry:
            data = entry.read(MAX_ENTRY_BYTES + 1)  # bounded: the header may lie about the size
    except NotImplementedError:
        return Rejected(source, "unsupported compression in zip")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return Rejected(source, "corrupt file in zip")
    return data if len(data) <= MAX_ENTRY_BYTES else Rejected(source, _file_too_large(None))


def _image_from_file(path: Path, source: str) -> _Outcome:
    data = _read_file(path, source)
    return _outcome(data if isinstance(data, Rejected) else prepare_image(data, source))


def _texts_from_file(path: Path, known: KnownSpec | None = None) -> _Outcome:
    data = _read_file(path, path.name)
    return ([], [data]) if isinstance(data, Rejected) else read_texts(data, path.name, known)


def _read_file(path: Path, source: str) -> bytes | Rejected:
    try:
        size = path.stat().st_size
        if size > MAX_ENTRY_BYTES:
            return Rejected(source, _file_too_large(size))
        with path.open("rb") as file:
            data = file.read(MAX_ENTRY_BYTES + 1)  # bounded: the file may grow while we read
    except OSError as exc:
        return Rejected(source, f"cannot read file ({exc.strerror or 'error'})")
    return data if len(data) <= MAX_ENTRY_BYTES else Rejected(source, _file_too_large(None))


def _is_image_file(path: Path) -> bool:
    """A lone file is taken as an image by its name, or failing that by its header."""
    suffix = path.suffix.lower()
    if suffix in Image.registered_extensions() or suffix in (".heic", ".heif"):
        return True
    try:
        with open_image(path):
            return True
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return True
    except Exception:  # whatever Pillow cannot identify is simply "not an image file"
        return False


def _entry_name(info: zipfile.ZipInfo) -> str:
    """Windows' built-in zip writes Korean names in CP949 without saying so; undo the mojibake."""
    if info.flag_bits & 0x800:  # names flagged as UTF-8 were decoded right
        return info.filename
    raw = info.filename.encode("cp437")  # zipfile decoded unflagged names as CP437
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _is_unsafe(name: str) -> bool:
    name = name.replace("\\", "/")
    return name.startswith("/") or bool(re.match(r"[A-Za-z]:", name)) or ".." in name.split("/")


def _is_junk(name: str) -> bool:
    """Hidden files and OS droppings (.DS_Store, __MACOSX, Thumbs.db) are not anyone's work."""
    return name.startswith(".") or name.lower() in _JUNK_NAMES


def _natural(name: str) -> tuple[list[str | int], str]:
    """Sort "IMG_2" before "IMG_10", as a person would expect the items to come."""
    parts = re.split(r"(\d+)", name.lower(), flags=re.ASCII)
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def _file_too_large(size: int | None) -> str:
    found = f"{size / 2**20:.1f} MB; " if size else ""
    return f"file too large ({found}the limit is {MAX_ENTRY_BYTES // 2**20} MB)"


def _outcome(result: PreparedItem | Rejected) -> _Outcome:
    return ([], [result]) if isinstance(result, Rejected) else ([result], [])


def _rejected(source: str, reason: str) -> _Outcome:
    return [], [Rejected(source, reason)]


# ---- the import ---------------------------------------------------------------------------


def kind_of(path: Path) -> ItemKind:
    """What a path would bring in: sentences from .csv / .jsonl, pictures from anything else."""
    return ItemKind.TEXT if path.suffix.lower() in _TEXT_SUFFIXES else ItemKind.IMAGE


def check_kind(project_name: str, present: set[ItemKind], path: Path) -> None:
    """A project holds pictures or sentences, not both: one screen shape for the worker, and
    one edit per answer."""
    incoming = kind_of(path)
    if present and incoming not in present:
        held = "pictures" if ItemKind.IMAGE in present else "sentences"
        brought = "pictures" if incoming is ItemKind.IMAGE else "sentences"
        raise InvalidInput(
            f'Project "{project_name}" holds {held}; put {brought} in a project of their own '
            "(haru project create)."
        )


async def import_path(
    sink: ItemSink,
    project_id: int,
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    known: KnownSpec | None = None,
) -> ImportReport:
    """Import everything under `path`; with `known`, as gold or practice items with their
    answers. A sink failure propagates: re-running is safe, since what was already stored
    comes back as duplicates."""
    with ExitStack() as stack:
        units = await asyncio.to_thread(_plan, path, stack, known)
        if known is None or kind_of(path) is ItemKind.TEXT:
            return await _run(_Target(sink, project_id, known), units, progress)
        units, sheet, rejected = await asyncio.to_thread(_split_sheets, units, known, path)
        target = _Target(sink, project_id, known, sheet)
        report = await _run(target, units, progress)
        report.rejected[:0] = rejected
        report.rejected.extend(
            Rejected(row.source, f"no picture named {row.path}")
            for row in sheet.rows if row.source not in target.matched
        )
        return report


@dataclass
class _Target:
    """Where prepared items go; gold and practice pictures get their answers on the way."""

    sink: ItemSink
    project_id: int
    known: KnownSpec | None
    sheet: AnswerSheet | None = None
    matched: set[str] = field(default_factory=set)  # sheet rows that found their picture

    async def add(self, unit: _Unit, items: Sequence[PreparedItem], report: ImportReport) -> None:
        if self.known is None:
            imported, duplicates = await self.sink.add_items(self.project_id, items)
        else:
            if self.sheet is not None:
                items = self._answered(unit, items, report)
            imported, duplicates, rejected = await self.sink.add_known(
                self.project_id, items, self.known.role
            ) if items else (0, 0, [])
            report.rejected.extend(rejected)
        report.imported += imported
        report.duplicates += duplicates

    def _answered(
        self, unit: _Unit, items: Sequence[PreparedItem], report: ImportReport
    ) -> list[PreparedItem]:
        assert self.sheet is not None
        found = self.sheet.find(unit.key)
        if found is None:
            report.rejected.append(Rejected(unit.source, f"not on the answer sheet "
                                                         f"({self.sheet.name})"))
            return []
        self.matched.add(found.source)
        return [replace(item, answer=found.answer) for item in items]


async def _run(
    target: _Target, units: list[_Unit], progress: Callable[[int, int], None] | None,
) -> ImportReport:
    report = ImportReport()
    # Worker processes for two pictures or more; a lone picture or CSV is prepared on a thread
    # here, since starting a process would cost more than it saves.
    jobs = sum(unit.job is not None for unit in units)
    workers = Workers(min(_WORKERS, jobs)) if _WORKERS > 1 and jobs > 1 else None
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="haru-import")
    queue = iter(units)
    pending: deque[asyncio.Task[_Outcome]] = deque()
    try:
        if progress:
            progress(0, len(units))
        for done in range(1, len(units) + 1):
            while len(pending) < _LOOKAHEAD and (unit := next(queue, None)) is not None:
                pending.append(asyncio.create_task(_prepare(unit, workers, thread)))
            items, rejected = await pending.popleft()  # in order: item order = import order
            report.rejected.extend(rejected)
            if items:
                await target.add(units[done - 1], items, report)
            if progress:
                progress(done, len(units))
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if workers is not None:
            await workers.close()
        # Waits for a decode under way; the zip must not close under a reader.
        thread.shutdown(wait=True, cancel_futures=True)
    return report


async def _prepare(unit: _Unit, workers: Workers | None, thread: ThreadPoolExecutor) -> _Outcome:
    if workers is None or unit.job is None:
        return await asyncio.get_running_loop().run_in_executor(thread, unit.work)
    try:
        return await workers.run(unit.job)
    except WorkerDied:
        # A decoder that crashes on a hostile file takes only its worker down with it.
        log.warning("%s: the worker process preparing it died", unit.source, exc_info=True)
        return _rejected(unit.source, "could not be decoded (it crashed the image decoder)")
