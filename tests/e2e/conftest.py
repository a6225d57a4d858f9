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


# --- lines of several shippers, hosts and levels (the facets, time and traceback pages) ------

JAVA_TRACE = ("java.lang.IllegalStateException: cart is empty\n"
              "\tat shop.Cart.checkout(Cart.java:42)\n\tat shop.Api.post(Api.java:17)\n"
              "\tat shop.Server.handle(Server.java:90)")


def python_trace(i: int) -> str:
    return ("Traceback (most recent call last):\n"
            f'  File "shop/pay.py", line {i}, in charge\n    amount / count\n'
            '  File "shop/util.py", line 3, in div\n    return a / b\n'
            f"ZeroDivisionError: division by zero (order {i})")


def varied_bodies(n: int, every_s: int = 10) -> list[bytes]:
    """``n`` lines ``every_s`` apart, the newest a minute before now (when they are made, not
    when the tests were imported: a page's last hour still holds them all): hosts web1
    (60 %), web2 (30 %), db1 (10 %); ERROR every 10th line, WARNING every other 5th, else
    INFO.  Every 3rd line comes from a shipper that says ``level`` / ``logger_name`` /
    ``stack_trace`` instead of ``levelname`` / ``logger`` / ``exc_info``.  Every 20th line
    carries a traceback."""
    import datetime

    import orjson

    from tests.helpers import base_time

    newest = base_time()
    out = []
    for i in range(n):
        ts = newest - datetime.timedelta(seconds=every_s * (n - 1 - i))
        host = "web1" if i % 10 < 6 else "web2" if i % 10 < 9 else "db1"
        level = "ERROR" if i % 10 == 0 else "WARNING" if i % 5 == 0 else "INFO"
        body: dict[str, Any] = {"@timestamp": ts.isoformat(), "@version": 1, "host": host,
                                "message": f"order {i} {'failed' if level == 'ERROR' else 'ok'}",
                                "seq": i, "process": 7251}
        other = i % 3 == 2
        body["level" if other else "levelname"] = level
        body["logger_name" if other else "logger"] = "shop.pay" if i % 2 else "shop.cart"
        if i % 20 == 0:
            body["stack_trace" if other else "exc_info"] = JAVA_TRACE if other else python_trace(i)
        out.append(orjson.dumps(body))
    return out


def serve_lines(stack: Stack, bodies: list[bytes], columns: dict[str, str]) -> Stack:
    """The stack with one index ``logs`` of ``columns`` holding ``bodies``, and `alco web`
    (its URL in ``stack.base_url``)."""
    from tests.helpers import publish, stored_count, wait_for

    stack.index(columns=columns)
    stack.start_searchd()
    bind_queue(stack)
    stack.collector()
    publish(stack.data["rabbitmq"]["url"], stack.exchange, bodies, "logstash.shop")
    config = stack.config()
    wait_for(lambda: stored_count(config) >= len(bodies), timeout=60, interval=0.2,
             message="lines stored")
    stack.base_url = start_web(stack)
    return stack


@pytest.fixture
def zoned_page(browser: Any) -> Iterator[Any]:
    """A page whose browser is in Asia/Kolkata (UTC+05:30 all year: no daylight saving)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720},
                                  timezone_id="Asia/Kolkata")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    pg.js_errors = errors
    yield pg
    context.close()
    assert not errors, errors
