"""Knowing what is there: facets (top values of the search), the histogram's axes, hover and
levels, one column per synonym group, values from the lines when Redis has none."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis

from alco.catalog.keys import values_key
from tests.conftest import REDIS_URL, Stack
from tests.e2e.conftest import screenshot, serve_lines, varied_bodies

pytestmark = pytest.mark.e2e

N = 300  # web1 180, web2 90, db1 30; ERROR 30 (all on web1), WARNING 30, INFO 240
COLUMNS = {"levelname": "filtered", "level": "filtered", "host": "filtered",
           "logger": "filtered", "logger_name": "filtered", "exc_info": "context",
           "stack_trace": "context"}


@pytest.fixture(scope="module")
def site(module_stack: Stack) -> Any:
    return serve_lines(module_stack, varied_bodies(N), COLUMNS)


def open_view(page: Any, site: Any, path: str = "/logs") -> None:
    page.goto(site.base_url + path)
    page.wait_for_selector("#main > .line")
    page.wait_for_selector("#histogram .bar")


def facet_rows(page: Any, field: str) -> dict[str, str]:
    out = page.locator(f"#side .facetout[data-field={field}]")
    out.locator(".facetrow").first.wait_for()
    return dict(zip(out.locator(".facetrow > :first-child").all_text_contents(),
                    out.locator(".facetrow .n").all_text_contents(), strict=True))


def test_facets_count_the_values_of_the_search_and_a_click_filters(page, site):
    open_view(page, site)
    page.locator("#side section.facet[data-field=host] .facetbtn").click()
    assert facet_rows(page, "host") == {"web1": "180", "web2": "90", "db1": "30"}
    assert "300 lines" in page.locator("#side .facetout[data-field=host] .facethead").inner_text()
    screenshot(page, "facets")
    open_view(page, site, "/logs?q=failed")  # the search's lines only
    page.locator("#side section.facet[data-field=host] .facetbtn").click()
    assert facet_rows(page, "host") == {"web1": "30"}
    open_view(page, site)
    page.locator("#side .facetfield").select_option("process")  # any field, from the picker
    page.locator("#side .facetgo").click()
    assert facet_rows(page, "process") == {"7251": "300"}
    page.locator("#side section.facet[data-field=host] .facetbtn").click()
    page.locator("#side .facetout[data-field=host] .val", has_text="web2").click()
    page.wait_for_url(re.compile(r"f=host%3Aweb2"))
    page.wait_for_function("""() => [...document.querySelectorAll(
        '#main > .line .cell[data-field=host]')].every(c => c.textContent === 'web2')""")


def test_facets_api_bounded_and_with_patterns(page, site):
    api = site.base_url + "/api/logs/facets"
    body = page.request.get(api, params={"field": "host", "q": r"/order \d+ ok/"}).json()
    assert body["total"] == N - 30 and not body["partial"]
    assert body["values"][0] == {"value": "web1", "count": 150}
    body = page.request.get(api, params={"field": "exc_info", "limit": "1"}).json()
    assert body["values"] == [{"value": None, "count": N - 10}] and body["other"] == 10
    resp = page.request.get(api, params={"field": "nosuch"})
    assert resp.status == 400 and "unknown field" in resp.json()["error"]


def test_histogram_has_a_scale_ticks_hover_and_levels(page, site):
    open_view(page, site)
    assert page.locator("#histogram .yaxis .ytop").inner_text() not in ("", "0")
    ticks = page.locator("#histogram .xaxis .tick").all_text_contents()
    # (a tick at a day's start shows the day too)
    assert len(ticks) >= 3 and all(re.fullmatch(r"(\d\d-\d\d )?\d\d:\d\d(:\d\d)?", t)
                                   for t in ticks)
    assert page.locator("#histogram .hfoot").inner_text().count("times in UTC") == 1
    page.locator("#histogram .bar:not([data-n='0'])").last.hover()
    tip = page.locator("#histogram .tip")
    tip.wait_for()
    assert re.search(r"\d\d-\d\d \d\d:\d\d:\d\d – \d\d:\d\d:\d\d UTC · \d+ lines?",
                     tip.inner_text())
    assert page.locator("#histogram .seg.lv-error").count() > 0  # stacked by levelname
    legend = page.locator("#histogram .legend").inner_text()
    # levelname and level count as one field: every line is in a level's series
    assert "ERROR 30" in legend and "WARNING 30" in legend and "INFO 240" in legend
    assert page.locator("#histogram .seg.other").count() == 0
    screenshot(page, "histogram-hover")


def test_one_column_per_synonym_group(page, site):
    open_view(page, site)
    toggles = page.locator("#side .cols .coltoggle").all_text_contents()
    names = [t.strip() for t in toggles]
    assert "levelname / level" in names and "logger / logger_name" in names
    assert not {"level", "logger_name", "stack_trace"} & set(names)
    cols = page.locator("#main > .line").first.locator(".cell").evaluate_all(
        "cells => cells.map(c => c.dataset.col)")
    assert len(cols) == len(set(cols)) and not ({"level", "levelname"} <= set(cols))
    # a line of the other shipper shows its `level` in the one column, filtering on `level`
    cell = page.locator("#main > .line .cell[data-field=level]").first
    assert cell.inner_text() in ("ERROR", "WARNING", "INFO")


def test_values_fall_back_to_the_lines_on_screen(page, site):
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(values_key(site.prefix, "logs", "host"))  # as a new Redis would be
    open_view(page, site)
    values = page.locator("#side .values[data-field=host]")
    values.locator(".note", has_text="from the lines on screen").wait_for()
    assert set(values.locator(".val").evaluate_all("vs => vs.map(v => v.dataset.value)")) \
        == {"web1", "web2", "db1"}
    values.locator(".val[data-value=db1]").click()
    page.wait_for_url(re.compile(r"f=host%3Adb1"))
