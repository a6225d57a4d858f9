"""The audit trail (every read and export logged once to ``alco.audit``, with the credential's
name, never its secret) and failed authentications: counted, and an address that keeps
failing is closed for a while."""

from __future__ import annotations

import logging

import orjson
import pytest
from prometheus_client import REGISTRY

from alco.clients.handler import AMQPHandler
from alco.web import audit
from alco.web.credentials import token_name
from tests.conftest import RABBIT_URL
from tests.helpers import Broker, records
from tests.integration.test_auth_scopes import ALL, SHOP, teams, two_teams  # noqa: F401
from tests.integration.test_auth_tickets import ticket

pytestmark = pytest.mark.integration


def audited(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "alco.audit"]


def test_every_read_and_export_is_logged_once_without_the_secret(teams, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="alco.audit")
    assert teams.get("/api/shop/lines", params={"q": "line", "limit": 3},
                     headers=SHOP).status_code == 200
    [read] = audited(caplog)
    assert (read.credential, read.index, read.endpoint, read.query, read.rows, read.outcome) \
        == (token_name("t-shop"), "shop", "lines", "line", 3, "ok")
    caplog.clear()
    export = ticket(teams, "shop", "export")
    assert teams.get("/api/shop/export", params={"ticket": export}).status_code == 200
    assert teams.get("/api/shop/count", headers=SHOP).status_code == 200
    assert teams.get("/api/billing/lines", params={"q": "secret plans"},
                     headers=SHOP).status_code == 404
    assert teams.get("/api/indexes", auth=("ann", "pw")).status_code == 200
    got = [(r.endpoint, r.index, r.credential, r.rows, r.outcome) for r in audited(caplog)]
    assert got == [("export", "shop", token_name("t-shop"), 5, "ok"),
                   ("count", "shop", token_name("t-shop"), 5, "ok"),
                   ("lines", "billing", token_name("t-shop"), 0, "NotFound"),
                   ("indexes", "*", "user:ann", 1, "ok")]
    assert audited(caplog)[2].query == "secret plans"
    for record in audited(caplog):
        assert "t-shop" not in record.getMessage() and "pw" not in str(record.__dict__)


def failures(reason: str) -> float:
    return REGISTRY.get_sample_value("alco_web_auth_failures_total", {"reason": reason}) or 0


def test_failed_authentications_are_counted_and_slow_the_address_down(stack):
    client = two_teams(stack)
    wrong, missing = failures("wrong"), failures("missing")
    assert client.get("/api/indexes").status_code == 401
    for _ in range(5):  # the free ones
        assert client.get("/api/shortcuts", headers={"Authorization": "Bearer guess"}
                          ).status_code == 401
    assert failures("missing") == missing + 1 and failures("wrong") == wrong + 5
    assert client.get("/api/shortcuts", headers=ALL).status_code == 200
    assert client.get("/api/shortcuts", auth=("ann", "guess")).status_code == 401
    closed = client.get("/api/shortcuts", headers=ALL)  # not even checked for a while
    assert closed.status_code == 429 and closed.headers["retry-after"] == "1"
    assert failures("throttled") >= 1
    in_url = failures("token_in_url")
    assert client.get("/api/shortcuts", params={"token": "t-all"}).status_code == 401
    assert failures("token_in_url") == in_url + 1


def test_metrics_need_a_credential_that_opens_every_index(stack):
    client = two_teams(stack)
    assert client.get("/metrics", headers=SHOP).status_code == 403
    assert client.get("/metrics", headers=ALL).status_code == 200


def test_the_audit_trail_can_be_shipped_into_alco_itself(teams):  # noqa: F811
    broker = Broker(RABBIT_URL)
    handler = AMQPHandler(RABBIT_URL, broker.exchange, "audit")  # as alco web makes it
    audit.ship_to(handler)
    try:
        assert teams.get("/api/shop/lines", params={"q": "line"}, headers=SHOP).status_code \
            == 200
        handler.flush()
        [(method, _, body)] = broker.take(1)
    finally:
        audit.log.removeHandler(handler)
        handler.close()
        broker.close()
    assert method.routing_key == "audit.alco.audit"
    shipped = orjson.loads(records([(method, _, body)])[0])
    assert (shipped["credential"], shipped["index"], shipped["query"], shipped["rows"]) == (
        token_name("t-shop"), "shop", "line", 5)
