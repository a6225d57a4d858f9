"""The page with [web] tokens set: the API refuses without a token, the page works with one."""

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
    assert httpx.get(base + "/api/logs/lines", params={"token": "wrong"}).status_code == 401
    ok = httpx.get(base + "/api/indexes", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["indexes"][0]["name"] == "logs"

    page.goto(base + "/logs")
    page.wait_for_selector("form.tokenform")  # no token: the page asks for one

    page.goto(base + f"/logs?token={TOKEN}&q=anything")
    page.wait_for_function("() => document.getElementById('status').textContent === 'no lines'")
    assert "token" not in page.url and "q=anything" in page.url  # not shared by copy-paste
    page.reload()  # the token stays in this tab's sessionStorage
    page.wait_for_function("() => document.getElementById('status').textContent === 'no lines'")
    assert page.locator("form.tokenform").count() == 0
    page.keyboard.press("F")  # EventSource passes the token as a query parameter
    page.wait_for_selector("#follow.on")
    assert "token=" in page.locator("#export-text").get_attribute("href")
