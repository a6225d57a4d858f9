"""alco.process stands alone: the standard library (and setproctitle for the supervisor's
process titles), nothing of the rest of ALCO, so that the clients can use it too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "alco" / "process"
ALLOWED = {"setproctitle"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_imports_only_the_standard_library_and_itself(path: Path) -> None:
    foreign = {n for n in imported(path)
               if n.split(".")[0] not in sys.stdlib_module_names | ALLOWED
               and n != "alco.process" and not n.startswith("alco.process.")}
    assert foreign == set()
