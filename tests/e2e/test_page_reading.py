"""What a new reader trips over: the page opens at the very bottom, a very long line is folded,
an empty result, an unknown index and an unknown field say so plainly, the details of the last
line open in view, and the histogram's log scale keeps a quiet stretch visible next to a burst."""

from __future__ import annotations

import datetime
import re
from typing import Any

import orjson
import pytest

from tests.conftest import Stack
from tests.e2e.conftest import screenshot, serve_lines
from tests.helpers import BASE_TIME

pytestmark = pytest.mark.e2e

BURST = 1000  # lines in one second, 5 minutes ago
QUIET = 3     # lines 45 minutes ago
LONG = "longline " + " ".join(f"word{i:05d}" for i in range(2000))  # ~20,000 characters
LAST = "the newest line"


def body(ts: datetime.datetime, message: str, host: str) -> bytes:
    return orjson.dumps({"@timestamp": ts.isoformat(), "message": message, "host": host,
                         "levelname": "INFO", "logger": "shop.views"})


def bodies() -> list[bytes]:
    quiet = BASE_TIME - datetime.timedelta(minutes=45)
    burst = BASE_TIME - datetime.timedelta(minutes=5)
    # (in one second: a second apart, they fell into two bars when the minute turned
    # between them, as BASE_TIME, a whole second of the run's start, allowed once in 30 runs)
    out = [body(quiet + datetime.timedelta(microseconds=i), f"quiet {i}", "web1")
           for i in range(QUIET)]
    out += [body(burst + datetime.timedelta(microseconds=i * 500), f"burst {i}",
                 "web1" if i % 2 else "web2") for i in range(BURST)]
    out.append(body(BASE_TIME - datetime.timedelta(minutes=1), LONG, "web2"))
    out.append(body(BASE_TIME, LAST, "web1"))
    return out


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    return serve_lines(module_stack, bodies(), {"levelname": "filtered", "host": "filtered"})


def open_view(page: Any, site: Any, path: str = "/logs") -> None:
    page.goto(site.base_url + path)
    page.wait_for_selector("#main > .line")
    page.wait_for_selector("#histogram .bar, #histogram .note")


AT_BOTTOM = """() => { const m = document.getElementById('main');
    const rows = m.querySelectorAll(':scope > .line');
    return rows[rows.length - 1].getBoundingClientRect().bottom
        <= m.getBoundingClientRect().bottom + 1; }"""


def test_opens_at_the_very_bottom_once_the_histogram_is_drawn(page, site):
    open_view(page, site)
    page.wait_for_selector("#histogram .bar")
    page.wait_for_function("() => document.getElementById('status').textContent"
                           ".endsWith('end')")
    assert page.locator("#main > .line").last.locator(".msg").inner_text() == LAST
    page.wait_for_function(AT_BOTTOM)  # the newest line wholly in view
    screenshot(page, "reading-bottom")
    page.set_viewport_size({"width": 1280, "height": 600})  # and it stays so
    page.wait_for_function(AT_BOTTOM)


def long_row(page: Any) -> Any:
    return page.locator("#main > .line", has=page.locator(".msg", has_text="longline"))


def height(locator: Any) -> float:
    return locator.evaluate("n => n.getBoundingClientRect().height")


def test_a_very_long_line_is_folded_and_unfolds_on_demand(page, site):
    open_view(page, site)
    row = long_row(page)
    more = row.locator(".longmore")
    assert more.inner_text() == f"⋯ show the whole line ({len(LONG):,} characters)"
    assert height(row) < 150  # a few rows, not six screens
    screenshot(page, "reading-long-folded")
    more.click()
    assert height(row) > 2000 and more.inner_text() == "fold the line"
    assert row.locator(".msg").inner_text() == LONG
    more.click()
    assert height(row) < 150
    page.keyboard.press("t")  # the cursor is on it: t unfolds it too
    assert height(row) > 2000


def test_a_folded_long_line_says_how_many_hits_it_holds(page, site):
    open_view(page, site, "/logs?q=word01999")  # the hit is far below the fold
    more = long_row(page).locator(".longmore")
    assert more.inner_text() == f"⋯ show the whole line ({len(LONG):,} characters, 1 hit)"
    open_view(page, site, "/logs?q=word01999&ctx=1")  # marked later, in context mode
    page.wait_for_selector("#main > .line.hit")
    assert more.inner_text().endswith("characters, 1 hit)")


