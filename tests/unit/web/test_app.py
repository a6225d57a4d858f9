"""The page's server side: shell and static files, security headers, auth rules, shortcuts."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from alco.config import WebConfig, parse
from alco.web import shortcuts
from alco.web.app import create_app
from alco.web.auth import AuthMiddleware, is_shell
from alco.web.page import STATIC


def app(**web: object) -> TestClient:
    return TestClient(create_app(parse({"web": web}, "<test>", env={})))


class FakeSaved:
    def __init__(self) -> None:
        self.data: dict[str, dict] = {}

    def all(self) -> dict[str, dict]:
        return dict(self.data)

    def get(self, name: str) -> dict | None:
        return self.data.get(name)

    def put(self, name: str, shortcut: dict) -> None:
        self.data[name] = shortcut

    def delete(self, name: str) -> bool:
        return self.data.pop(name, None) is not None


@pytest.mark.parametrize("path", ["/", "/logs", "/s", "/s/req/abc-1"])
def test_shell_is_served_with_a_strict_csp(path):
    resp = app().get(path)
    assert resp.status_code == 200
    assert "<main id=\"main\"" in resp.text
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_shell_has_no_inline_script_or_style():
    html = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html and " on" + "click=" not in html


def test_page_code_never_parses_log_text_as_html():
    for path in STATIC.glob("*.js"):
        code = path.read_text()
        for sink in (".innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                     "eval(", "new Function"):
            assert sink not in code, f"{path.name} uses {sink}"


def test_static_modules_are_served_as_javascript():
    client = app()
    for name in ("app.js", "dom.js", "lines.js", "state.js", "side.js", "tail.js"):
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200
        assert "javascript" in resp.headers["content-type"]


def test_which_paths_are_open():
    assert is_shell("/logs") and is_shell("/") and is_shell("/s/a/b")
    assert not is_shell("/api/indexes") and not is_shell("/metrics")
    tokens_only = AuthMiddleware(None, WebConfig(tokens=("t",)))
    assert tokens_only.is_open("/logs") and tokens_only.is_open("/static/app.js")
    assert not tokens_only.is_open("/api/logs/lines") and not tokens_only.is_open("/metrics")
    basic = AuthMiddleware(None, WebConfig(basic_auth=("ann:pw",)))
    assert not basic.is_open("/logs") and basic.is_open("/healthz")
    assert AuthMiddleware(None, WebConfig()).is_open("/api/logs/tail")


@pytest.mark.parametrize(("template", "value", "query"), [
    ("request_id:{}", "abc", "request_id:abc"),
    ("host:{} error", "web 1", 'host:"web 1" error'),
    ("levelname:ERROR", "timeout", "levelname:ERROR timeout"),
    ("user:{}", 'a"b:c', 'user:"a b:c"'),
    ("request_id:{}", "", "request_id:"),
])
def test_a_shortcut_fills_its_slot(template, value, query):
    assert shortcuts.fill(template, value) == query


def test_shortcuts_api_create_resolve_list_delete(monkeypatch):
    saved = FakeSaved()
    monkeypatch.setattr(shortcuts, "store", lambda state: saved)
    client = app()
    body = {"name": "req", "index": "logs", "query": "request_id:{}", "description": "by id"}
    assert client.post("/api/shortcuts", json=body).status_code == 201
    assert client.get("/api/shortcuts").json()["shortcuts"] == [body]
    got = client.get("/api/shortcuts/req", params={"value": "r 42"}).json()
    assert got["q"] == 'request_id:"r 42"'
    assert got["url"] == "/logs?q=request_id%3A%22r+42%22"
    assert client.delete("/api/shortcuts/req").status_code == 204
    assert client.get("/api/shortcuts/req").status_code == 404
    assert client.delete("/api/shortcuts/req").status_code == 404


@pytest.mark.parametrize(("body", "needle"), [
    ({"name": "a b", "index": "logs"}, "name"),
    ({"name": "lines", "index": "logs"}, "reserved"),
    ({"name": "x", "index": "nope"}, "index"),
    ({"name": "x", "index": "logs", "query": 5}, "query"),
    ([1, 2], "object"),
])
def test_bad_shortcuts_are_400_with_a_message(monkeypatch, body, needle):
    monkeypatch.setattr(shortcuts, "store", lambda state: FakeSaved())
    resp = app().post("/api/shortcuts", json=body)
    assert resp.status_code == 400 and needle in resp.json()["error"]


def test_shortcut_must_be_sent_as_json(monkeypatch):
    monkeypatch.setattr(shortcuts, "store", lambda state: FakeSaved())
    resp = app().post("/api/shortcuts", content=b"name=x&index=logs",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415
