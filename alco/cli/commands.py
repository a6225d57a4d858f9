"""Client and maintenance commands of the ``alco`` CLI, contributed by their own modules.

Each module named in MODULES defines ``register(sub) -> dict[name, handler]``: it adds its
subparsers and returns the handlers ``handler(args, config) -> exit status``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from alco.config import Config

MODULES = ("alco.cli.grep", "alco.cli.send", "alco.cli.admin")
COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the subcommands of every command module on the main parser."""
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        COMMANDS.update(module.register(sub))
