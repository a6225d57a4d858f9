"""The ``alco`` command line: one registry of commands."""

from alco.cli.main import main

__all__ = ["main"]
