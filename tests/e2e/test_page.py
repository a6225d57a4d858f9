"""The reading page in headless Chromium against the real stack."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.conftest import bind_queue, screenshot, start_web
from tests.helpers import logcollect_body, publish, stored_count, wait_for

pytestmark = pytest.mark.e2e

N = 1500  # plain lines "line <i> of the test"; then the XSS line and a line with a traceback
XSS = "<script>alert(1)</script>"
TRACEBACK = "Traceback (most recent call last):\n  File \"shop/pay.py\", line 9\nZeroDivisionError"


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    module_stack.index(columns={"levelname": "filtered", "host": "filtered",
                                "logger": "filtered", "exc_info": "context"})
    module_stack.start_searchd()
    bind_queue(module_stack)
    module_stack.collector()
    bodies = [logcollect_body(i) for i in range(N)]
    bodies.append(logcollect_body(N, message=XSS))
    bodies.append(logcollect_body(N + 1, message="payment failed for order 42",
                                  exc_info=TRACEBACK))
    publish(module_stack.data["rabbitmq"]["url"], module_stack.exchange, bodies,
            "logstash.shop.views")
    config = module_stack.config()
    wait_for(lambda: stored_count(config) >= N + 2, timeout=60, interval=0.2,
             message="lines stored")
    module_stack.base_url = start_web(module_stack)
    return module_stack


def open_view(page: Any, site: Any, path: str = "/logs") -> None:
    page.goto(site.base_url + path)
    page.wait_for_selector("#main > .line")


def messages(page: Any) -> list[str]:
    return page.locator("#main > .line > .msg").all_text_contents()


def visible(page: Any) -> list[str]:
    return page.evaluate("""() => { const box = document.getElementById('main')
        .getBoundingClientRect();
        return [...document.querySelectorAll('#main > .line')].filter(r => {
            const b = r.getBoundingClientRect(); return b.top >= box.top && b.bottom <= box.bottom;
        }).map(r => r.querySelector('.msg').textContent); }""")


def cursor_is(page: Any, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#main > .line.cur .msg')"
                           "?.textContent === t", arg=text)


def test_index_list_links_to_the_log_view(page, site):
    page.goto(site.base_url + "/")
    link = page.get_by_role("link", name="logs", exact=True)
    link.wait_for()
    assert "lines" in page.locator("table.indexes").inner_text()
    screenshot(page, "indexes")
    link.click()
    page.wait_for_selector("#main > .line")
    assert page.url.endswith("/logs")


def test_newest_lines_at_the_bottom_with_columns(page, site):
    open_view(page, site)
    msgs = messages(page)
    assert msgs[-1] == "payment failed for order 42" and msgs[-3] == f"line {N - 1} of the test"
    last = page.locator("#main > .line").last
    assert last.locator(".cell").all_text_contents() == ["vm1", "INFO", "shop.views"]
    page.wait_for_selector("#histogram .bar")
    page.wait_for_selector("#side .val")
    screenshot(page, "log-view")
    assert not page.js_errors


def test_search_highlights_hits(page, site):
    open_view(page, site)
    page.keyboard.press("/")
    page.keyboard.type("payment order")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#main > .line').length === 1")
    marks = page.locator("#main > .line mark").all_text_contents()
    assert marks == ["payment", "order"]
    assert "q=payment+order" in page.url
    screenshot(page, "search")
    page.locator("#q").fill("nosuchfield:x")
    page.keyboard.press("Enter")
    page.locator("#main .error", has_text="unknown field").wait_for()  # a 400, said plainly


def test_scroll_both_ways_keeps_the_dom_bounded(page, site):
    open_view(page, site)
    page.wait_for_function("""() => { const m = document.getElementById('main');
        m.scrollTop = 0;
        return m.querySelector('.line .msg').textContent === 'line 0 of the test'; }""",
                           polling=100, timeout=20_000)
    rows = page.locator("#main > .line").count()
    assert rows <= 1200
    assert messages(page)[-1] != "payment failed for order 42"  # the bottom was dropped
    page.wait_for_function("""() => { const m = document.getElementById('main');
        m.scrollTop = m.scrollHeight;
        const rows = m.querySelectorAll(':scope > .line');
        return rows[rows.length - 1].textContent.includes('payment failed'); }""",
                           polling=100, timeout=20_000)
    seqs = [int(m.split()[1]) for m in messages(page) if m.startswith("line ")]
    assert seqs == list(range(seqs[0], N))  # contiguous, in order, nothing twice


def test_click_a_cell_to_filter_ctrl_click_to_add(page, site):
    open_view(page, site)
    page.locator("#main > .line .cell[data-field=host]", has_text="vm1").first.click()
    page.wait_for_url(re.compile(r"f=host%3Avm1"))
    page.wait_for_function("""() => [...document.querySelectorAll(
        '#main > .line .cell[data-field=host]')].every(c => c.textContent === 'vm1')""")
    page.locator("#side .val[data-field=host]", has_text="vm2").click(modifiers=["Control"])
    page.wait_for_url(re.compile(r"f=host%3Avm1%2Cvm2"))
    page.wait_for_function("""() => { const hosts = new Set([...document.querySelectorAll(
        '#main > .line .cell[data-field=host]')].map(c => c.textContent));
        return hosts.size === 2 && hosts.has('vm1') && hosts.has('vm2'); }""")
    assert "host:" in page.locator("#side .chip").inner_text()
    page.locator("#main > .line .cell[data-field=host]", has_text="vm2").first.click(
        modifiers=["Shift"])  # shift-click excludes
    page.wait_for_url(re.compile(r"f=-host%3Avm2"))
    page.wait_for_function("""() => [...document.querySelectorAll(
        '#main > .line .cell[data-field=host]')].every(c => c.textContent === 'vm1')""")


def test_context_column_and_lines_around_open_under_the_line(page, site):
    open_view(page, site, "/logs?q=payment")
    page.locator("#main > .line .ctxtag").click()
    assert "ZeroDivisionError" in page.locator(".details pre.ctxtext").inner_text()
    page.get_by_role("button", name="all hosts").click()
    page.wait_for_selector(".ctxlines .ctxline")
    lines = page.locator(".ctxlines .ctxline")
    assert lines.count() == 11  # 10 before, the line itself, nothing after it
    assert "payment failed" in page.locator(".ctxline.anchor").inner_text()
    page.get_by_role("button", name="same host/process").click()
    page.wait_for_function("""() => [...document.querySelectorAll('.ctxline .cell')]
        .every(c => c.textContent === 'vm1')""")
    screenshot(page, "context")


def test_keyboard_g_j_k_and_hits_with_n(page, site):
    open_view(page, site, "/logs?q=levelname:ERROR")
    page.locator("#main").focus()
    page.keyboard.press("g")
    cursor_is(page, "line 0 of the test")
    page.keyboard.press("j")
    assert page.locator("#main > .line.cur .msg").inner_text() == "line 10 of the test"
    page.keyboard.press("k")
    assert page.locator("#main > .line.cur .msg").inner_text() == "line 0 of the test"
    page.keyboard.press("n")  # context mode: all lines, hits marked, cursor on the next hit
    cursor_is(page, "line 10 of the test")
    assert page.locator("#ctx").is_checked()
    page.wait_for_selector("#main > .line.hit")
    assert "line 11 of the test" in messages(page)  # surrounding lines stay visible
    page.keyboard.press("n")
    cursor_is(page, "line 20 of the test")
    page.keyboard.press("N")
    cursor_is(page, "line 10 of the test")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    screenshot(page, "context-mode-help")
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()


def test_url_round_trip_restores_the_same_view(page, site, browser):
    open_view(page, site, "/logs?q=test&f=host:vm2")
    page.locator("#side input[data-col=logger]").uncheck()
    page.wait_for_url(re.compile(r"cols="))
    page.locator("#main > .line").nth(5).locator(".msg").click()
    page.wait_for_url(re.compile(r"at=\d+"))
    url = page.url
    want = (visible(page), page.locator("#main > .line.cur").get_attribute("data-id"))
    other = browser.new_page()
    other.goto(url)
    other.wait_for_selector("#main > .line.cur")
    assert other.locator("#q").input_value() == "test"
    assert not other.locator("#side input[data-col=logger]").is_checked()
    got = (messages(other), other.locator("#main > .line.cur").get_attribute("data-id"))
    assert got[1] == want[1]
    assert want[0] and set(want[0]) <= set(got[0])  # what was on screen is there
    assert all(c == "vm2" for c in other.locator("#main > .line .cell[data-field=host]")
               .all_text_contents())
    other.close()


def test_log_text_is_text_never_html(page, site):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_view(page, site, "/logs?q=script")
    assert messages(page) == [XSS]
    assert page.locator("#main script").count() == 0
    open_view(page, site, "/logs")  # without a search: no highlight, plain message
    assert XSS in messages(page)
    assert dialogs == [] and not page.js_errors


def test_histogram_zoom_export_and_jump(page, site):
    open_view(page, site)
    page.wait_for_selector("#histogram .bar")
    tallest = page.locator("#histogram .bar").evaluate_all(
        "bs => bs.reduce((a, b) => +b.dataset.n > +a.dataset.n ? b : a).dataset.i")
    page.locator(f"#histogram .bar[data-i='{tallest}']").click()
    page.wait_for_url(re.compile(r"from=.*&to="))
    page.wait_for_selector("#main > .line")
    href = page.locator("#export-ndjson").get_attribute("href")
    assert "format=ndjson" in href and "from=" in href
    resp = page.request.get(site.base_url + href)
    assert resp.status == 200 and b"line 0 of the test" in resp.body()
    open_view(page, site)
    ts = page.locator("#main > .line").first.get_attribute("data-ts")
    page.locator("#jumpto").fill(ts)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"at=\d+"))
    page.wait_for_selector("#main > .line.cur")


def test_shortcut_saved_from_the_page_opens_its_query(page, site):
    page.goto(site.base_url + "/s")
    page.locator("form.newshortcut input[name=name]").fill("seq")
    page.locator("form.newshortcut input[name=query]").fill("{} of the test")
    page.get_by_role("button", name="save").click()
    page.locator("table.shortcuts a", has_text="/s/seq/").wait_for()
    screenshot(page, "shortcuts")
    page.goto(site.base_url + "/s/seq/1234")
    page.wait_for_selector("#main > .line")
    assert messages(page) == ["line 1234 of the test"]
    assert page.locator("#q").input_value() == "1234 of the test"


def test_live_tail_shows_a_freshly_published_line(page, site):
    open_view(page, site)
    page.keyboard.press("F")
    page.wait_for_selector("#follow.on")
    fresh = f"fresh line {uuid.uuid4().hex[:8]}"
    publish(site.data["rabbitmq"]["url"], site.exchange,
            [logcollect_body(10**6, message=fresh)], "logstash.shop.views")
    page.wait_for_function(f"""() => {{ const rows = document.querySelectorAll('#main > .line');
        return rows[rows.length - 1].textContent.includes({fresh!r}); }}""", timeout=20_000)
    late = f"late line {uuid.uuid4().hex[:8]}"  # stamped before every line on the page
    publish(site.data["rabbitmq"]["url"], site.exchange,
            [logcollect_body(5, message=late)], "logstash.shop.views")
    page.wait_for_function(f"""() => {{ const rows = document.querySelectorAll('#main > .line');
        const last = rows[rows.length - 1];
        return last.classList.contains('late') && last.textContent.includes({late!r})
            && last.querySelector('.latemark') !== null; }}""", timeout=20_000)
    assert page.locator("#main > .line.late").count() == 1  # pushed once
    screenshot(page, "tail")
    page.locator("#main").evaluate("m => m.scrollTop = 0")
    page.wait_for_selector("#follow:not(.on)")  # scrolling up pauses
    page.keyboard.press("F")  # and F resumes at the newest line
    page.wait_for_selector("#follow.on")  # the newest line in order (the late one stays)
    page.wait_for_function("""t => { const rows = document.querySelectorAll(
        '#main > .line:not(.late)');
        return rows[rows.length - 1].textContent.includes(t); }""", arg=fresh)
