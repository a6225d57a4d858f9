"""Ids of each form (alco.index.ids) on a real searchd and line store: a day before a cutover
(to dense ids, or from dense to narrow ids) and the day after it are read as one, in time
order; counts, histograms and a redelivered batch are exact; a day index holding ids of
another form than its day's is not written into."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from alco.index import ids
from alco.index.daystore import DayStore, TransientError
from alco.index.schema import IndexSchema, Record, day_index
from alco.index.sphinxql import Sphinx
from alco.linestore.writing import LineWriter
from alco.search import reader
from alco.search.compile import compile_text
from alco.web.present import iso_us
from tests.helpers import all_lines
from tests.integration.test_check import check

pytestmark = pytest.mark.integration

MINUTE_US = 60_000_000


@pytest.fixture(params=["dense", "narrow"])
def cut_today(request) -> Iterator[date]:
    """Whatever the date of the run: dense ids from today on, yesterday's of the old form;
    or narrow ids (2-bit slots) from today on, yesterday's dense."""
    before = (ids.dense_from_day(), ids.narrow_forms())
    today = datetime.now(UTC).date()
    if request.param == "dense":  # (narrow ids from tomorrow on, whatever the defaults)
        tomorrow = today + timedelta(days=1)
        ids.set_forms(today, [(max(tomorrow, d), bits) for d, bits in before[1]])
    else:
        ids.set_forms(today - timedelta(days=1), [(today, 2)])
    yield today
    ids.set_forms(*before)


def midnight_us(day: date) -> int:
    return ids.day_start_ms(day) * 1000


def test_both_forms_read_as_one_and_count_exactly(stack, cut_today):
    stack.index()
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    today = cut_today
    cut_us = midnight_us(today)
    # the last minute before the cutover and the first after; 200 lines in one millisecond on
    # each side (more than a dense millisecond's 64 counters: the next ones are taken)
    times = [cut_us - MINUTE_US + k * 250_000 for k in range(240)] + [cut_us - 5_000] * 200
    times += [cut_us + k * 250_000 for k in range(240)] + [cut_us + 30_000_000] * 200
    times += [cut_us + 30_000_000 + 1_000]  # right after the burst: after its ids
    recs = [Record(t, f"tick {n} req {n:08x}", {"host": f"h{n % 3}", "n": n}, 10_000 + n)
            for n, t in enumerate(times)]
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    data_dir = stack.tmp / "sphinx"
    store = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(data_dir))
    try:
        result = store.store(recs, today, False)
        assert result.stored == len(recs)
        old = [int(r["id"]) for r in sx.query(
            f"SELECT id FROM {day_index('logs', today - timedelta(days=1))} LIMIT 1000 "
            "OPTION max_matches=1000", [])]
        new = [int(r["id"]) for r in sx.query(
            f"SELECT id FROM {day_index('logs', today)} LIMIT 1000 OPTION max_matches=1000", [])]
        assert (len(old), len(new)) == (440, 441)
        assert max(old) < ids.make_id(ids.day_start_ms(today), 0, 0) <= min(new)
        assert {ids.slot_of(i) for i in old + new} == {1}
        # one order over both days: the time's, and a burst's lines in the order stored
        got = all_lines(config, "logs")
        order = sorted(range(len(recs)), key=lambda n: (times[n], n))
        assert [ln["message"] for ln in got] == [recs[n].message for n in order]
        assert [ln["ts"] for ln in got] == [iso_us(times[n]) for n in order]  # not the id's
        assert all_lines(config, "logs", "req 000001c2")[0]["message"] == recs[450].message
        # a histogram across the cutover, by seconds and by minutes, counts every line
        searcher = reader.Searcher(config, sx, today)
        tick = compile_text(ix, "tick", None)
        by_minute = searcher.histogram(ix, tick, cut_us - MINUTE_US, cut_us + MINUTE_US - 1,
                                       MINUTE_US)
        assert by_minute == {cut_us - MINUTE_US: 440, cut_us: 441}
        for bucket_us in (1_000_000, 250_000, 1_500):
            counts = searcher.histogram(ix, tick, cut_us - MINUTE_US, cut_us + MINUTE_US - 1,
                                        bucket_us)
            want = Counter(t // bucket_us * bucket_us for t in times)
            # (a burst's lines past a millisecond's 64 ids count where their ids say, in the
            # next milliseconds: the same buckets but for the narrowest)
            assert sum(counts.values()) == len(recs)
            if bucket_us >= 250_000:
                assert counts == want
        assert searcher.count(ix, cut_us - MINUTE_US, cut_us - 1, "tick") == 440
        assert searcher.count(ix, cut_us, cut_us + MINUTE_US - 1, "tick") == 441
        # a redelivered batch: every line is known (those of borrowed ids too), none doubled
        again = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(data_dir))
        result = again.store(recs, today, True)
        assert (result.stored, result.duplicates) == (0, len(recs))
        # a restarted writer goes on after the ids it used, in a full millisecond too
        more = again.store([Record(cut_us + 30_000_000, "tick more", {}, 99)], today, False)
        (doc_id,) = more.ids
        burst = [i for i in new if ids.id_ms(i) - ids.day_start_ms(today) in range(30_000, 30_010)]
        assert len(burst) == 202 and doc_id > max(burst) and ids.slot_of(doc_id) == 1
    finally:
        sx.close()


