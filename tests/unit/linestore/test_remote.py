"""The shards' line services on their own: routing ids by writer slot, the keys that say where
the services are, and the service's answers to good and bad requests (no searchd: /lines reads
only the store)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from alco.config import ConfigError, parse
from alco.index.schema import day_index, day_of_us, make_id, slot_of
from alco.index.sphinxconf import line_store
from alco.linestore import service
from alco.linestore.remote import ShardInfo, bearer, line_services, route
from alco.linestore.writing import LineWriter

MS = 1_796_000_000_000 + 3_600_000  # an hour into a day of December 2026


def test_an_id_goes_to_the_shard_whose_writer_slots_hold_it():
    owners = {"a": ShardInfo(0, {"logs": 2, "audit": 1}), "b": ShardInfo(8, {"logs": 4})}
    ids = [make_id(MS, 1, 7), make_id(MS, 8, 0), make_id(MS + 1, 0, 0), make_id(MS, 11, 3),
           make_id(MS, 2, 0), make_id(MS, 12, 0), make_id(MS, 63, 63)]
    assert [slot_of(i) for i in ids] == [1, 8, 0, 11, 2, 12, 63]
    by_shard, unowned = route("logs", ids, owners)
    assert by_shard == {"a": [ids[0], ids[2]], "b": [ids[1], ids[3]]}
    assert unowned == [ids[4], ids[5], ids[6]]  # past either shard's writers
    by_shard, unowned = route("audit", ids, owners)  # shard b writes no audit lines
    assert by_shard == {"a": [ids[2]]} and len(unowned) == 6
    assert route("logs", [], owners) == ({}, [])
    assert route("logs", ids[:1], {}) == ({}, ids[:1])


def config(**sphinx: object) -> object:
    return parse({"sphinx": sphinx, "web": {"tokens": ["t-shop=logs", "t-all"]}}, "t.toml",
                 env={})


def test_the_head_finds_each_agents_line_service():
    agents = ["10.0.0.11:9312", "shard2.lan:9312"]
    assert line_services(config(agents=agents)) == []  # shards keep the text in searchd
    assert line_services(config(agents=agents, lines_port=9313)) == [
        ("10.0.0.11:9312", "10.0.0.11:9313"), ("shard2.lan:9312", "shard2.lan:9313")]
    on_one_host = config(agents=agents, agent_lines=["127.0.0.1:7001", "127.0.0.1:7002"])
    assert [a for _, a in line_services(on_one_host)] == ["127.0.0.1:7001", "127.0.0.1:7002"]
    assert bearer(on_one_host) == "t-all"  # the first that opens every index
    assert bearer(parse({}, "t.toml", env={})) is None


def test_a_shard_with_lines_port_keeps_its_lines_in_the_store():
    shard = config(api_port=9312)
    assert not line_store(shard, shard.indexes[0])  # as before: the head reads searchd
    shard = config(api_port=9312, lines_port=9313)
    assert line_store(shard, shard.indexes[0])
    single = config()
    assert line_store(single, single.indexes[0])


@pytest.mark.parametrize("sphinx, needle", [
    ({"lines_port": 9313}, "only a shard"),
    ({"api_port": 9312, "lines_port": 9312}, "already sphinx.port or sphinx.api_port"),
    ({"api_port": 9312, "lines_port": 70000}, "a port 1-65535"),
    ({"agents": ["a:1", "b:1"], "agent_lines": ["a:2"]}, "one \"host:port\" per agent"),
    ({"agents": ["a:1"], "agent_lines": ["a"]}, "'a' is not host:port"),
])
def test_bad_line_service_keys_are_named(sphinx: dict, needle: str):
    with pytest.raises(ConfigError, match="sphinx.(lines_port|agent_lines)") as err:
        config(**sphinx)
    assert needle in str(err.value)


@pytest.fixture
def shard(tmp_path: Path) -> TestClient:
    data_dir = tmp_path / "sphinx"
    cfg = parse({"sphinx": {"api_port": 9312, "lines_port": 9313, "data_dir": str(data_dir),
                            "port": 1,  # no searchd: /lines reads the store alone
                            "slot_bits": ["2026-12-08:4"]},  # (slots 8-10: 4 bits)
                 "collector": {"first_slot": 8},
                 "web": {"tokens": ["t-all", "t-other=other"]},
                 "index": [{"name": "logs", "writers": 3}, {"name": "other"}]}, "s", env={})
    writer = LineWriter(data_dir)
    lines = [(make_id(MS + i, 8 + i % 3, 0), (MS + i) * 1000, f"line {i}", {"seq": i},
              {"truncated": True} if i == 3 else {}) for i in range(10)]
    writer.put(day_index("logs", day_of_us(lines[0][1])), lines)
    writer.close()
    client = TestClient(service.create_app(cfg), headers={"Authorization": "Bearer t-all"})
    client.lines = lines
    client.day = day_index("logs", day_of_us(lines[0][1]))
    return client


def test_the_service_answers_the_lines_it_holds(shard: TestClient):
    ids = [ln[0] for ln in shard.lines]
    resp = shard.post("/lines", content=orjson.dumps(
        {"index": "logs", "ids": [ids[3], ids[1], 12345], "days": [shard.day]}))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id": [ids[1], ids[3]], "ts": [shard.lines[1][1], shard.lines[3][1]],
                           "msg": ["line 1", "line 3"], "f": [{"seq": 1}, {"seq": 3}],
                           "m": [{}, {"truncated": True}]}
    only = shard.post("/lines", content=orjson.dumps({"index": "logs", "ids": ids[:2],
                                                      "messages": True})).json()
    assert only == {"id": ids[:2], "ts": [shard.lines[0][1], shard.lines[1][1]],
                    "msg": ["line 0", "line 1"], "m": [{}, {}]}
    info = shard.get("/info").json()
    assert info == {"first_slot": 8, "slots": {"logs": 3, "other": 1}, "layouts": {}}


@pytest.mark.parametrize("body, status, needle", [
    (b"not json", 400, "not JSON"),
    (b"[1, 2]", 400, "not a JSON object"),
    ({"ids": [1]}, 400, "index:"),
    ({"index": "nope", "ids": [1]}, 404, "no index 'nope'"),
    ({"index": "logs", "ids": "1,2"}, 400, "ids: expected a list"),
    ({"index": "logs", "ids": [1, "2"]}, 400, "every id is an integer"),
    ({"index": "logs", "ids": [-1]}, 400, "every id is an integer"),
    (b'{"index": "logs", "ids": [9223372036854775808]}', 400, "every id is an"),
    ({"index": "logs", "ids": list(range(service.MAX_IDS + 1))}, 413, "at most 2000"),
    ({"index": "logs", "ids": [1], "days": ["../../etc"]}, 400, "not a day index"),
    ({"index": "logs", "ids": [1], "days": ["other_20260101"]}, 400, "not a day index"),
    ({"index": "logs", "ids": [1], "days": "logs_20260101"}, 400, "days: expected a list"),
])
def test_bad_requests_are_told_what_is_wrong(shard: TestClient, body: object, status: int,
                                             needle: str):
    resp = shard.post("/lines", content=body if isinstance(body, bytes) else orjson.dumps(body))
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["error"]


def test_a_token_limited_to_an_index_opens_that_index_only(shard: TestClient):
    other = {"Authorization": "Bearer t-other"}
    ok = shard.post("/lines", content=b'{"index": "other", "ids": [1]}', headers=other)
    assert ok.status_code == 200 and ok.json()["id"] == []
    resp = shard.post("/lines", content=b'{"index": "logs", "ids": [1]}', headers=other)
    assert resp.status_code == 404 and "no index 'logs'" in resp.json()["error"]


def test_the_service_bounds_and_guards_every_request(shard: TestClient):
    big = b'{"index": "logs", "ids": [' + b"1, " * service.MAX_BODY + b"1]}"
    assert shard.post("/lines", content=big).status_code == 413
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic t-all"}):
        resp = shard.post("/lines", content=b"{}", headers={"Authorization": "", **auth})
        assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
        assert shard.get("/info", headers={"Authorization": "", **auth}).status_code == 401
    assert shard.get("/lines").status_code == 405
    days = ",".join(f"logs_202601{d:02}" for d in range(1, 31)) * 3
    assert shard.get("/info", params={"days": days}).status_code == 413
    assert shard.get("/info", params={"days": "logs_x"}).status_code == 400
