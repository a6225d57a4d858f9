"""Words find what grep over the hosts' files finds: the text of a traceback (``context``
columns), in day indexes made since; those made before are read as they are.  And the web app
says what is missing while Redis does not answer."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from alco.catalog.reader import ValuesReader
from alco.index import sphinxconf
from alco.index.schema import day_index
from alco.web.app import create_app
from tests.helpers import free_port
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
TRACEBACK = 'Traceback (most recent call last):\n  File "app.py", line 3\nKeyError: \'sku\''


def test_a_word_finds_the_traceback_of_a_line_and_old_days_keep_working(stack, monkeypatch,
                                                                        caplog):
    now_us = time.time_ns() // 1000
    today = datetime.now(UTC).date()
    yesterday = day_index("logs", today - timedelta(days=1))
    made = sphinxconf.index_section

    def made_before_the_context_field(schema, name, *args, **kw) -> str:
        text = made(schema, name, *args, **kw)
        return text.replace("    rt_field = context\n", "") if name == yesterday else text

    monkeypatch.setattr(sphinxconf, "index_section", made_before_the_context_field)
    stack.index()
    stack.start_searchd()
    config = stack.config()
    day_us = 86_400_000_000
    fill(config, [record(now_us - 60_000_000, "order failed", exc_info=TRACEBACK),
                  record(now_us - 50_000_000, "KeyError in the message"),
                  record(now_us - 40_000_000, "crashed", stack_trace="ValueError: x"),
                  record(now_us - 30_000_000, "all good")])
    fill(config, [record(now_us - day_us, "old order failed", exc_info=TRACEBACK),
                  record(now_us - day_us + 1, "old KeyError in the message")])
    client = TestClient(create_app(config))

    def found(q: str) -> list[str]:
        resp = client.get("/api/logs/lines", params={"q": q, "from": "3d", "order": "asc"})
        assert resp.status_code == 200, resp.text
        return [line["message"] for line in resp.json()["lines"]]

    # yesterday's index has no context field: its message is found, its traceback is not
    assert found("KeyError") == ["old KeyError in the message", "order failed",
                                 "KeyError in the message"]
    assert found("valueerror") == ["crashed"]  # python-logstash's stack_trace
    assert found('"line 3" failed') == ["order failed"]  # words of message and traceback
    assert found("failed -sku") == ["old order failed"]
    assert found("-KeyError levelname:x,y") == []
    scripts(config, now_us, found)

    redis_down(config, caplog)


def scripts(config, now_us: int, found) -> None:
    """Words of every script: Chinese and Thai (no spaces) by character, Korean and accented
    Latin as words, any case as Python's -i has it."""
    fill(config, [record(now_us - 20_000_000, "订单已支付 결제 완료"),
                  record(now_us - 19_000_000, "订单 未支付"),
                  record(now_us - 18_000_000, "CAFÉ crème İstanbul"),
                  record(now_us - 17_000_000, "สวัสดีครับ")])
    assert found("订单已支付") == ["订单已支付 결제 완료"]
    assert found("订单") == ["订单已支付 결제 완료", "订单 未支付"]
    assert found("결제") == ["订单已支付 결제 완료"]
    assert found("결") == []  # Korean is matched as words
    assert found("café istanbul") == found("Crème") == ["CAFÉ crème İstanbul"]
    assert found("สวัสดี") == ["สวัสดีครับ"]
    resp = found_page(config, "'已支付'")  # a pattern of them: the scan finds it exactly
    assert [line["message"] for line in resp] == ["订单已支付 결제 완료"]


def found_page(config, q: str) -> list[dict]:
    client = TestClient(create_app(config))
    resp = client.get("/api/logs/lines", params={"q": q, "from": "1h", "order": "asc"})
    assert resp.status_code == 200, resp.text
    return resp.json()["lines"]


def redis_down(config, caplog) -> None:
    """Redis does not answer: the start warns, /healthz and a search's warnings say what is
    missing (an unknown field cannot be told from a known one), searching goes on."""
    gone = dataclasses.replace(config, redis=dataclasses.replace(
        config.redis, url=f"redis://127.0.0.1:{free_port()}/0"))
    with caplog.at_level(logging.WARNING, logger="alco.web"), \
            TestClient(create_app(gone)) as client:
        assert any("Redis ([redis] url) does not answer" in r.getMessage()
                   for r in caplog.records)
        health = client.get("/healthz")
        assert health.status_code == 200 and health.text.startswith("ok, but Redis")
        page = client.get("/api/logs/lines", params={"q": "hostname:x"}).json()
        assert page["lines"] == [] and "a misspelt field finds no line" in page["warnings"][0]
        page = client.get("/api/logs/lines", params={"q": "KeyError"}).json()
        assert len(page["lines"]) == 3  # searching goes on
    # Redis gone after it answered: the fields it listed last are still checked
    app = create_app(config)
    client = TestClient(app)
    assert client.get("/api/logs/lines", params={"q": "hostname:x"}).status_code == 400
    app.state.alco.values = ValuesReader(gone.redis.url, gone.redis.prefix)
    assert client.get("/api/logs/lines", params={"q": "hostname:x"}).status_code == 400
    page = client.get("/api/logs/lines", params={"q": "exc_info:x"}).json()
    assert page["lines"] == [] and page["warnings"][0].startswith("Redis ([redis] url)")
