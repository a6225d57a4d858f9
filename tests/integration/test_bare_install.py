"""`pip install alco` without extras: the handler, `alco send` and `alco grep` work with only
pika and orjson; the server modules are absent and the server commands say which extra they need.

The package is built from a copy of the source tree and installed into a fresh virtualenv, all
under the test's temp dir (no pip cache), then used against a running ALCO stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.helpers import stored_count, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("alco", "pyproject.toml", "setup.py", "README.md")
SERVER_MODULES = ("MySQLdb", "starlette", "redis", "uvicorn", "prometheus_client")
LOG_ONE_LINE = textwrap.dedent("""
    import logging, sys
    from alco.handler import AMQPHandler

    url, exchange, message = sys.argv[1:]
    handler = AMQPHandler(url, exchange=exchange, project="bare", application="install")
    logger = logging.getLogger("bare.install")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info(message)
    handler.close()  # flushes: the broker confirmed the line when this returns
    sys.exit(0 if (handler.published, handler.dropped) == (1, 0) else 1)
""")


class BareVenv:
    """A virtualenv of its own (no system site-packages) with ``alco`` installed, no extras."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.dir = tmp / "venv"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("ALCO_", "PYTHON", "VIRTUAL_ENV", "PIP_CACHE"))}
        self.env.update(TMPDIR=str(tmp), PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        self.bin = self.dir / "bin"

    def create(self) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(self.dir)], check=True, env=self.env,
                       timeout=120)
        source = self.tmp / "source"
        for name in SOURCES:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, source / name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                source.mkdir(exist_ok=True)
                shutil.copy2(ROOT / name, source / name)
        out = self.run("pip", "install", "--no-cache-dir", str(source), timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr

    def run(self, program: str, *args: str, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a program of the venv in the temp dir (so the source tree is not importable)."""
        return subprocess.run([str(self.bin / program), *args], input=stdin, text=True,
                              capture_output=True, cwd=self.tmp, env=self.env, timeout=timeout)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> BareVenv:
    venv = BareVenv(tmp_path_factory.mktemp("bare"))
    venv.create()
    return venv


def test_only_pika_and_orjson_come_with_it(bare: BareVenv) -> None:
    for module in SERVER_MODULES:
        out = bare.run("python", "-c", f"import {module}")
        assert out.returncode != 0 and "ModuleNotFoundError" in out.stderr, module
    out = bare.run("python", "-c", "import alco.handler, alco.clients.api, pika, orjson")
    assert out.returncode == 0, out.stderr
    assert bare.run("alco", "--help").returncode == 0


@pytest.mark.parametrize("command", ["collect", "web", "check", "rebuild-values"])
def test_a_server_command_names_the_extra_and_exits_2(bare: BareVenv, command: str) -> None:
    out = bare.run("alco", command)
    assert out.returncode == 2
    assert f"alco {command} needs the server extra: pip install 'alco[server]'" in out.stderr
    assert "Traceback" not in out.stderr


def test_handler_send_and_grep_against_a_running_stack(bare: BareVenv, stack) -> None:
    stack.index()
    stack.start_searchd()
    stack.collector()
    stack.web()
    config = stack.config()
    logged, sent = f"bare{uuid.uuid4().hex[:12]}", f"sent{uuid.uuid4().hex[:12]}"

    out = bare.run("python", "-c", LOG_ONE_LINE, config.rabbitmq.url, stack.exchange,
                   f"{logged} through the handler")
    assert out.returncode == 0, out.stderr
    out = bare.run("alco", "--config", str(stack.config_path), "send", "--index", "logs",
                   stdin=f"{sent} through alco send\n")
    assert out.returncode == 0, out.stderr
    for word in (logged, sent):
        wait_for(lambda w=word: stored_count(config, "logs", q=w) == 1, message=f"{word} stored")

    out = bare.run("alco", "--config", str(stack.config_path), "grep", "--color=never",
                   "--fields", "message", "logs", logged)
    assert (out.returncode, out.stdout) == (0, f"{logged} through the handler\n"), out.stderr
