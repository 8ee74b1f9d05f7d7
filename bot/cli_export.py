"""`haru export PROJECT --format FORMAT --out PATH [--all] [--force]`: a project's labels for AI
teams. Formats and their columns: review/export.py.

Only finished work items (decided by agreement, the model or a coordinator) unless --all. The
place is checked before anything is read. The export is written to a temporary file or folder
beside PATH and renamed into place when complete, so PATH is never half written; on any failure
the temporary is removed and PATH is as it was (with --force, an old export is replaced only
once the new one is whole). label-studio also writes its labeling config beside PATH, as
PATH's name with `.label-config.xml` for its suffix (`tasks.json` -> `tasks.label-config.xml`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TextIO

import aiosqlite

from bot.config import Config
from review.export import (
    AnswersWriter,
    CsvWriter,
    ImageFolderWriter,
    JsonlWriter,
    LabelStudioWriter,
    Writer,
    class_names,
    label_config,
)
from storage import exports
from storage.db import Database
from storage.files import put_in_place, temp_beside
from storage.repo import Store
from tasks.errors import InvalidInput, NotFound, TaskError
from tasks.model import ItemKind, Project

FORMATS = ("csv", "jsonl", "label-studio", "imagefolder", "answers")
CONFIG_SUFFIX = ".label-config.xml"

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser(
        "export", help="a project's labels for AI teams (csv, jsonl, label-studio, "
                       "imagefolder, answers)",
        description="Write a project's finished labels (by agreement, the model or a "
                    "coordinator) in a format AI teams read. Workers appear only under "
                    "pseudonyms. The file appears whole or not at all.",
    )
    export.add_argument("project", help="the project's name")
    export.add_argument("--format", required=True, metavar="FORMAT",
                        help="csv, jsonl, label-studio (tasks with predictions, and a "
                             "labeling config beside them), imagefolder (a folder of label "
                             "folders and metadata.csv) or answers (worker,task,label)")
    export.add_argument("--out", required=True, type=Path, metavar="PATH",
                        help="the file to write (a folder for imagefolder)")
    export.add_argument("--all", dest="everything", action="store_true",
                        help="every work item, unfinished ones too, with its current label")
    export.add_argument("--force", action="store_true", help="replace PATH if it exists")


def check_format(text: str) -> str:
    found = text.strip().lower()
    if found not in FORMATS:
        raise InvalidInput(f'unknown format "{text}": use csv, jsonl, label-studio, '
                           "imagefolder or answers")
    return found


def config_path(out: Path) -> Path:
    """Where label-studio's labeling config goes: beside the tasks, named after them."""
    return out.with_name(out.stem + CONFIG_SUFFIX)


def _no_project(name: str) -> NotFound:
    return NotFound(f'There is no project called "{name}". See `haru project list`.')


def _is_database(path: Path, database: Path) -> bool:
    """The database or one of SQLite's files beside it (writing there would destroy it)."""
    for one in (database, *(database.with_name(database.name + end)
                            for end in ("-wal", "-shm", "-journal"))):
        if path.resolve() == one.resolve():
            return True
        if path.exists() and one.exists() and path.samefile(one):
            return True
    return False


def _named(out: Path) -> Path:
    """".", "sub/..": the folder by its own name, so a temporary can be made beside it."""
    return Path(os.path.abspath(out)) if out.name in ("", ".", "..") else out


def check_target(path: Path, *, folder: bool, force: bool, database: Path) -> None:
    """Refuse a place before anything is read, so a refusal leaves nothing behind."""
    try:
        if _is_database(path, database):
            raise InvalidInput(f"--out {path} is the database itself: write the export "
                               "somewhere else.")
        if folder and path.exists() and not path.is_dir():
            raise InvalidInput(f"--out {path} is a file: imagefolder writes a folder; give "
                               "the name of a new folder.")
        if not folder and path.is_dir():
            raise InvalidInput(f"--out {path} is a folder: give a file name, "
                               f"e.g. {path / 'export'}.")
        if not path.parent.is_dir():
            raise InvalidInput(f"--out {path}: the folder {path.parent} does not exist.")
        if path.exists() or path.is_symlink():
            if not force:
                raise InvalidInput(f"--out {path} already exists: add --force to replace it.")
            if folder:
                _check_replaceable(path, database)
    except OSError as exc:
        raise TaskError(f"Cannot write {path}: {exc.strerror or exc}") from None


