"""Work sent in Telegram: a coordinator sends a .zip of pictures, a .csv / .jsonl of sentences or
one picture *as a file*, with the caption `/import PROJECT` (or `/import PROJECT gold`,
`/import PROJECT practice`). It goes through the same import as `haru import`.

Everything that can be checked without the file is checked first, and only a coordinator's
file is ever downloaded. The download and the import run beside the bot's other work (a big
zip takes a while; workers keep tapping meanwhile), one import at a time, in a temporary
folder that is always removed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from html import escape
from pathlib import Path, PureWindowsPath
from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import FileSizeLimit
from telegram.error import BadRequest, NetworkError
from telegram.ext import ContextTypes

from bot.coord_tools import no_project, on_import_command
from bot.coordinators import coordinator_of
from bot.handlers import on_message
from bot.i18n import t
from bot.services import Haru
from storage.repo import SqlItemSink
from tasks.errors import InvalidInput
from tasks.importing import (
    ImportReport,
    ZipLimits,
    ZipRefusal,
    check_kind,
    check_zip,
    import_path,
    kind_of,
)
from tasks.known import KnownSpec
from tasks.model import ItemKind, Project, Role

log = logging.getLogger(__name__)

# The cloud Bot API lets a bot download files of up to 20 MB (getFile); bigger files go
# through `haru import` on the server.
MAX_DOWNLOAD_BYTES = FileSizeLimit.FILESIZE_DOWNLOAD
# A zip from Telegram is at most 20 MB: more than 20,000 entries, or more than 1 GB unpacked
# (50 times its size), is not a coordinator's pictures. Checked before anything is unpacked.
BOT_ZIP_LIMITS = ZipLimits(entries=20_000, unpacked=2**30)
MAX_REASONS = 5  # rejected files named in the report; `haru import` lists them all
MAX_SOURCE_CHARS = 80
MAX_REASON_CHARS = 200
IMPORT_CAPTION = re.compile(r"^\s*/import(?:@\w+)?(?:\s+(?P<args>.*))?$",
                            re.IGNORECASE | re.DOTALL)
_SUFFIXES = frozenset({".zip", ".csv", ".jsonl", ".jpg", ".jpeg", ".png", ".webp"})
BACKGROUND = "background"  # bot_data: the imports running now (awaited at shutdown)
_LOCK = "import_lock"

# The import's reasons that are always the same words, in the coordinator's language. The
# others (sizes, line numbers, answers) are shown as the import words them, as in the CLI.
_REASONS = {
    "not a valid zip file": "reason_not_zip",
    "unsafe path in zip": "reason_unsafe_path",
    "corrupt file in zip": "reason_corrupt_entry",
    "password-protected file in zip": "reason_password",
    "unsupported compression in zip": "reason_compression",
    "empty file": "reason_empty_file",
    "not an image": "reason_not_image",
    "corrupt or truncated image": "reason_corrupt_image",
    "not UTF-8 text": "reason_not_utf8",
    "no 'text' column": "reason_no_text_column",
    "no 'answer' column": "reason_no_answer_column",
    "no rows under the header": "reason_no_rows",
    "empty text": "reason_empty_text",
    "not valid JSON": "reason_not_json",
    "no 'text' string": "reason_no_text",
    "no answer": "reason_no_answer",
}


@dataclass(frozen=True)
class ImportRequest:
    project: Project
    role: Role | None
    file_id: str
    file_name: str


def _haru(context: ContextTypes.DEFAULT_TYPE) -> Haru:
    haru: Haru = context.application.bot_data["haru"]
    return haru


def safe_name(name: str | None) -> str:
    """The file's own name, without any folder (Telegram passes on what the sender's phone
    said), short enough for any filesystem."""
    base = PureWindowsPath(name or "").name  # splits on "/" and "\\" alike
    base = "".join(c for c in base if c.isprintable()).strip().lstrip(".")
    if len(base) > 120:
        suffix = Path(base).suffix[:10]
        base = base[: 120 - len(suffix)] + suffix
    return base or "upload"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


async def on_import_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file with the caption /import PROJECT: a coordinator's work. Anyone else gets what
    any other message gets them, and nothing is downloaded."""
    haru, message = _haru(context), update.effective_message
    coordinator = await coordinator_of(haru, update)
    if coordinator is None or message is None or message.document is None:
        await on_message(update, context)
        return
    request = await _request(haru, message, coordinator.lang)
    if request is None:
        return
    await message.reply_html(t(coordinator.lang, "import_started",
                               file=escape(request.file_name)))
    lock = context.application.bot_data.setdefault(_LOCK, asyncio.Lock())
    _in_background(context, update,
                   partial(_import, haru, context.bot, message, coordinator.lang, request, lock))


