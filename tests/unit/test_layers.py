"""Dependencies run one way: a lower package never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "alco"

# Lower number = lower layer.  A package may import its own modules and lower layers only.
RANK = {
    "config": 0, "errors": 0, "metrics": 0,
    "process": 1,
    "index": 2,
    "linestore": 2.5,  # the line store: kept lines by id (alco.index gets it injected)
    "catalog": 3,  # Redis: what the indexes hold (field values, columns, shortcuts, newest line)
    "search": 4,
    "ingest": 5, "web": 5,
    "cli": 6, "__main__": 7,
}
# What applications install (pip install alco): the clients import nothing of the server.
# alco.process is stdlib only (backoff, signals) and imports no other alco package.
CLIENT_ALLOWED = {"clients", "errors", "process"}


def unit_of(module: str) -> str:
    """``alco.index.schema`` -> ``index``; ``alco.config`` -> ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def alco_imports(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("alco.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "alco":
                found += [f"alco.{a.name}" for a in node.names]
            elif node.module.startswith("alco."):
                found.append(node.module)
    return found


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def owner(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def violations(path: Path, source: str | None = None) -> list[str]:
    mine = owner(path)
    bad = []
    for module in alco_imports(path.read_text() if source is None else source):
        theirs = unit_of(module)
        if theirs in ("", "__version__") or theirs == mine:
            continue
        if mine in ("clients", "handler"):
            if theirs not in CLIENT_ALLOWED:
                bad.append(module)
        elif mine in RANK and theirs in RANK and RANK[theirs] >= RANK[mine]:
            bad.append(module)
        elif mine in RANK and theirs in ("clients", "handler") and mine != "cli":
            bad.append(module)
    return bad


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    assert violations(path) == [], f"{path.relative_to(ROOT)} imports a higher layer"


def test_the_check_sees_a_lower_package_importing_a_higher_one() -> None:
    source = "from alco.ingest.records import normalise\nfrom alco import web\n"
    assert violations(ROOT / "index" / "probe.py", source) == ["alco.ingest.records", "alco.web"]
    assert violations(ROOT / "clients" / "probe.py", "import alco.index.sphinxql\n") == [
        "alco.index.sphinxql"]


def test_every_package_has_a_layer() -> None:
    units = {owner(p) for p in modules()}
    assert units - set(RANK) - {"clients", "handler"} == set()