def _check_replaceable(path: Path, database: Path) -> None:
    """--force replaces an earlier export, never a folder that holds anything else."""
    if database.resolve().is_relative_to(path.resolve()):
        raise InvalidInput(f"--out {path} holds the database: write the export somewhere else.")
    if any(path.iterdir()) and not (path / "metadata.csv").is_file():
        raise InvalidInput(f"--out {path} is not an earlier imagefolder export (it has no "
                           "metadata.csv): --force replaces only one of those.")


class _Staged:
    """A temporary file or folder beside its target, put in place whole by `place`."""

    def __init__(self, target: Path, *, folder: bool) -> None:
        self.target, self.folder, self.placed = target, folder, False
        self.descriptor: int | None = None
        if not folder:
            self.temp, self.descriptor = temp_beside(target)
            return
        while True:
            self.temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
            try:
                self.temp.mkdir()
                return
            except FileExistsError:
                continue

    def open(self) -> TextIO:
        assert self.descriptor is not None
        descriptor, self.descriptor = self.descriptor, None
        return open(descriptor, "w", encoding="utf-8", newline="")

    def place(self, force: bool) -> None:
        if self.folder:
            self._place_folder(force)
        else:
            try:
                put_in_place(self.temp, self.target, force=force)
            except FileExistsError:
                raise self._exists() from None
        self.placed = True

    def _exists(self) -> InvalidInput:
        return InvalidInput(f"--out {self.target} already exists: add --force to replace it.")

    def _place_folder(self, force: bool) -> None:
        target = self.target
        if not (target.exists() or target.is_symlink()):
            os.rename(self.temp, target)
            return
        if not force:
            raise self._exists()
        old = target.with_name(f".{target.name}.{secrets.token_hex(6)}.old")
        os.rename(target, old)
        try:
            os.rename(self.temp, target)
        except BaseException:
            os.rename(old, target)
            raise
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)

    def unplace(self) -> None:
        """Take a placed file away again (a later output of the same export failed)."""
        if self.placed and not self.folder:
            self.target.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove the temporary (gone already if it was renamed into place)."""
        if self.descriptor is not None:
            os.close(self.descriptor)
        with contextlib.suppress(OSError):
            if self.folder:
                if not self.placed:
                    shutil.rmtree(self.temp, ignore_errors=True)
            else:
                self.temp.unlink(missing_ok=True)


def _writer(fmt: str, staged: list[_Staged], handles: list[TextIO], project: Project,
            kind: str, key: bytes) -> Writer:
    classes = class_names(project.choices)
    if fmt == "csv":
        return CsvWriter(handles[0], classes)
    if fmt == "jsonl":
        return JsonlWriter(handles[0], classes)
    if fmt == "answers":
        return AnswersWriter(handles[0], classes, key)
    if fmt == "label-studio":
        handles[1].write(label_config(project.question, classes, kind))
        return LabelStudioWriter(handles[0], classes, kind)
    return ImageFolderWriter(staged[0].temp, classes)


async def _fill(conn: aiosqlite.Connection, writer: Writer, project: Project,
                everything: bool) -> None:
    if isinstance(writer, AnswersWriter):
        answers = exports.answers(conn, project.id, everything=everything)
        async with contextlib.aclosing(answers) as rows:
            async for worker_id, item_id, choice in rows:
                writer.add_answer(worker_id, item_id, choice)
        return
    found = exports.items(conn, project.id, len(project.choices), everything=everything)
    async with contextlib.aclosing(found) as items:
        async for item in items:
            image = None
            if writer.wants_image(item):
                assert item.media_id is not None
                image = await exports.picture(conn, item.media_id)  # one at a time
            writer.add(item, image)


async def _write(db: Database, fmt: str, targets: list[Path], project: Project, kind: str,
                 key: bytes, args: argparse.Namespace) -> Writer:
    """The export into temporaries beside the targets, then renamed into place."""
    staged: list[_Staged] = []
    try:
        for target in targets:
            staged.append(_Staged(target, folder=fmt == "imagefolder"))
        with contextlib.ExitStack() as stack:
            handles = [stack.enter_context(s.open()) for s in staged if not s.folder]
            writer = _writer(fmt, staged, handles, project, kind, key)
            stack.callback(writer.close)
            async with exports.snapshot(db) as conn:
                await _fill(conn, writer, project, args.everything)
            writer.finish()
            for handle in handles:
                handle.flush()
                os.fsync(handle.fileno())  # the rename must not land before the data
        if fmt == "imagefolder" and hasattr(os, "sync"):
            os.sync()  # one flush for every picture, rather than an fsync each
        for one in staged:
            try:
                one.place(args.force)
            except BaseException:
                for done in staged:
                    done.unplace()
                raise
    except OSError as exc:
        raise TaskError(f"Cannot write {targets[0]}: {exc.strerror or exc}") from None
    finally:
        for one in staged:
            one.discard()
    return writer


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary(fmt: str, writer: Writer, project: Project, targets: list[Path],
             everything: bool) -> str:
    scope = "all work items" if everything else "finished only"
    where = f'of "{project.name}" ({scope}) as {fmt} to {targets[0]}'
    if isinstance(writer, AnswersWriter):
        return (f"Exported {_count(writer.written, 'answer')} by "
                f"{_count(writer.workers, 'worker')} on {_count(len(writer.tasks), 'item')} "
                f'{where} ("not sure" is no vote: left out)')
    line = f"Exported {_count(writer.written, 'item')} {where}"
    if fmt == "label-studio":
        line += f", with its labeling config in {targets[1]}"
    return line


async def _project(store: Store, name: str, fmt: str) -> tuple[Project, str]:
    async with store.reader() as repo:
        project = await repo.project_by_name(name)
        if project is None:
            raise _no_project(name)
        kinds = await repo.item_kinds(project.id)
    kind = str(ItemKind.TEXT if ItemKind.TEXT in kinds else ItemKind.IMAGE)
    if fmt == "imagefolder" and kind == ItemKind.TEXT:
        raise InvalidInput(f'"{project.name}" has sentences, not pictures: export it with '
                           "--format csv or jsonl.")
    return project, kind


async def export(config: Config, args: argparse.Namespace) -> tuple[str, str | None]:
    """One export as `haru export` makes it (args: project, format, out, everything, force):
    its summary line, and a note for stderr if some items were left out."""
    fmt = check_format(args.format)
    args.out = _named(args.out)
    targets = [args.out, config_path(args.out)] if fmt == "label-studio" else [args.out]
    for target in targets:
        check_target(target, folder=fmt == "imagefolder", force=args.force,
                     database=config.db_path)
    if not config.db_path.is_file():
        raise _no_project(args.project)
    store = Store(await Database.open(config.db_path))
    try:
        project, kind = await _project(store, args.project, fmt)
        key = await exports.export_key(store.db) if fmt == "answers" else b""
        writer = await _write(store.db, fmt, targets, project, kind, key, args)
    finally:
        await store.db.close()
    note = None
    if isinstance(writer, ImageFolderWriter) and writer.skipped:
        note = (f"Left out {_count(writer.skipped, 'item')} without a label: a picture goes in "
                "its label's folder (csv and jsonl list every item).")
    return _summary(fmt, writer, project, targets, args.everything), note


async def cmd_export(args: argparse.Namespace, config: Config) -> int:
    summary, note = await export(config, args)
    print(summary)
    if note:
        print(note, file=sys.stderr)
    return 0


COMMANDS: dict[tuple[str, ...], Command] = {("export",): cmd_export}
