"""The page as grep: a colour per search term, "hit n of N", first / last hit, and pattern
scans the server's time budget stops ("searched back to … — continue")."""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Stack
from tests.e2e.conftest import bind_queue, screenshot, start_web, start_web_with
from tests.helpers import BASE_TIME, logcollect_body, publish, stored_count, wait_for

pytestmark = pytest.mark.e2e

N = 600  # one line every 2 s, the newest at BASE_TIME
EVERY = 25  # every 25th line is a failure: 24 of them, the only lines ending in "<3 digits>ms"
FAILURES = list(range(0, N, EVERY))
PATTERN = r"/\d{3}ms$/"  # no literal: the server scans, within its time budget
BUDGET = 0.001  # seconds: the budget of the second web app, too small for a whole scan
# (at 2 ms, once scans got faster, a scan sometimes ended on its second page)


def message(i: int) -> str:
    if i % EVERY == 0:
        return f"order {i} failed: payment timeout after {100 + i % 900:03d}ms"
    return f"order {i} shipped to customer"


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    module_stack.index(columns={"levelname": "filtered", "host": "filtered"})
    module_stack.start_searchd()
    bind_queue(module_stack)
    module_stack.collector()
    bodies = []
    for i in range(N):
        ts = BASE_TIME - datetime.timedelta(seconds=2 * (N - 1 - i))
        bodies.append(logcollect_body(i, message=message(i), **{"@timestamp": ts.isoformat()}))
    publish(module_stack.data["rabbitmq"]["url"], module_stack.exchange, bodies,
            "logstash.shop.views")
    config = module_stack.config()
    wait_for(lambda: stored_count(config) >= N, timeout=60, interval=0.2, message="lines stored")
    module_stack.base_url = start_web(module_stack)
    module_stack.budget_url = start_web_with(module_stack, time_budget=BUDGET)
    return module_stack


def scan_url(site: Any) -> str:
    """The pattern on the web app with the tiny budget, over the time of the lines (from a
    minute before the oldest: a scan of the whole retention would take many continues)."""
    start = BASE_TIME - datetime.timedelta(seconds=2 * N + 60)
    return f"{site.budget_url}/logs?q={quote(PATTERN)}&from={quote(start.isoformat())}"


def open_view(page: Any, base: str, q: str = "") -> None:
    page.goto(base + "/logs" + (f"?q={quote(q)}" if q else ""))
    page.wait_for_selector("#main > .line")


def cursor_is(page: Any, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#main > .line.cur .msg')"
                           "?.textContent === t", arg=text)


def where_is(page: Any, text: str) -> None:
    page.wait_for_function("t => document.getElementById('where').textContent === t", arg=text)


def messages(page: Any) -> list[str]:
    return page.locator("#main > .line > .msg").all_text_contents()


def test_each_term_has_its_colour(page, site):
    open_view(page, site.base_url, "payment order")
    line = page.locator("#main > .line", has_text="order 25 failed")
    line.locator("mark.t1").first.wait_for()
    marks = line.locator("mark")
    got = {m.inner_text(): m.get_attribute("class") for m in marks.all()}
    assert got == {"order": "t1", "payment": "t0"}  # the terms in the order typed
    colours = [m.evaluate("m => getComputedStyle(m).backgroundColor") for m in marks.all()]
    assert len(set(colours)) == 2
    screenshot(page, "term-colours")


def test_n_says_which_hit_of_how_many_and_brackets_go_to_the_ends(page, site):
    open_view(page, site.base_url, "payment")
    page.locator("#main").focus()
    page.keyboard.press("[")  # the first hit; context mode, like n
    cursor_is(page, message(FAILURES[0]))
    assert page.locator("#ctx").is_checked()
    where_is(page, f"hit 1 of {len(FAILURES)}")
    page.keyboard.press("n")
    cursor_is(page, message(FAILURES[1]))
    where_is(page, f"hit 2 of {len(FAILURES)}")
    assert message(FAILURES[1] + 1) in messages(page)  # the lines around are there
    page.keyboard.press("]")
    cursor_is(page, message(FAILURES[-1]))
    where_is(page, f"hit {len(FAILURES)} of {len(FAILURES)}")
    page.keyboard.press("N")
    cursor_is(page, message(FAILURES[-2]))
    where_is(page, f"hit {len(FAILURES) - 1} of {len(FAILURES)}")
    screenshot(page, "hit-n-of-n")
    page.keyboard.press("j")  # away from the hit: the position is not about this line
    where_is(page, "")
    page.get_by_role("button", name="first hit").click()
    cursor_is(page, message(FAILURES[0]))
    where_is(page, f"hit 1 of {len(FAILURES)}")
    page.get_by_role("button", name="last hit").click()
    cursor_is(page, message(FAILURES[-1]))
    where_is(page, f"hit {len(FAILURES)} of {len(FAILURES)}")