async def on_other_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file without /import, or a picture sent as a photo with /import: how to send work."""
    haru, message = _haru(context), update.effective_message
    coordinator = await coordinator_of(haru, update)
    if coordinator is None or message is None:
        await on_message(update, context)
        return
    if message.document is None:  # compressed by Telegram: too small to label, and renamed
        await message.reply_html(t(coordinator.lang, "import_photo"))
        return
    await on_import_command(haru, coordinator, update)


async def _request(haru: Haru, message: Message, lang: str) -> ImportRequest | None:
    """The import asked for, if it can be done; otherwise the coordinator is told why."""
    document = message.document
    match = IMPORT_CAPTION.match(message.caption or "")
    assert document is not None and match is not None
    # The first line names the project; a note on the lines below it is the coordinator's.
    words = (match.group("args") or "").strip().split("\n", 1)[0].split()
    role = None
    if len(words) == 2 and words[1].lower() in (Role.GOLD, Role.PRACTICE):
        role, words = Role(words[1].lower()), words[:1]
    if len(words) != 1:
        async with haru.store.reader() as repo:
            names = await repo.project_names()
        example = f"/import {names[0] if names else 'animals'}"
        await message.reply_html(t(lang, "import_usage", example=escape(example)))
        return None
    name = safe_name(document.file_name)
    if Path(name).suffix.lower() not in _SUFFIXES:
        await message.reply_html(t(lang, "import_type", file=escape(name)))
        return None
    async with haru.store.reader() as repo:
        project = await repo.project_by_name(words[0])
        kinds = await repo.item_kinds(project.id) if project is not None else set()
        names = await repo.project_names()
    if project is None:
        await message.reply_html(no_project(lang, words[0], names))
        return None
    try:
        check_kind(project.name, kinds, Path(name))
    except InvalidInput:
        held = ItemKind.IMAGE if ItemKind.IMAGE in kinds else ItemKind.TEXT
        await message.reply_html(t(lang, "import_kind", project=escape(project.name),
                                   held=t(lang, f"kind_{held}"),
                                   brought=t(lang, f"kind_{kind_of(Path(name))}")))
        return None
    if document.file_size is not None and document.file_size > MAX_DOWNLOAD_BYTES:
        await _too_big(message, lang, document.file_size)
        return None
    return ImportRequest(project, role, document.file_id, name)


async def _too_big(message: Message, lang: str, size: int | None) -> None:
    limit = _mb(MAX_DOWNLOAD_BYTES).removesuffix(".0")
    if size is None:
        await message.reply_html(t(lang, "import_too_big_unknown", limit=limit))
    else:
        await message.reply_html(t(lang, "import_too_big", size=_mb(size), limit=limit))


def _in_background(context: ContextTypes.DEFAULT_TYPE, update: Update,
                   work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work()` beside the bot's other updates; an unexpected error goes to the error
    handlers like any other."""
    running: set[asyncio.Task[None]] = context.application.bot_data.setdefault(BACKGROUND,
                                                                               set())

    async def guarded() -> None:
        try:
            await work()
        except Exception as exc:
            await context.application.process_error(update, exc)

    task = asyncio.create_task(guarded(), name="haru-import")
    running.add(task)
    task.add_done_callback(running.discard)


