"""Record normalisation: every shipper's body, times, names, limits, bad input."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import orjson
import pytest

from alco.ingest.records import DeadLetter, Limits, NormaliseOptions, normalise, parse_timestamp

ARRIVAL = 1_700_000_000_000_000


def us(text: str) -> int:
    dt = datetime.fromisoformat(text)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def norm(body: bytes | dict, **kw: object):
    if isinstance(body, dict):
        body = orjson.dumps(body)
    return normalise(body, arrival_us=ARRIVAL, **kw)


LOGCOLLECT = {
    "@timestamp": "2026-11-24T03:57:23.986993Z", "@version": 1, "message": "boom", "host": "vm",
    "tags": [], "type": "Logstash", "seq": 1, "levelname": "ERROR", "logger": "shop.views",
    "stack_info": None, "process": 7251, "project": "shop", "application": "backend",
    "exc_info": "Traceback …", "lineno": 10, "threadName": "MainThread", "request_id": "r1",
}


def test_logcollect_body():
    rec = norm(LOGCOLLECT)
    assert rec.ts_us == us("2026-11-24T03:57:23.986993+00:00")
    assert rec.message == "boom"
    assert rec.fields["levelname"] == "ERROR"
    assert rec.fields["exc_info"] == "Traceback …"
    assert rec.fields["request_id"] == "r1"
    assert rec.fields["seq"] == 1 and "seq_x" not in rec.fields
    assert "@timestamp" not in rec.fields and "message" not in rec.fields
    assert rec.degraded == []


def test_python_logstash_body_with_millisecond_stamp():
    rec = norm({"@timestamp": "2026-11-24T04:01:12.635Z", "@version": "1", "message": "crashed",
                "host": "vm", "path": "/app/billing.py", "tags": [], "type": "logstash",
                "level": "ERROR", "logger_name": "billing", "stack_trace": "Traceback …",
                "lineno": 9, "process": 8437, "thread_name": "MainThread"})
    assert rec.ts_us == us("2026-11-24T04:01:12.635+00:00")
    assert rec.message == "crashed"
    assert rec.fields["logger_name"] == "billing"
    assert rec.fields["stack_trace"] == "Traceback …"


def test_syslog_ng_format_json_body():
    rec = norm({"PROGRAM": "sshd", "PRIORITY": "info", "PID": "812", "MESSAGE": "Accepted key",
                "HOST": "gw", "FACILITY": "auth", "ISODATE": "2026-11-24T08:00:01+02:00",
                "DATE": "Nov 24 08:00:01"})
    assert rec.message == "Accepted key"
    assert rec.ts_us == us("2026-11-24T06:00:01+00:00")
    assert rec.fields["PROGRAM"] == "sshd"


def test_syslog_ng_bsd_date_only():
    rec = norm({"MESSAGE": "x", "DATE": "Nov  3 08:00:01"})
    ts = datetime.fromtimestamp(rec.ts_us / 1e6, UTC)
    assert (ts.month, ts.day, ts.hour, ts.second) == (11, 3, 8, 1)
    assert rec.degraded == []


def test_any_object_with_a_message_like_field():
    assert norm({"msg": "hello", "x": 1}).message == "hello"
    assert norm({"log": "from docker\n", "stream": "stdout"}).message == "from docker\n"
    rec = norm({"x": 1})
    assert rec.message == "" and rec.fields == {"x": 1} and rec.ts_us == ARRIVAL


def test_plain_text_uses_amqp_timestamp_or_arrival():
    rec = norm(b"a plain line\n", amqp_ts=1_700_000_123)
    assert rec.message == "a plain line" and rec.fields == {}
    assert rec.ts_us == 1_700_000_123_000_000
    assert norm(b"another").ts_us == ARRIVAL
    assert norm(b"garbage amqp ts", amqp_ts=-5).ts_us == ARRIVAL


def test_a_line_stamped_at_its_arrival_says_so():
    """Only a line whose time is its arrival's is marked: a redelivery arrives at another
    time, and the writer tells it from stored lines by its text (alco.index.daystore)."""
    assert norm(b"plain").arrival and norm({"message": "no time"}).arrival
    assert not norm(b"plain", amqp_ts=1_700_000_123).arrival
    assert not norm({"message": "m"}, amqp_ts=1_700_000_123).arrival
    assert not norm({"message": "m", "@timestamp": "2026-11-24T03:57:23Z"}).arrival
    bad = norm({"message": "m", "@timestamp": "yesterday-ish"})
    assert bad.arrival and bad.ts_us == ARRIVAL


def test_offsets_are_honoured():
    a = norm({"message": "a", "@timestamp": "2026-11-24T10:00:00+03:00"}).ts_us
    b = norm({"message": "b", "@timestamp": "2026-11-24T07:00:00Z"}).ts_us
    c = norm({"message": "c", "@timestamp": "2026-11-24T02:00:00-05:00"}).ts_us
    assert a == b == c


@pytest.fixture
def moscow_tz():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Moscow"  # UTC+3, no DST
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_naive_and_zulu_as_local_time_by_index_setting(moscow_tz):
    local = NormaliseOptions(naive_local=True)
    for stamp in ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00"):
        assert norm({"message": "m", "@timestamp": stamp}, options=local).ts_us == \
            us("2026-11-24T07:00:00+00:00")
        assert norm({"message": "m", "@timestamp": stamp}).ts_us == \
            us("2026-11-24T10:00:00+00:00")
    explicit = {"message": "m", "@timestamp": "2026-11-24T10:00:00+01:00"}
    assert norm(explicit, options=local).ts_us == us("2026-11-24T09:00:00+00:00")


def test_epoch_numbers():
    s = 1_764_000_000
    assert parse_timestamp(s) == s * 1_000_000
    assert parse_timestamp(s * 1000 + 5) == s * 1_000_000 + 5000
    assert parse_timestamp(s * 1_000_000 + 7) == s * 1_000_000 + 7
    assert parse_timestamp(s * 1_000_000_000 + 7000) == s * 1_000_000 + 7


@pytest.mark.parametrize("raw", ["garbage", "", None, True, [1], {"a": 1}, -1, 1e300,
                                 "0001-01-01T00:00:00", "9999-12-31T23:59:59", float("nan")])
def test_garbage_timestamps_fall_back_and_are_marked(raw):
    rec = norm({"message": "m", "@timestamp": raw})
    assert rec.ts_us == ARRIVAL
    assert "bad_timestamp" in rec.degraded
    assert "bad_timestamp" in rec.marks and "@timestamp" in rec.fields  # kept as sent


def test_field_names_are_kept_as_sent_and_excluded_dropped():
    body = {"message": "m", "id": 1, "ts": 2, "ms": 3, "seq": 4, "logline": 5, "js": 6,
            "tags": ["a", "b"], "type": "t", "@version": "1", "a.b": 1, "x-y": 2,
            "password": "secret", "user": "bob"}
    rec = norm(body, options=NormaliseOptions(excluded=frozenset({"password"})))
    assert rec.fields == {"id": 1, "ts": 2, "ms": 3, "seq": 4, "logline": 5, "js": 6,
                          "tags": ["a", "b"], "type": "t", "@version": "1", "a.b": 1, "x-y": 2,
                          "user": "bob"}


@pytest.mark.parametrize("message, text", [(42, "42"), (1.5, "1.5"), ({"a": 1}, '{"a":1}'),
                                           ([1, "x"], '[1,"x"]'), (True, "True")])
def test_message_of_the_wrong_type_is_made_text(message, text):
    rec = norm({"message": message})
    assert rec.message == text
    assert "message_type" in rec.degraded


def test_invalid_utf8_is_replaced_and_marked():
    rec = norm(b'{"message": "caf\xe9 \xff"}')
    assert rec.message == "caf\ufffd \ufffd"
    assert rec.marks["invalid_utf8"] is True and "_invalid_utf8" not in rec.fields
    assert "invalid_utf8" in rec.degraded
    plain = norm(b"plain \xc3")
    assert plain.message == "plain \ufffd" and "invalid_utf8" in plain.degraded


def test_limits_truncate_and_mark():
    limits = Limits(max_message_bytes=100, max_fields=5, max_depth=3, max_field_bytes=50)
    nested: dict = {"leaf": 1}
    for _ in range(100):
        nested = {"n": nested}
    body = {"message": "é" * 1000, "big": "x" * 1000, "deep": nested,
            **{f"f{i}": i for i in range(10_000)}}
    rec = norm(body, options=NormaliseOptions(limits=limits))
    assert len(rec.message.encode()) <= 100 and rec.message == "é" * 50
    assert len(rec.fields) == 5
    assert rec.fields["big"] == "x" * 50
    assert isinstance(rec.fields["deep"]["n"]["n"], str)  # flattened at the depth limit
    assert set(rec.marks["truncated"]) >= {"message", "fields", "big", "deep"}
    assert "truncated" in rec.degraded


def test_huge_integers_become_text():
    rec = norm(b'{"message": "m", "n": 18446744073709551615}')
    assert rec.fields["n"] == "18446744073709551615"


def test_empty_and_non_object_json_are_dead_letters():
    for body in (b"", b"  \n", b"[1, 2, 3]", b'[{"message": "x"}]'):
        with pytest.raises(DeadLetter) as info:
            norm(body)
        assert info.value.reason in ("empty", "not_object")
    with pytest.raises(DeadLetter):
        norm(b"42", content_type="application/json")


def test_numbers_and_broken_json_without_json_content_type_are_plain_text():
    assert norm(b"42").message == "42"
    assert norm(b'{"message": "unterminated').message == '{"message": "unterminated'


def test_fingerprint_depends_on_body_and_message_id():
    a = norm(b"same body")
    assert a.fp == norm(b"same body").fp
    assert a.fp != norm(b"same body", message_id="m1").fp
    assert a.fp != norm(b"other body").fp
    assert -(2 ** 63) <= a.fp < 2 ** 63


@pytest.mark.parametrize("value", [1e20, -1e300, 1.5e100])
def test_floats_searchd_cannot_print_are_stored_as_text_and_marked(value):
    rec = norm(orjson.dumps({"message": "m", "x": value, "nested": {"y": value}}))
    assert isinstance(rec.fields["x"], str) and isinstance(rec.fields["nested"]["y"], str)
    assert "x" in rec.marks["truncated"]


def test_ordinary_floats_stay_numbers():
    rec = norm(b'{"message": "m", "x": 1.5e3, "y": 0.25, "z": 123456789012.5}')
    assert rec.fields == {"x": 1500.0, "y": 0.25, "z": 123456789012.5} and not rec.marks


def test_batch_bodies_split_into_lines_each_with_its_own_fingerprint():
    from alco.ingest.records import batch_lines, is_batch

    assert is_batch("application/x-ndjson") and is_batch("application/x-ndjson; charset=utf-8")
    assert not is_batch("application/json") and not is_batch(None) and not is_batch("")
    body = b'{"message": "a"}\r\n\n   \n{"message": "a"}\nplain\n'
    lines = batch_lines(body)
    assert lines == [b'{"message": "a"}', b'{"message": "a"}', b"plain"]
    recs = [normalise(line, message_id="m1", line_no=n, arrival_us=ARRIVAL)
            for n, line in enumerate(lines)]
    assert [r.message for r in recs] == ["a", "a", "plain"]
    assert len({r.fp for r in recs}) == 3  # identical lines of one message stay distinct
    again = normalise(lines[0], message_id="m1", line_no=0, arrival_us=ARRIVAL)
    assert again.fp == recs[0].fp  # a redelivered batch gives the same fingerprints
    assert normalise(lines[0], message_id="m1").fp != recs[0].fp  # a single body: as before
    assert recs[2].ts_us == ARRIVAL
