"""The screenshots of docs/page.md, made from a real run: a stack of its own (searchd, the
collector and `alco web` on the local RabbitMQ and Redis, as the tests run them), an hour of
lines shaped like a shop's (bench/common.py's generator; a third of them from a shipper that
says ``level`` / ``logger_name`` / ``stack_trace``), and the page in headless Debian Chromium.

    make screenshots            # = .venv/bin/python scripts/screenshots.py
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Needs the test extra (Playwright) and /usr/bin/chromium (scripts/bootstrap.sh test).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import record  # noqa: E402

from tests.conftest import Stack, stack_data  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_lines  # noqa: E402

LINES = 3600  # one a second, the newest a minute ago
COLUMNS = {"levelname": "filtered", "level": "filtered", "host": "filtered",
           "logger": "filtered", "logger_name": "filtered", "application": "filtered",
           "exc_info": "context", "stack_trace": "context"}
RENAMED = {"levelname": "level", "logger": "logger_name", "exc_info": "stack_trace"}


def bodies(n: int) -> list[bytes]:
    end_us = (int(time.time()) - 60) * 1_000_000
    out = []
    for i in range(n):
        body = record(i, end_us - (n - 1 - i) * 1_000_000)
        if i % 3 == 2:  # another shipper's names for the same things
            body = {RENAMED.get(k, k): v for k, v in body.items()}
        out.append(orjson.dumps(body))
    return out


def shoot(page: Any, out: Path, name: str, clip: dict | None = None) -> None:
    path = out / f"{name}.png"
    page.screenshot(path=str(path), clip=clip)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def take(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720},
                                      timezone_id="Europe/Berlin")
        page = context.new_page()
        page.set_default_timeout(20_000)

        def open_view(path: str) -> None:
            page.goto(base + path)
            page.wait_for_selector("#main > .line")
            page.wait_for_selector("#histogram .bar")
            page.wait_for_timeout(300)

        open_view("/logs")
        page.locator("#side section.facet[data-field=host] .facetbtn").click()
        page.wait_for_selector("#side .facetout .facetrow")
        shoot(page, out, "page-overview")

        open_view("/logs?q=levelname:ERROR")
        page.locator("#side .facetfield").select_option("logger")
        page.locator("#side .facetgo").click()
        page.wait_for_selector("#side .facetout[data-field=logger] .facetrow")
        shoot(page, out, "page-facets", {"x": 0, "y": 0, "width": 420, "height": 560})

        open_view("/logs")
        bars = page.locator("#histogram .bar")
        bars.nth(bars.count() * 2 // 3).hover()
        page.wait_for_selector("#histogram .tip:not([hidden])")
        shoot(page, out, "page-histogram", {"x": 0, "y": 60, "width": 1280, "height": 110})

        open_view("/logs?tz=local")
        shoot(page, out, "page-time-zone", {"x": 0, "y": 0, "width": 1280, "height": 260})

        open_view("/logs?q=Unhandled")
        tb = page.locator("#main > .line .tb").last
        tb.click()
        page.wait_for_timeout(200)
        shoot(page, out, "page-tracebacks")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img",
                        help="where the PNG files go (default: docs/img)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"no {CHROMIUM}: apt-get install chromium (or scripts/bootstrap.sh test)")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="alco-screenshots-"))
    stack = Stack(tmp, stack_data(tmp))
    try:
        print(f"loading {LINES} lines into a stack of its own ({tmp})")
        serve_lines(stack, bodies(LINES), COLUMNS)
        print("screenshots:")
        take(stack.base_url, args.out)
    finally:
        stack.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
