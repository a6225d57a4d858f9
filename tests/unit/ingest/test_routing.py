"""Records go to the writer of their producer: always the same one, in the given order."""

from __future__ import annotations

from alco.index.schema import Record
from alco.ingest.consumer import split_by_writer, writer_of


def rec(i: int, **fields: object) -> Record:
    return Record(1_700_000_000_000_000 + i, f"line {i}", dict(fields), i)


def test_one_producer_always_one_writer_in_order() -> None:
    records = [rec(i, host=f"h{i % 5}", process=i % 3) for i in range(300)]
    parts = split_by_writer(records, 4)
    assert sum(len(p) for _, p in parts) == 300
    seen: dict[tuple, int] = {}
    for writer, part in parts:
        assert [r.ts_us for r in part] == sorted(r.ts_us for r in part)
        for r in part:
            producer = (r.fields["host"], r.fields["process"])
            assert seen.setdefault(producer, writer) == writer
            assert writer_of(r.fields, 4) == writer
    assert len({w for w, _ in parts}) > 1  # 15 producers spread over the writers


def test_syslog_names_unhashable_values_and_one_writer() -> None:
    records = [rec(0, HOST="a", PROGRAM="cron", PID=1), rec(1, host=["x"], process={"p": 1}),
               rec(2)]
    parts = split_by_writer(records, 3)
    assert sorted(r.fp for _, p in parts for r in p) == [0, 1, 2]
    assert split_by_writer(records, 1) == [(0, records)]
    assert writer_of({"HOST": "a", "PROGRAM": "cron", "PID": 1}, 7) == \
        writer_of({"PID": 1, "PROGRAM": "cron", "HOST": "a", "other": 2}, 7)
