"""Knowing when: times in UTC or the browser's zone (a toggle kept in the URL, the zone always
shown), and the range boxes and jump-to-time read in the zone shown.  The browser is in
Asia/Kolkata (UTC+05:30)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from tests.conftest import Stack
from tests.e2e.conftest import screenshot, serve_lines, varied_bodies

pytestmark = pytest.mark.e2e

N = 120
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    return serve_lines(module_stack, varied_bodies(N), {"levelname": "filtered",
                                                        "host": "filtered"})


def open_view(page: Any, site: Any, path: str = "/logs") -> None:
    page.goto(site.base_url + path)
    page.wait_for_selector("#main > .line")
    page.wait_for_selector("#histogram .bar")


def line_times(page: Any) -> list[tuple[datetime.datetime, str]]:
    """(stored time, time shown) of the lines on the page."""
    rows = page.locator("#main > .line").evaluate_all(
        "rows => rows.map(r => [r.dataset.ts, r.querySelector('.ts').textContent])")
    return [(datetime.datetime.fromisoformat(ts), shown) for ts, shown in rows]


def shown(dt: datetime.datetime) -> str:
    return dt.strftime("%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def test_utc_by_default_then_the_browsers_zone_kept_in_the_url(zoned_page, site):
    page = zoned_page
    open_view(page, site)
    assert page.locator("#tz").inner_text() == "UTC"
    assert all(text == shown(ts.astimezone(datetime.UTC)) for ts, text in line_times(page))
    page.locator("#tz").click()
    page.wait_for_url(re.compile(r"tz=local"))
    page.wait_for_function("() => document.querySelector('#tz').textContent.includes('05:30')")
    assert re.fullmatch(r"Asia/(Kolkata|Calcutta) \(UTC\+05:30\)", page.locator("#tz").inner_text())
    page.wait_for_selector("#main > .line")
    page.wait_for_function("() => document.querySelector('#histogram .hfoot')?.textContent"
                           ".includes('times in UTC+05:30')")
    assert all(text == shown(ts.astimezone(IST)) for ts, text in line_times(page))
    assert "(UTC+05:30)" in page.locator("#jumpto").get_attribute("placeholder")
    screenshot(page, "time-zone")
    page.reload()  # the URL keeps the zone
    page.wait_for_selector("#main > .line")
    assert "UTC+05:30" in page.locator("#tz").inner_text()


def test_range_and_jump_read_times_in_the_zone_shown(zoned_page, site):
    page = zoned_page
    open_view(page, site, "/logs?tz=local")
    times = [ts for ts, _ in line_times(page)]
    start = times[len(times) // 2]
    page.locator("#from").fill(start.astimezone(IST).strftime("%Y-%m-%dT%H:%M:%S"))
    page.locator("#from").press("Enter")
    page.wait_for_url(re.compile(r"from=[^&]*%2B05%3A30"))  # kept with its offset
    page.wait_for_function("t => document.querySelector('#main > .line')?.dataset.ts === t",
                           arg=start.isoformat())
    assert min(ts for ts, _ in line_times(page)) == start
    target = times[len(times) // 2 + 10]
    page.locator("#jumpto").fill(target.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"))
    page.locator("#jumpto").press("Enter")
    page.wait_for_function("t => document.querySelector('#main > .line.cur')?.dataset.ts === t",
                           arg=target.isoformat())
    page.locator("#tz").click()  # back to UTC: the range box says the same moment in UTC
    page.wait_for_url(lambda url: "tz=local" not in url)
    utc = start.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert page.locator("#from").input_value() == utc
    page.wait_for_function("t => document.querySelector('#main > .line')?.dataset.ts === t",
                           arg=start.isoformat())
