"""HTTP ingest in the app, without servers: auth of ingest paths, what `GET /` answers, the
refusals that need no broker."""

from __future__ import annotations

import base64

import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from alco.config import WebConfig, parse
from alco.web.app import create_app
from alco.web.auth import AuthMiddleware, from_headers, is_ingest, is_shell
from alco.web.credentials import Credentials


def client(**web: object) -> TestClient:
    return TestClient(create_app(parse({"web": web}, "<test>", env={})))


@pytest.mark.parametrize("path", ["/api/logs/ingest", "/_bulk", "/logs-2026.11.24/_bulk",
                                  "/loki/api/v1/push", "/v1/logs"])
def test_ingest_paths_are_data_not_the_shell(path):
    assert is_ingest(path) and not is_shell(path)


def test_ingest_tokens_open_ingest_only_and_basic_may_carry_a_token():
    creds = Credentials(WebConfig(tokens=("api",), basic_auth=("ops:pw",),
                                  ingest_tokens=("ship",)))

    def allowed(headers: Headers, ingest: bool = False) -> bool:
        return from_headers(creds, headers, ingest) is not None

    def basic(text: str) -> Headers:
        return Headers({"authorization": "Basic " + base64.b64encode(text.encode()).decode()})

    assert allowed(Headers({"authorization": "Bearer ship"}), ingest=True)
    assert not allowed(Headers({"authorization": "Bearer ship"}))
    assert allowed(Headers({"authorization": "ApiKey ship"}), ingest=True)
    assert allowed(basic("rsyslog:ship"), ingest=True)
    assert allowed(basic("anyone:api"), ingest=True)
    assert not allowed(basic("anyone:api"))  # tokens as passwords: ingest only
    assert allowed(basic("ops:pw"))
    assert not allowed(basic("rsyslog:nope"), ingest=True)
    only_ingest = AuthMiddleware(None, WebConfig(ingest_tokens=("ship",)))
    assert not only_ingest.is_open("/_bulk") and only_ingest.is_open("/api/logs/lines")


def test_ingest_needs_credentials_when_any_are_configured():
    c = client(ingest_tokens=["ship"])
    assert c.post("/api/logs/ingest", content=b"x\n").status_code == 401
    assert c.post("/v1/logs", content=b"").status_code == 401
    assert c.get("/api/indexes").status_code != 401  # the API stays as configured: open


def test_root_answers_elasticsearch_clients_and_browsers():
    c = client()
    es = c.get("/", headers={"Accept": "application/json"})
    assert es.json()["version"]["number"].startswith("8.")
    page = c.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert "<main id=\"main\"" in page.text
    assert "<main id=\"main\"" in c.get("/").text  # */*
    assert c.head("/_cat/health").status_code == 200


def test_refusals_before_any_broker():
    c = client(ingest_max_bytes=100)
    assert c.post("/api/logs/ingest", content=b"x" * 200).status_code == 413
    assert c.post("/api/nope/ingest", content=b"x\n").status_code == 404
    r = c.post("/api/logs/ingest", content=b'{"a": 1}\nnope\n',
               headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["line"] == 2
    assert c.post("/v1/logs", content=b"x", headers={"Content-Type": "text/csv"}
                  ).status_code == 415
    assert c.post("/loki/api/v1/push", content=b"{",
                  headers={"Content-Type": "application/json"}).status_code == 400
    assert c.post("/_bulk", content=b"", headers={"Content-Encoding": "br"}).status_code == 415


def test_the_default_index_must_exist():
    from alco.config import ConfigError

    with pytest.raises(ConfigError, match="ingest_default_index"):
        parse({"web": {"ingest_default_index": "nope"}}, "<test>", env={})
    config = parse({"web": {"ingest_default_index": "logs"}}, "<test>", env={})
    assert config.indexes[0].ingest_routing_key == "alco.ingest.logs"
