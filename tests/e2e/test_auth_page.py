"""The page with [web] tokens set: the API refuses without a token, the page works with one,
and no URL the page asks for carries the token (the tail and export carry tickets)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import start_web

pytestmark = pytest.mark.e2e
TOKEN = "s3cret-token"


def test_tokens_required_by_the_api_and_kept_by_the_page(stack, page):
    stack.data["web"]["tokens"] = [TOKEN]
    stack.index()
    stack.start_searchd()
    base = start_web(stack)
    assert httpx.get(base + "/api/indexes").status_code == 401
    in_url = httpx.get(base + "/logs", params={"token": TOKEN})
    assert in_url.status_code == 401 and "URL" in in_url.text
    ok = httpx.get(base + "/api/indexes", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["indexes"][0]["name"] == "logs"

    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(base + "/logs?q=anything")
    page.fill("form.tokenform input", TOKEN)  # no token: the page asks for one
    page.press("form.tokenform input", "Enter")
    page.wait_for_function("() => document.getElementById('status').textContent === 'no lines'")
    page.reload()  # the token stays in this tab's sessionStorage
    page.wait_for_function("() => document.getElementById('status').textContent === 'no lines'")
    assert page.locator("form.tokenform").count() == 0
    with page.expect_response(lambda r: "/tail?" in r.url) as tail:
        page.keyboard.press("F")  # EventSource: a ticket for this index's tail
    assert tail.value.status == 200 and "ticket=" in tail.value.url  # the stream opened
    page.wait_for_selector("#follow.on")
    with page.expect_download() as download:
        page.click("#export-text")
    assert "ticket=" in download.value.url
    assert any("/api/logs/tail?" in u and "ticket=" in u for u in urls)
    assert not [u for u in urls if TOKEN in u]
    assert "token" not in (page.locator("#export-text").get_attribute("href") or "")
