"""Browser tests: the real stack (searchd, collector, `alco web`) and headless Debian Chromium.

Skipped with a reason when Chromium or the playwright package is missing (scripts/bootstrap.sh
test installs both).  Never downloads browsers: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENV_PASSTHROUGH, RABBIT_URL, Stack, stack_data
from tests.helpers import free_port, to_toml, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for a whole test module (the stack fixture is per test: too slow here)."""
    tmp = tmp_path_factory.mktemp("e2e")
    s = Stack(tmp, stack_data(tmp))
    yield s
    s.cleanup()
    shutil.rmtree(tmp / "sphinx", ignore_errors=True)


def bind_queue(stack: Stack, name: str = "logs") -> None:
    """Declare the index's queue and binding as the consumer does, so that lines published
    before the consumer got there are kept rather than dropped by the exchange."""
    import pika

    ix = next(i for i in stack.data["index"] if i["name"] == name)
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
    ch = conn.channel()
    ch.exchange_declare(stack.exchange, exchange_type="topic")
    ch.queue_declare(ix["queue"], durable=True, auto_delete=False)
    ch.queue_bind(ix["queue"], stack.exchange, routing_key="logstash.#")
    conn.close()


def start_web_with(stack: Stack, **web: Any) -> str:
    """Another `alco web` on the stack, on a port of its own, with its own config: the stack's,
    the [web] table changed by ``web`` (e.g. ``time_budget=0.01``).  Return its base URL."""
    from alco.index.searchd import port_answers

    port = free_port()
    data = copy.deepcopy(stack.data)
    data["web"] = {**data["web"], **web, "bind": f"127.0.0.1:{port}"}
    path = stack.tmp / f"alco-web-{port}.toml"
    path.write_text(to_toml(data))
    log_path = stack.tmp / f"web-{port}.log"
    proc = subprocess.Popen([sys.executable, "-m", "alco", "--config", str(path), "web"],
                            env=ENV_PASSTHROUGH, stdout=subprocess.DEVNULL,
                            stderr=open(log_path, "ab"))
    stack.procs.append(proc)  # stopped by the stack's cleanup
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
             message="web app port")
    assert proc.poll() is None, log_path.read_text()
    return f"http://127.0.0.1:{port}"


def start_web(stack: Stack) -> str:
    """Start `alco web` on the stack's port; return its base URL once it answers."""
    from alco.index.searchd import port_answers

    log = open(stack.tmp / "web.log", "ab")
    proc = stack.alco("web", stdout=subprocess.DEVNULL, stderr=log)
    port = int(stack.data["web"]["bind"].rsplit(":", 1)[1])
    wait_for(lambda: port_answers("127.0.0.1", port) or proc.poll() is not None,
             message="web app port")
    assert proc.poll() is None, (stack.tmp / "web.log").read_text()
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium, or scripts/bootstrap.sh test)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = context.new_page()
    errors: list[str] = []  # uncaught exceptions and Content-Security-Policy violations
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text)
          if "Content Security Policy" in msg.text else None)
    pg.set_default_timeout(10_000)
    pg.js_errors = errors
    yield pg
    context.close()
    assert not errors, errors


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
