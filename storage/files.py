"""Files written whole or not at all: a temporary file beside the target, renamed into place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_beside(target: Path) -> tuple[Path, int]:
    """A new file in the target's folder (same filesystem, so os.replace is atomic); created
    0o666 through the umask like any new file, where mkstemp would make it private."""
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def put_in_place(temp: Path, target: Path, *, force: bool) -> None:
    """Rename `temp` to `target`. Without `force`, only if nothing is there, also if something
    appeared meanwhile: FileExistsError then, and `temp` stays where it is."""
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # fails if the name is taken, in one step
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links
        if target.exists() or target.is_symlink():
            raise FileExistsError(target) from None
        os.replace(temp, target)


def write_whole(target: Path, data: bytes) -> None:
    """Write `data` to `target` (replacing it), never leaving half a file behind."""
    temp, descriptor = temp_beside(target)
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
