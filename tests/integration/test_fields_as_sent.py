"""Fields are the user's data: every name and value comes back exactly as sent, and can be
filtered on by that name, through the API, export and ``alco grep --json``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from alco.catalog.keys import columns_key
from alco.web.app import create_app
from tests.helpers import publish, stored_count, wait_for
from tests.integration.test_grep import grep, start_web, wait_queues

pytestmark = pytest.mark.integration
TOKEN = "fields-test-token"
SENT = {"seq": 700, "tags": ["billing", "eu"], "id": "user-id-5", "ts": "not a time",
        "type": "django", "@version": "1", "a.b": "dotted", "x-y": "dashed",
        "nested": {"k": "v"}, "ms": 3, "js": "j", "logline": "l", "fp": 9}


def body(i: int, **fields: object) -> bytes:
    stamp = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=i)
    return orjson.dumps({"@timestamp": stamp.isoformat(), "message": f"fields {i}",
                         "host": "vm1", **fields})


@pytest.fixture
def sent(stack):
    stack.data["web"]["tokens"] = [TOKEN]
    stack.index(retention_days=30)
    stack.start_searchd()
    stack.collector()
    wait_queues(stack)
    others = [body(i, seq=i, tags=["other"]) for i in range(1, 4)]
    publish(stack.data["rabbitmq"]["url"], stack.exchange, [body(0, **SENT), *others],
            "logstash.app")
    config = stack.config()
    wait_for(lambda: stored_count(config, "logs") >= 4, message="4 lines stored")
    # the writer reports the columns it saw to Redis after it stored the batch: a filter on
    # a column not reported yet is an unknown field
    client = redis.Redis.from_url(config.redis.url)
    wait_for(lambda: client.hexists(columns_key(config.redis.prefix, "logs"), "nested"),
             message="the columns reported")
    return stack


def test_names_and_values_round_trip_and_filter(sent):
    api = TestClient(create_app(sent.config()), headers={"Authorization": f"Bearer {TOKEN}"})
    page = api.get("/api/logs/lines", params={"q": "seq:700", "from": "30d"}).json()
    assert [ln["message"] for ln in page.get("lines", [])] == ["fields 0"], page
    fields = page["lines"][0]["fields"]
    assert {k: fields[k] for k in SENT} == SENT
    for q in ("tags:billing", "id:user-id-5", "type:django", "@version:1", "a.b:dotted",
              "x-y:dashed", "ts:\"not a time\"", "seq:700 tags:eu", "ms:3"):
        found = api.get("/api/logs/lines", params={"q": q, "from": "30d"}).json()["lines"]
        assert [ln["message"] for ln in found] == ["fields 0"], q
    others = api.get("/api/logs/lines", params={"q": "tags:other", "from": "30d"}).json()
    assert len(others["lines"]) == 3
    export = api.get("/api/logs/export", params={"format": "ndjson", "q": "seq:700",
                                                  "from": "30d"})
    rows = [orjson.loads(line) for line in export.text.splitlines()]
    assert [{k: r["fields"][k] for k in SENT} for r in rows] == [SENT]


def test_grep_json_prints_fields_as_sent(sent, capsys):
    start_web(sent)
    rc, out, err = grep(sent, capsys, "logs", "seq:700", "--since", "30d", "--json")
    assert rc == 0, err
    assert len(out) == 1
    line = orjson.loads(out[0])
    assert {k: line["fields"][k] for k in SENT} == SENT