async def _import(haru: Haru, bot: Bot, message: Message, lang: str, request: ImportRequest,
                  lock: asyncio.Lock) -> None:
    try:
        async with lock:  # one at a time: the database and the CPU stay calm for the workers
            with tempfile.TemporaryDirectory(prefix="haru-import-") as folder:
                text = await _import_file(haru, bot, message, lang, request,
                                          Path(folder) / request.file_name)
    except Exception:
        # Never left at "adding the work…". Sending the file again is safe: what went in
        # already comes back as duplicates.
        await message.reply_html(t(lang, "import_error"))
        raise
    if text is not None:
        await message.reply_html(text)


async def _import_file(haru: Haru, bot: Bot, message: Message, lang: str,
                       request: ImportRequest, path: Path) -> str | None:
    """Download, check and import; the words to answer with (None: answered already)."""
    if not await _download(bot, message, lang, request, path):
        return None
    if path.suffix.lower() == ".zip":
        refusal = await asyncio.to_thread(check_zip, path, BOT_ZIP_LIMITS)
        if refusal is not None:
            return _refusal(lang, refusal)
    project = request.project
    known = (KnownSpec(request.role, project.choices, project.question)
             if request.role is not None else None)
    try:
        report = await import_path(SqlItemSink(haru.store), project.id, path, known=known)
    except InvalidInput as exc:
        return t(lang, "import_refused", reason=escape(str(exc)))
    return report_text(lang, request, report)


async def _download(bot: Bot, message: Message, lang: str, request: ImportRequest,
                    path: Path) -> bool:
    try:
        file = await bot.get_file(request.file_id)
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            await _too_big(message, lang, file.file_size)
            return False
        await file.download_to_drive(path)
    except BadRequest as exc:  # before NetworkError: it is one
        if "too big" in exc.message.lower():
            await _too_big(message, lang, None)
        else:
            log.warning("could not download a file to import: %s", exc)
            await message.reply_html(t(lang, "import_download_failed"))
        return False
    except NetworkError as exc:
        log.warning("could not download a file to import: %s", exc)
        await message.reply_html(t(lang, "import_download_failed"))
        return False
    return True


def _refusal(lang: str, refusal: ZipRefusal) -> str:
    """Entries as a count; sizes in MB of 2**20 bytes, as `haru import` gives them."""
    def mb(size: int) -> str:
        return f"{size / 2**20:,.1f}".removesuffix(".0")

    found = f"{refusal.found:,}" if refusal.problem == "entries" else mb(refusal.found)
    limit = mb(refusal.limit) if refusal.problem == "unpacked" else f"{refusal.limit:,}"
    return t(lang, f"import_zip_{refusal.problem}", found=found, limit=limit)


def reason_text(lang: str, reason: str) -> str:
    key = _REASONS.get(reason)
    if key:
        return t(lang, key)
    return reason if len(reason) <= MAX_REASON_CHARS else reason[:MAX_REASON_CHARS] + "…"


def report_text(lang: str, request: ImportRequest, report: ImportReport) -> str:
    """What `haru import` prints, in the coordinator's words (HTML)."""
    what = str(request.role) if request.role else str(kind_of(Path(request.file_name)))
    lines = [t(lang, "import_done", project=escape(request.project.name),
               what=t(lang, f"import_what_{what}"), imported=f"{report.imported:,}"),
             t(lang, "import_counts", duplicates=f"{report.duplicates:,}",
               rejected=f"{len(report.rejected):,}")]
    if report.rejected:
        lines.append(t(lang, "import_reasons"))
        for rejected in report.rejected[:MAX_REASONS]:
            source = rejected.source
            if len(source) > MAX_SOURCE_CHARS:
                source = "…" + source[-MAX_SOURCE_CHARS:]
            lines.append(f"• {escape(source)}: {escape(reason_text(lang, rejected.reason))}")
        if len(report.rejected) > MAX_REASONS:
            lines.append(t(lang, "import_more", count=len(report.rejected) - MAX_REASONS))
    return "\n".join(lines)
