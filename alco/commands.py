"""Client and maintenance commands of the ``alco`` CLI: grep, send, rebuild-values."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from alco.config import Config

COMMANDS: dict[str, Callable[[argparse.Namespace, Config], int]] = {}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the subcommands of this module on the main parser."""