def refused_after(stack, config, today: date, at_ms: int, foreign_id: int, names: str) -> None:
    """Today's day made by a line of ``at_ms``, then ``foreign_id`` (of another map) put in
    it: a writer started anew refuses the day, naming the setting ``names``."""
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        ix = config.index("logs")
        store = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(stack.tmp / "sphinx"))
        store.store([Record(at_ms * 1000, "first", {}, 1)], today, False)  # (the day is made)
        sx.execute(f"REPLACE INTO {day_index('logs', today)} (id) VALUES ({foreign_id})")
        fresh = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(stack.tmp / "sphinx"))
        with pytest.raises(TransientError, match=names):
            fresh.store([Record(at_ms * 1000 + 1, "second", {}, 2)], today, False)
    finally:
        sx.close()


@pytest.mark.parametrize("cut_today", ["dense"], indirect=True)
def test_a_day_with_ids_of_the_old_form_past_the_cutover_is_not_written_into(stack, cut_today):
    stack.index()
    stack.data["sphinx"]["dense_ids_from"] = cut_today.isoformat()  # (for `alco check`)
    stack.data["sphinx"]["slot_bits"] = [f"{d}:{bits}" for d, bits in ids.narrow_forms()]
    stack.start_searchd()
    config = stack.config()
    today = cut_today
    assert "ok      ids: dense from" in check(stack).stdout
    at_ms = ids.dense_from_ms() + 3_600_000
    name = day_index("logs", today)
    old_form = at_ms << 22 | 1 << 16  # (written by code from before dense ids)
    refused_after(stack, config, today, at_ms, old_form, "dense_ids_from")
    done = check(stack)
    assert done.returncode == 1
    assert f"FAILED  ids: {name} holds ids of the form from before dense ids" in done.stdout
    assert f"set dense_ids_from to a day after {today}" in done.stdout


@pytest.mark.parametrize("cut_today", ["narrow"], indirect=True)
def test_a_day_of_narrow_ids_written_with_dense_ones_is_not_written_into(stack, cut_today):
    """A host that still writes dense ids (an older version, or another ``slot_bits``) into
    a day of narrow ones: the writer refuses the day, ``alco check`` names the setting."""
    today = cut_today
    stack.index()
    stack.data["sphinx"].update(dense_ids_from=(today - timedelta(days=1)).isoformat(),
                                slot_bits=[f"{today}:2"])  # (for `alco check`)
    stack.start_searchd()
    config = stack.config()
    assert f"2-bit writer slots from {today}" in check(stack).stdout
    name = day_index("logs", today)
    at_ms = ids.day_start_ms(today) + 20 * 3_600_000  # (late in the day: read as days on)
    dense = ids.make_id(ids.day_start_ms(today) - 1, 0, 0) + \
        ((at_ms - ids.day_start_ms(today) + 1) << 12) | 1 << 6  # (ms << 12, slot 1)
    refused_after(stack, config, today, at_ms, dense, "slot_bits")
    done = check(stack)
    assert done.returncode == 1
    assert f"FAILED  ids: {name} holds ids of another form than the 2-bit writer slots" \
        in done.stdout
    assert f"move that entry's day after {today}" in done.stdout


def test_a_burst_in_the_last_millisecond_of_a_day_is_read_whole(stack, cut_today):
    """More than a dense millisecond's 64 ids in the last millisecond of a day: the rest take
    ids of the next day's first milliseconds, and are kept in the next day's index and day
    file, where their ids say: read in order with their text, found by a range of the next
    day's first milliseconds alone, recognised when their batch comes again, and their ids
    not given again by a writer started anew."""
    stack.index()
    stack.start_searchd()
    config = stack.config()
    ix = config.index("logs")
    today = cut_today
    midnight = midnight_us(today + timedelta(days=1))
    last_us = midnight - 1_000  # 23:59:59.999
    recs = [Record(last_us, f"late burst {n}", {"n": n}, 500 + n) for n in range(100)]
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    data_dir = stack.tmp / "sphinx"
    tomorrow = day_index("logs", today + timedelta(days=1))
    try:
        store = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(data_dir))
        result = store.store(recs, today, False)
        assert result.stored == 100
        assert len({ids.id_ms(i) // ids.DAY_MS for i in result.ids}) == 2  # (both days' ms)
        counted = sx.query(f"SELECT COUNT(*) AS n FROM {tomorrow}")
        assert int(counted[0]["n"]) == 36  # (past the 64 counters of 23:59:59.999)
        again = store.store(recs, today, True)
        assert (again.stored, again.duplicates) == (0, 100)
        # a writer started anew, a line of the next day's first millisecond
        fresh = DayStore(sx, IndexSchema.of(ix), 1, 30, lines=LineWriter(data_dir))
        first = fresh.store([Record(midnight, "first of the day", {}, 900)], today, False)
        assert first.ids[0] not in result.ids
    finally:
        sx.close()
    got = all_lines(config, "logs")
    assert [ln["message"] for ln in got] == [r.message for r in recs] + ["first of the day"]
    assert all_lines(config, "logs", "burst")[-1]["message"] == "late burst 99"
    searcher = reader.Searcher(config, Sphinx(config.sphinx.host, config.sphinx.port))
    page = searcher.lines(ix, reader.LineQuery(from_us=midnight, to_us=midnight + 999,
                                               order="asc", limit=1000))
    assert [ln.message for ln in page.lines] == [r.message for r in recs[64:]] + \
        ["first of the day"]
    assert all(ln.ts_us == last_us for ln in page.lines[:-1])  # (their time, the store's)