def test_a_long_line_in_the_context_around_keeps_its_host_column(page, site):
    open_view(page, site, "/logs?q=longline")
    page.locator("#main > .line .ts").click()
    page.get_by_role("button", name="all hosts").click()
    anchor = page.locator(".ctxline.anchor")
    anchor.wait_for()
    host = anchor.locator(".cell")
    assert host.inner_text() == "web2"
    screenshot(page, "reading-long-context")
    # on one row: the host is not squeezed to a character a row by the long message beside it
    assert host.evaluate("c => { const r = document.createRange(); r.selectNodeContents(c);"
                         " return r.getClientRects().length; }") == 1
    assert height(anchor) < 150  # folded too
    anchor.locator(".msg").click()
    assert height(anchor) > 2000


def test_an_empty_result_says_so_in_the_main_pane(page, site):
    page.goto(site.base_url + "/logs?q=nosuchword&f=host:web1&from=2h")
    empty = page.locator("#main > .empty")
    empty.wait_for()
    assert empty.locator("h2").inner_text() == "No lines match this search"
    text = empty.inner_text()
    assert "nosuchword" in text and "host:web1" in text and "from 2h to now" in text
    assert "a wider time range" in text
    screenshot(page, "reading-empty")


def test_an_unknown_index_links_to_the_real_ones(page, site):
    page.goto(site.base_url + "/logz?q=burst")
    page.get_by_role("heading", name="No index named “logz”").wait_for()
    assert not page.locator("#toolbar").is_visible()
    assert not page.locator("#side").is_visible()  # no invented columns
    screenshot(page, "reading-unknown-index")
    page.get_by_role("link", name="logs", exact=True).click()
    page.wait_for_selector("#main > .line")
    assert page.url.endswith("/logs?q=burst")


def test_the_details_of_the_last_line_open_in_view(page, site):
    open_view(page, site)
    page.wait_for_function(AT_BOTTOM)
    page.locator("#main > .line").last.locator(".ts").click()
    details = page.locator("#main > .details")
    details.wait_for()
    page.wait_for_function("""() => { const m = document.getElementById('main')
        .getBoundingClientRect();
        const d = document.querySelector('#main > .details').getBoundingClientRect();
        return d.bottom <= m.bottom + 1 && d.top >= m.top; }""")
    screenshot(page, "reading-details-last")


def test_an_unknown_field_is_said_once_with_the_closest_names(page, site):
    with page.expect_response(lambda r: "/histogram?" in r.url) as histogram:
        page.goto(site.base_url + "/logs?q=hostname:web1")
    assert histogram.value.status == 400
    histogram.value.finished()
    error = page.locator("#main > .error")
    error.wait_for()
    assert "did you mean host?" in error.inner_text()
    page.wait_for_selector("#histogram:not([aria-busy])", state="attached")
    assert not page.locator("#histogram").is_visible()  # nothing to draw: no empty strip
    assert page.get_by_text("unknown field").count() == 1
    screenshot(page, "reading-unknown-field")


def bar_share(page: Any, n: int) -> float:
    """How much of the plot's height the bar of ``n`` lines fills."""
    return page.locator(f"#histogram .bar[data-n='{n}'] .fill").evaluate(
        "f => f.getBoundingClientRect().height / f.parentElement.getBoundingClientRect().height")


def test_the_histograms_log_scale_keeps_a_quiet_stretch_visible_next_to_a_burst(page, site):
    open_view(page, site)
    page.wait_for_selector("#histogram .bar")
    assert bar_share(page, QUIET) < 0.05  # linear: the burst flattens it to a pixel
    page.locator("#histogram .hscale button", has_text="log").click()
    page.wait_for_url(re.compile(r"hscale=log"))
    assert bar_share(page, QUIET) > 0.15
    assert bar_share(page, BURST) > 0.9  # the burst is still the tallest
    assert page.locator("#histogram .yaxis").get_attribute("title") == \
        "lines per bar (log scale)"
    screenshot(page, "reading-histogram-log")
    page.reload()  # the URL keeps the scale
    page.wait_for_selector("#histogram .bar")
    assert page.locator("#histogram .hscale button.on").inner_text() == "log"
    assert bar_share(page, QUIET) > 0.15
    page.locator("#histogram .hscale button", has_text="linear").click()
    page.wait_for_function("() => !location.search.includes('hscale')")
    assert bar_share(page, QUIET) < 0.05
