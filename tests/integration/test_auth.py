"""[web] tokens and basic_auth on the real app (Redis answers the shortcuts API)."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from alco.web.app import create_app

pytestmark = pytest.mark.integration


def client(stack, **web: object) -> TestClient:
    stack.data["web"].update(web)
    return TestClient(create_app(stack.config()))


def test_tokens_guard_api_and_metrics_but_not_the_shell(stack):
    c = client(stack, tokens=["t0k"])
    assert c.get("/healthz").status_code == 200
    assert c.get("/static/app.js").status_code == 200
    assert c.get("/logs").status_code == 200  # the shell holds no data; it asks for a token
    for path in ("/api/shortcuts", "/api/indexes", "/api/logs/lines", "/api/logs/tail",
                 "/metrics"):
        resp = c.get(path)
        assert resp.status_code == 401, path
        assert "www-authenticate" not in resp.headers
    assert c.get("/api/shortcuts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/api/shortcuts", headers={"Authorization": "Bearer t0k"}).status_code == 200
    in_url = c.get("/api/shortcuts", params={"token": "t0k"})  # never a secret in a URL
    assert in_url.status_code == 401 and "URL" in in_url.text and "Bearer" in in_url.text
    assert c.get("/logs", params={"token": "t0k"}).status_code == 401  # the shell's too
    assert c.get("/api/shortcuts", headers={"Authorization": "Basic " + base64.b64encode(
        b"t0k:").decode()}).status_code == 401


def test_basic_auth_guards_the_shell_so_the_browser_prompts(stack):
    c = client(stack, basic_auth=["ann:pw"])
    resp = c.get("/logs")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == 'Basic realm="alco"'
    assert c.get("/logs", auth=("ann", "pw")).status_code == 200
    assert c.get("/api/shortcuts", auth=("ann", "pw")).status_code == 200
    assert c.get("/api/shortcuts", auth=("ann", "wrong")).status_code == 401
    assert c.get("/api/shortcuts", headers={"Authorization": "Basic %%%"}).status_code == 401
    assert c.get("/healthz").status_code == 200


def test_shortcuts_are_kept_in_redis(stack):
    c = client(stack, tokens=["t0k"])
    auth = {"Authorization": "Bearer t0k"}
    body = {"name": "req", "index": "logs", "query": "request_id:{}"}
    assert c.post("/api/shortcuts", json=body, headers=auth).status_code == 201
    again = client(stack, tokens=["t0k"])  # a new app process would see the same
    resolved = again.get("/api/shortcuts/req", params={"value": "r1"}, headers=auth).json()
    assert resolved["url"] == "/logs?q=request_id%3Ar1"
    assert [s["name"] for s in again.get("/api/shortcuts", headers=auth).json()["shortcuts"]] \
        == ["req"]
    assert c.delete("/api/shortcuts/req", headers=auth).status_code == 204
