"""`haru data` commands (being built)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

from bot.config import Config

Command = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    return None


COMMANDS: dict[tuple[str, ...], Command] = {}