def test_hit_position_within_a_time_range(page, site):
    first = (BASE_TIME - datetime.timedelta(seconds=2 * (N - 1 - FAILURES[10]))).isoformat()
    page.goto(site.base_url + f"/logs?q=payment&from={quote(first)}")
    page.wait_for_selector("#main > .line")
    page.locator("#main").focus()
    page.keyboard.press("[")
    cursor_is(page, message(FAILURES[10]))
    where_is(page, f"hit 1 of {len(FAILURES) - 10}")


def searched_back(page: Any) -> str:
    text = page.locator("#more").inner_text()
    m = re.search(r"searched back to (\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) — continue", text)
    assert m, text
    return m.group(1)


def test_a_pattern_scan_out_of_time_says_how_far_and_continues(page, site):
    page.goto(scan_url(site))
    page.locator("#more .go").wait_for()  # partial, maybe without a line yet
    screenshot(page, "partial-scan")
    seen = [searched_back(page)]
    shown = BASE_TIME.strftime("%m-%d %H:%M")
    assert seen[0][:11] <= shown  # shown as the page shows times (UTC, as stored)
    for _ in range(400):  # continue by clicking, until the scan reached the oldest line
        if not page.locator("#more .go").count():
            break
        before = page.locator("#more").inner_text()
        page.locator("#more .go").click()
        page.wait_for_function("t => document.getElementById('more').textContent !== t",
                               arg=before)
        if page.locator("#more .go").count():
            seen.append(searched_back(page))
    else:
        pytest.fail(f"still partial after 400 continues: {seen[-3:]}")
    assert seen == sorted(seen, reverse=True)  # each one further back
    assert len(seen) > 1
    msgs = messages(page)
    assert msgs == [message(i) for i in FAILURES]  # all of them, in order, nothing twice
    assert "top" in page.locator("#status").inner_text()


def test_scrolling_to_the_top_continues_a_partial_scan(page, site):
    page.goto(scan_url(site))
    page.locator("#more .go").wait_for()
    first = searched_back(page)
    page.locator("#main").hover()
    for _ in range(400):
        page.mouse.wheel(0, -400)  # at the top already: the wheel goes on, not a timer
        page.wait_for_timeout(50)
        if page.locator("#main > .line").count() == len(FAILURES) and not page.locator(
                "#more .go").count():
            break
    else:
        pytest.fail("the wheel did not read the whole range")
    assert first  # it had been partial, and scrolling read on to the oldest line
    assert messages(page) == [message(i) for i in FAILURES]


def test_a_partial_scan_does_not_go_on_by_itself(page, site):
    page.goto(scan_url(site))
    page.locator("#more .go").wait_for()
    first = searched_back(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/lines" in r.url else None)
    page.wait_for_timeout(1500)
    assert searched_back(page) == first and requests == []


def test_hits_of_a_pattern_search(page, site):
    open_view(page, site.base_url, PATTERN)  # the whole scan fits the usual budget: exact
    page.locator("#main").focus()
    page.keyboard.press("[")
    cursor_is(page, message(FAILURES[0]))
    where_is(page, f"hit 1 of {len(FAILURES)}")
    assert page.locator("#main > .line.cur mark.t0").inner_text() == message(0)[-5:]
    page.goto(scan_url(site))  # the tiny budget: hits are found, counts are lower bounds
    page.locator("#more .go").wait_for()
    page.locator("#main").focus()
    page.keyboard.press("]")  # goes on from partial reads by itself until it finds the hit
    cursor_is(page, message(FAILURES[-1]))
    page.wait_for_function("() => document.getElementById('where').textContent !== ''")
    where = page.locator("#where").inner_text()
    assert re.fullmatch(rf"hit (≥ \d+|{len(FAILURES)}) of (≥ \d+|{len(FAILURES)})", where), where
