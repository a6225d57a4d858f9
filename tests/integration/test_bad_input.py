"""Bad input on the real servers: each body is stored as well as it can be, or dead-lettered
with its reason; nothing stalls; every case is counted."""

from __future__ import annotations

import orjson
import pika
import pytest

from tests.helpers import all_lines, logcollect_body, publish, wait_for
from tests.integration.test_metrics import metric, start_collector

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def nested(depth: int) -> dict:
    doc: dict = {"leaf": "bottom"}
    for _ in range(depth):
        doc = {"n": doc}
    return doc


STORED = {
    "utf8": b'{"message": "bad-utf8 caf\xe9 \xff end"}',
    "big-message": orjson.dumps({"message": "big-message " + "x" * (10 * MB)}),
    "big-plain": b"big-plain " + b"y" * (10 * MB),
    "big-field": orjson.dumps({"message": "big-field", "blob": "z" * (10 * MB)}),
    "many-fields": orjson.dumps({"message": "many-fields",
                                 **{f"f{i}": i for i in range(10_000)}}),
    "deep": orjson.dumps({"message": "deep", "tree": nested(100)}),
    "number": b"12345",
    "message-number": b'{"message": 42, "marker": "message-number"}',
    "message-object": b'{"message": {"text": "message-object"}, "marker": "message-object"}',
    "bad-time": b'{"message": "bad-time", "@timestamp": "yesterday at noon"}',
    "huge-time": b'{"message": "huge-time", "@timestamp": 1e300}',
    "controls": orjson.dumps({"message": "controls nul\x00 soh\x01 esc\x1b[31m bell\x07 end",
                              "field": "a\x00b\x1ac"}),
}
DEAD = {b"": "empty", b"   \n": "empty", b"[1, 2, 3]": "not_object",
        b'[{"message": "in an array"}]': "not_object"}


def dead_letters(url: str, queue: str) -> list[tuple[bytes, dict]]:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        out.append((body, props.headers or {}))
    conn.close()
    return out


def test_bad_bodies_are_stored_marked_or_dead_lettered_and_counted(stack):
    ix = stack.index()
    stack.start_searchd()
    start_collector(stack)
    url = stack.data["rabbitmq"]["url"]
    bodies = [*STORED.values(), *DEAD, logcollect_body(1, marker="after-all")]
    publish(url, stack.exchange, bodies)
    config = stack.config()
    lines = wait_for(lambda: (ls := all_lines(config, "logs")) and len(ls) >= len(STORED) + 1
                     and ls, timeout=60, interval=0.3, message="every storable body stored")
    assert len(lines) == len(STORED) + 1  # nothing stalled, nothing stored twice
    by_start = {ln["message"].split(" ")[0]: ln for ln in lines}

    bad = by_start["bad-utf8"]
    assert bad["message"] == "bad-utf8 caf\ufffd \ufffd end"
    assert bad["marks"]["invalid_utf8"] is True and "_invalid_utf8" not in bad["fields"]

    limit = config.collector.max_message_bytes
    for key in ("big-message", "big-plain"):
        assert len(by_start[key]["message"]) == limit
    assert "message" in by_start["big-message"]["marks"]["truncated"]
    big_field = by_start["big-field"]["fields"]
    assert len(big_field["blob"]) == config.collector.max_field_bytes
    assert by_start["big-field"]["marks"]["truncated"] == ["blob"]

    many = by_start["many-fields"]
    assert len(many["fields"]) == config.collector.max_fields
    assert "fields" in many["marks"]["truncated"]
    deep = by_start["deep"]
    assert "tree" in deep["marks"]["truncated"] and "bottom" in str(deep["fields"]["tree"])

    assert by_start["12345"]["fields"] == {}
    assert by_start["42"]["fields"]["marker"] == "message-number"
    assert orjson.loads(by_start['{"text":"message-object"}']["message"]) == \
        {"text": "message-object"}
    assert by_start["bad-time"]["marks"]["bad_timestamp"] == "yesterday at noon"
    assert "bad_timestamp" in by_start["huge-time"]["marks"]
    assert all(not k.startswith("_") for ln in lines for k in ln["fields"])  # ALCO's apart

    ctl = by_start["controls"]  # NUL shows as ␀ in the line; the fields are kept as sent
    assert ctl["message"] == "controls nul\u2400 soh\x01 esc\x1b[31m bell\x07 end"
    assert ctl["fields"]["field"] == "a\x00b\x1ac"
    assert by_start["line"]["fields"]["marker"] == "after-all"

    dead = wait_for(lambda: dead_letters(url, ix["queue"] + ".dead"), message="dead letters")
    assert sorted((b, h["x-alco-reason"]) for b, h in dead) == sorted(DEAD.items())

    def counted(name: str, reason: str) -> float:
        return metric(stack, name, index="logs", reason=reason)

    wait_for(lambda: counted("alco_records_dropped_total", "empty") == 2, message="counted")
    assert counted("alco_records_dropped_total", "not_object") == 2
    assert counted("alco_records_degraded_total", "invalid_utf8") == 1
    assert counted("alco_records_degraded_total", "truncated") == 6  # huge-time: 1e300 as text
    assert counted("alco_records_degraded_total", "message_type") == 2
    assert counted("alco_records_degraded_total", "bad_timestamp") == 2
    assert metric(stack, "alco_records_received_total", index="logs") == len(bodies)
