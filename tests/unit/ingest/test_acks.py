"""The consumer's acks, with a fake channel: in delivery order, and ahead of a batch a stuck
writer holds only when the unacked messages near prefetch, message by message."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

from alco.config import parse
from alco.ingest.consumer import ConsumerSession, Segment


class FakeChannel:
    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acks.append((delivery_tag, multiple))


def session(prefetch: int, segments: list[Segment]) -> ConsumerSession:
    s = object.__new__(ConsumerSession)
    config = parse({"rabbitmq": {"prefetch": prefetch}}, "test.toml", env={})
    s.ctx = SimpleNamespace(config=config)
    s.ch = FakeChannel()
    s.segments = deque(segments)
    s.acked_tag = 0
    s.flushed_tag = max(seg.last_tag for seg in segments)
    return s


def test_acks_follow_delivery_order_while_few_are_unacked():
    s = session(100, [Segment({0}, 10, 10, 1), Segment(set(), 20, 10, 11)])
    s.ack_ready()
    assert s.ch.acks == []  # the first batch is not stored: nothing is acked
    s.segments[0].pending.clear()
    s.ack_ready()
    assert s.ch.acks == [(20, True)]


def test_near_prefetch_the_stored_batches_behind_a_stuck_one_are_acked_one_by_one():
    stuck = Segment({0}, 40, 40, 1)
    behind = Segment(set(), 80, 40, 41)
    cut = Segment(set(), 120, 40, 0)  # continues a message the batch before cut: not alone
    waiting = Segment({3}, 160, 40, 121)
    s = session(200, [stuck, behind, cut, waiting])  # 160 unacked >= 200 / 2
    s.ack_ready()
    assert s.ch.acks == [(tag, False) for tag in range(41, 81)]
    assert behind.acked and not cut.acked
    s.ch.acks.clear()
    s.ack_ready()
    assert s.ch.acks == []  # (each message once)
    stuck.pending.clear()
    s.ack_ready()
    # up to the cut batch's last message (the stuck one's and the cut one's); not 80 again
    assert s.ch.acks == [(120, True)]
    waiting.pending.clear()
    s.ack_ready()
    assert s.ch.acks == [(120, True), (160, True)]
