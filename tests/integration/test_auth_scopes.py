"""Credentials limited to indexes: two indexes (shop, billing), a token limited to shop; billing
is invisible and unreadable everywhere, and answers exactly as an index that does not exist."""

from __future__ import annotations

import time

import orjson
import pika
import pytest
from starlette.testclient import TestClient

from alco.web.app import create_app
from tests.conftest import RABBIT_URL
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
ALL = {"Authorization": "Bearer t-all"}
SHOP = {"Authorization": "Bearer t-shop"}


def two_teams(stack, **web: object) -> TestClient:
    stack.index(name="shop")
    stack.index(name="billing")
    stack.data["web"].update(tokens=["t-all", "t-shop=shop"], basic_auth=["ann:pw=shop"],
                             **web)
    return TestClient(create_app(stack.config()))


@pytest.fixture
def teams(stack) -> TestClient:
    client = two_teams(stack)
    stack.start_searchd()
    config = stack.config()
    base_us = (time.time_ns() // 1000 // 1_000_000 - 120) * 1_000_000
    for slot, name in enumerate(("shop", "billing")):  # (own slots: ids differ)
        fill(config, [record(base_us + i * 1000, f"{name} line {i}", host=f"{name}-vm",
                             levelname="INFO") for i in range(5)], name, slot)
    return client


def same_as_unknown(client: TestClient, method: str, path: str, headers: dict = SHOP,
                    **kw: object) -> None:
    """``path`` (naming billing) answers as the same path naming an index that does not
    exist: status and body, but for the name."""
    hidden = client.request(method, path, headers=headers, **kw)
    unknown = client.request(method, path.replace("billing", "nosuch"), headers=headers, **kw)
    assert hidden.status_code == unknown.status_code == 404, (path, hidden.text)
    assert hidden.text.replace("billing", "nosuch") == unknown.text, path


def test_index_list_and_shortcuts_show_only_the_credentials_indexes(teams):
    names = [ix["name"] for ix in teams.get("/api/indexes", headers=SHOP).json()["indexes"]]
    assert names == ["shop"]
    assert [ix["name"] for ix in teams.get("/api/indexes", auth=("ann", "pw")).json()[
        "indexes"]] == ["shop"]
    assert len(teams.get("/api/indexes", headers=ALL).json()["indexes"]) == 2
    made = teams.post("/api/shortcuts", headers=ALL,
                      json={"name": "inv", "index": "billing", "query": "invoice:{}"})
    assert made.status_code == 201
    assert teams.get("/api/shortcuts", headers=SHOP).json()["shortcuts"] == []
    assert teams.get("/api/shortcuts/inv", headers=SHOP).status_code == 404
    assert teams.delete("/api/shortcuts/inv", headers=SHOP).status_code == 404
    mine = {"name": "inv", "index": "shop", "query": "x"}
    assert teams.post("/api/shortcuts", headers=SHOP, json=mine).status_code == 400  # not over
    hidden = teams.post("/api/shortcuts", headers=SHOP, json={**mine, "name": "b",
                                                               "index": "billing"})
    unknown = teams.post("/api/shortcuts", headers=SHOP, json={**mine, "name": "b",
                                                                "index": "nosuch"})
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.text.replace("billing", "nosuch") == unknown.text
    assert teams.get("/api/shortcuts/inv", headers=ALL).json()["index"] == "billing"


READS = ("lines", "count", "histogram", "histogram_by?field=host", "facets?field=host",
         "columns", "values/host", "context/{id}")


def test_reads_of_another_index_answer_as_an_unknown_index(teams):
    billing_id = teams.get("/api/billing/lines", headers=ALL).json()["lines"][0]["id"]
    shop_id = teams.get("/api/shop/lines", headers=ALL).json()["lines"][0]["id"]
    for read in READS:
        mine = teams.get(f"/api/shop/{read.format(id=shop_id)}", headers=SHOP)
        assert mine.status_code == 200, (read, mine.text)
        assert "billing" not in mine.text, read
        same_as_unknown(teams, "GET", f"/api/billing/{read.format(id=billing_id)}")
    lines = teams.get("/api/shop/lines", headers=SHOP).json()["lines"]
    assert sorted(ln["message"] for ln in lines) == [f"shop line {i}" for i in range(5)]
    # a billing line's id through the shop index finds nothing either
    assert teams.get(f"/api/shop/context/{billing_id}", headers=SHOP).status_code == 404


def test_tail_and_export_of_another_index_answer_as_an_unknown_index(teams):
    got = teams.get("/api/shop/export", headers=SHOP, params={"format": "ndjson"})
    assert got.status_code == 200
    assert [orjson.loads(x)["message"] for x in got.content.splitlines()] == [
        f"shop line {i}" for i in range(5)]
    for path in ("/api/billing/export?format=ndjson", "/api/billing/export?format=text",
                 "/api/billing/tail", "/api/billing/tail?q=line"):
        same_as_unknown(teams, "GET", path)


def bound_queues(stack) -> pika.BlockingConnection:
    """Queues of both indexes bound for HTTP ingest (what a collector declares)."""
    conn = pika.BlockingConnection(pika.URLParameters(RABBIT_URL))
    ch = conn.channel()
    ch.exchange_declare(stack.exchange, exchange_type="topic")
    for ix in stack.data["index"]:
        ch.queue_declare(ix["queue"])
        ch.queue_bind(ix["queue"], stack.exchange, f"alco.ingest.{ix['name']}")
    return conn


def queued(conn: pika.BlockingConnection, stack, name: str) -> int:
    return conn.channel().queue_declare(f"{stack.exchange}.{name}",
                                        passive=True).method.message_count


def test_ingest_to_another_index_is_refused_per_item(stack):
    client = two_teams(stack, ingest_tokens=["ship=shop"])
    conn = bound_queues(stack)
    ship = {"Authorization": "Bearer ship"}
    ok = client.post("/api/shop/ingest", content=b"to shop\n", headers=ship)
    assert ok.status_code == 200 and ok.json() == {"accepted": 1}
    for headers in (ship, SHOP):
        same_as_unknown(client, "POST", "/api/billing/ingest", headers,
                        content=b"to billing\n")
        loki = client.post("/loki/api/v1/push", headers={**headers, "X-Scope-OrgID": "billing",
                                                         "Content-Type": "application/json"},
                           content=b'{"streams": []}')
        assert loki.status_code == 404
        otlp = client.post("/v1/logs", headers={**headers, "X-Alco-Index": "billing",
                                                 "Content-Type": "application/json"},
                           content=b"{}")
        assert otlp.status_code == 404
    bulk = client.post("/_bulk", headers={**ship, "Content-Type": "application/x-ndjson"},
                       content=b'{"index": {"_index": "billing"}}\n{"message": "b"}\n'
                               b'{"index": {"_index": "shop"}}\n{"message": "s"}\n')
    items = [next(iter(it.values())) for it in bulk.json()["items"]]
    assert [it["status"] for it in items] == [403, 201]
    assert items[0]["error"]["type"] == "security_exception"
    assert queued(conn, stack, "shop") == 2 and queued(conn, stack, "billing") == 0
    conn.close()
