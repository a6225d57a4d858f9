"""The app's one exception handler: each kind of error to its status and JSON body."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from alco.config import parse
from alco.errors import AlcoError, BadInput, NotFound, Unavailable
from alco.index.sphinxql import SphinxError, SphinxQueryError
from alco.search.compile import SearchError
from alco.web.app import create_app
from tests.helpers import free_port

RAISED: dict[str, AlcoError] = {
    "bad": BadInput("limit must be between 1 and 1000"),
    "query": SearchError("unterminated quote (at position 4)", position=4),
    "refused": SphinxQueryError("sphinxql: syntax error", 1064),
    "missing": NotFound("no index named 'x'"),
    "redis": Unavailable("the values are unknown", service="redis"),
    "searchd": SphinxError("Lost connection to server during query", 2013),
}


def client(redis_url: str = "redis://127.0.0.1:6379/0") -> TestClient:
    def boom(request: Request) -> Response:
        raise RAISED[request.path_params["kind"]]

    app = create_app(parse({"web": {}, "redis": {"url": redis_url}}, "<test>", env={}))
    app.router.routes.insert(0, Route("/boom/{kind}", boom))
    return TestClient(app)


@pytest.mark.parametrize(("kind", "status", "body"), [
    ("bad", 400, {"error": "limit must be between 1 and 1000"}),
    ("query", 400, {"error": "unterminated quote (at position 4)", "position": 4}),
    ("refused", 400, {"error": "sphinxql: syntax error"}),
    ("missing", 404, {"error": "no index named 'x'"}),
    ("redis", 503, {"error": "redis unavailable: the values are unknown", "service": "redis"}),
    ("searchd", 503, {"error": "search engine unavailable: Lost connection to server during "
                               "query", "service": "searchd"}),
])
def test_each_kind_of_error_has_its_status(kind: str, status: int, body: dict) -> None:
    resp = client().get(f"/boom/{kind}")
    assert resp.status_code == status
    assert resp.json() == body
    assert resp.headers["x-content-type-options"] == "nosniff"  # still through the middleware


def test_a_redis_that_does_not_answer_is_a_503() -> None:
    resp = client(f"redis://127.0.0.1:{free_port()}/0").get("/api/shortcuts")
    assert resp.status_code == 503
    assert resp.json()["error"].startswith("redis unavailable: ")
    assert resp.json()["service"] == "redis"
