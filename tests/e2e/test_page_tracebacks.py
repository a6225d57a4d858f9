"""Tracebacks in place: under their line, folded to their first and last line; a click (or t)
unfolds them, another folds them again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.conftest import screenshot, serve_lines, varied_bodies

pytestmark = pytest.mark.e2e

N = 100  # lines 0, 20, 40, 60, 80 carry a traceback; 20 and 80 (i % 3 == 2) as stack_trace


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    return serve_lines(module_stack, varied_bodies(N), {
        "levelname": "filtered", "host": "filtered", "exc_info": "context",
        "stack_trace": "context"})


def row(page: Any, seq: int) -> Any:
    return page.locator("#main > .line", has=page.locator(".msg", has_text=f"order {seq} "))


def test_tracebacks_fold_to_first_and_last_line_and_unfold_in_place(page, site):
    page.goto(site.base_url + "/logs?q=failed")
    page.wait_for_selector("#main > .line .tb")
    assert page.locator("#main > .line .tb").count() == 5
    tb = row(page, 40).locator(".tb")
    assert tb.get_attribute("class") == "tb folded"
    assert tb.locator(".tbline.first").inner_text() == "Traceback (most recent call last):"
    assert tb.locator(".tbline.last").inner_text() == \
        "ZeroDivisionError: division by zero (order 40)"
    assert tb.locator(".tbmore").inner_text() == "⋯ 4 more lines"
    assert not tb.locator(".tbtext").is_visible()
    java = row(page, 80).locator(".tb")
    assert java.get_attribute("data-ctx") == "stack_trace"
    assert java.locator(".tbline.first").inner_text() == \
        "java.lang.IllegalStateException: cart is empty"
    assert java.locator(".tbmore").inner_text() == "⋯ 2 more lines"
    screenshot(page, "tracebacks-folded")
    tb.click()
    assert "unfolded" in tb.get_attribute("class")
    full = tb.locator(".tbtext")
    assert full.is_visible() and 'File "shop/util.py", line 3, in div' in full.inner_text()
    assert not tb.locator(".tbline.first").is_visible()
    screenshot(page, "tracebacks-unfolded")
    tb.click()
    assert "folded" in tb.get_attribute("class").split() and not full.is_visible()
    row(page, 80).locator(".msg").click()  # the cursor on it, then t
    page.keyboard.press("t")
    assert "unfolded" in java.get_attribute("class")
    assert "\tat shop.Api.post(Api.java:17)" in java.locator(".tbtext").inner_text()
    page.keyboard.press("t")
    assert "folded" in java.get_attribute("class").split()


def test_the_details_still_show_the_whole_traceback(page, site):
    page.goto(site.base_url + "/logs?q=failed")
    row(page, 60).locator(".ctxtag").click()
    assert "ZeroDivisionError" in page.locator(".details pre.ctxtext").inner_text()
