"""Packing records into batch messages and tracking publisher confirms (no broker)."""

from __future__ import annotations

from alco.clients.publisher import JSON, NDJSON, Confirms, pack


def test_pack_groups_per_routing_key_in_order_and_bounds_messages() -> None:
    items = [(f"k{i % 2}", b'{"n":%d}' % i, 100 + i, None) for i in range(7)]
    msgs = pack(items, max_records=2, max_bytes=1000)
    assert [(m[0], m[1], m[2], m[5]) for m in msgs] == [
        ("k0", b'{"n":0}\n{"n":2}', NDJSON, 2), ("k0", b'{"n":4}\n{"n":6}', NDJSON, 2),
        ("k1", b'{"n":1}\n{"n":3}', NDJSON, 2), ("k1", b'{"n":5}', JSON, 1)]
    assert msgs[0][3] == 100  # the first record's timestamp
    assert len({m[4] for m in msgs}) == 4 and all(len(m[4]) == 32 for m in msgs)


def test_pack_bounds_bytes_and_keeps_a_given_message_id() -> None:
    big = b"x" * 50
    items = [("k", big, 1, "id-a"), ("k", big, 2, "id-b"), ("k", big, 3, "id-c")]
    msgs = pack(items, max_records=10, max_bytes=120)
    assert [(m[1], m[4]) for m in msgs] == [(big + b"\n" + big, "id-a"), (big, "id-c")]
    assert pack([("k", b"y" * 500, 1, "lone")], max_bytes=100)[0][1:3] == (b"y" * 500, JSON)


def test_confirms_single_out_of_order_and_multiple() -> None:
    c = Confirms()
    c.ack(2, multiple=False)
    assert c.upto == 0
    c.ack(1, multiple=False)
    assert c.upto == 2 and not c.single
    c.ack(5, multiple=False)
    c.ack(4, multiple=True)
    assert c.upto == 5 and not c.single
    c.ack(9, multiple=False)
    c.ack(10, multiple=True)
    assert c.upto == 10 and not c.single
