"""No long-lived secret in a URL: the tail and export links carry one-minute tickets for one
index and one purpose; no answer, redirect or page script carries a token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from alco.web import tickets
from alco.web.page import STATIC
from tests.integration.test_auth_scopes import ALL, SHOP, teams  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


def ticket(client: TestClient, index: str, purpose: str, headers: dict = SHOP) -> str:
    got = client.post(f"/api/{index}/ticket", params={"for": purpose}, headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["expires_in"] == 60 and got.headers["cache-control"] == "no-store"
    return got.json()["ticket"]


def elsewhere(client: TestClient) -> TestClient:
    """The same app from an address of its own (each refused ticket counts as a failed
    authentication of its address: alco.web.throttle)."""
    elsewhere.n = getattr(elsewhere, "n", 0) + 1
    return TestClient(client.app, client=(f"192.0.2.{elsewhere.n}", 1000))


def test_a_ticket_opens_its_index_and_purpose_for_a_minute(teams, monkeypatch):  # noqa: F811
    export = ticket(teams, "shop", "export")
    assert "t-shop" not in export
    got = teams.get("/api/shop/export", params={"ticket": export, "format": "text"})
    assert got.status_code == 200 and got.text.count("shop line") == 5
    for path in ("/api/billing/export", "/api/shop/tail", "/api/shop/lines",
                 "/api/shop/ticket"):
        refused = elsewhere(teams).get(path, params={"ticket": export})
        assert refused.status_code == 401, path
    assert "expired" in elsewhere(teams).get("/api/billing/export",
                                             params={"ticket": export}).text
    body, mac = export.split(".")
    other = tickets._unb64(body).replace(b"\nshop\n", b"\nbilling\n")
    tampered = tickets._b64(other) + "." + mac  # the signature no longer fits
    assert elsewhere(teams).get("/api/billing/export",
                                params={"ticket": tampered}).status_code == 401
    # a ticket of the unlimited token, for billing: useless for any other index
    billing = ticket(teams, "billing", "export", ALL)
    assert elsewhere(teams).get("/api/shop/export",
                                params={"ticket": billing}).status_code == 401
    assert teams.get("/api/billing/export", params={"ticket": billing}).status_code == 200
    # the shop token gets no ticket for billing: as for an index that does not exist
    hidden = teams.post("/api/billing/ticket", params={"for": "tail"}, headers=SHOP)
    unknown = teams.post("/api/nosuch/ticket", params={"for": "tail"}, headers=SHOP)
    assert hidden.status_code == unknown.status_code == 404
    assert teams.post("/api/shop/ticket", params={"for": "lines"},
                      headers=SHOP).status_code == 400
    tail = ticket(teams, "shop", "tail")
    now = tickets.clock()
    monkeypatch.setattr(tickets, "clock", lambda: now + 61)  # a minute later
    assert teams.get("/api/shop/export", params={"ticket": export}).status_code == 401
    late = teams.get("/api/shop/tail", params={"ticket": tail})
    assert late.status_code == 401 and "expired" in late.text


def test_no_answer_or_page_script_puts_a_token_into_a_url(teams):  # noqa: F811
    paths = ("/", "/shop", "/s/x", "/api/indexes", "/api/shop/lines", "/api/shop/columns",
             "/api/shortcuts", "/api/billing/lines", "/api/shop/export", "/metrics",
             "/api/nosuch/lines")
    for path in paths:
        for headers in (SHOP, ALL, {}):
            got = teams.get(path, headers=headers, follow_redirects=False)
            assert got.status_code < 300 or got.status_code in (401, 403, 404), path
            assert "t-shop" not in got.text and "t-all" not in got.text, path
            assert "t-shop" not in str(got.headers) and "t-all" not in str(got.headers)
    made = teams.post("/api/shop/ticket", params={"for": "tail"}, headers=SHOP)
    assert "t-shop" not in made.text
    for script in STATIC.glob("*.js"):
        text = script.read_text()
        assert "token=" not in text, script.name  # only ?ticket= goes into URLs
