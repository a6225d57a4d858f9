"""A day's common values (alco.index.commonvalues): decided from the busiest day searchd holds
and the catalog's texts, named in the new day's schema, left out of its lines' tag tokens;
every query form over that day and a day made before answers exactly."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from alco.catalog.values import ValuesStore
from alco.config import DEFAULT_COLUMNS
from alco.index import commonvalues
from alco.index.daystore import DayStore
from alco.index.schema import (
    Common,
    DayLayout,
    IndexSchema,
    Record,
    day_index,
    tag_token,
    value_hash,
)
from alco.index.sphinxql import Sphinx, describe
from alco.linestore.writing import LineWriter
from alco.web.app import create_app
from tests.helpers import all_lines, crc_twin, into_day_us
from tests.integration.test_buckets import docs, has_words

pytestmark = pytest.mark.integration
TWIN = crc_twin(value_hash("web-1"), "twin-")  # (a host sharing web-1's value hash)


def lines_of(day_start_us: int, rng: random.Random, label: str, twins: bool) -> list[Record]:
    out = []
    for n in range(300):
        words = rng.choice(["paid", "timeout after", "retry timeout", "user logged"])
        msg = f"{label} order {uuid.UUID(int=rng.getrandbits(128))} {words} #{n}"
        host = TWIN if twins and n % 50 == 7 else f"web-{n % 3}"
        fields = {"host": host, "levelname": "ERROR" if n % 20 == 3 else "INFO", "n": n}
        if n % 30 == 11:
            del fields["levelname"]
        out.append(Record(into_day_us(day_start_us) + n * 1000 + n % 997, msg, fields,
                          n + 1))
    return out


@pytest.fixture
def two_days(stack, monkeypatch):
    """Yesterday made before any common value; today made with the common values of
    yesterday's lines (the three hosts, on a third of them each, and INFO), decided by the
    managed searchd as for a new day, from the catalog's texts."""
    today = datetime.now(UTC).date()
    rng = random.Random(11)
    starts = [int(datetime.combine(d, datetime.min.time(), UTC).timestamp() * 1e6)
              for d in (today - timedelta(days=1), today)]
    old = lines_of(starts[0], rng, "old", False)
    new = lines_of(starts[1], rng, "new", True)
    stack.data["sphinx"]["common_share"] = 0.1
    stack.index(columns={**DEFAULT_COLUMNS, "n": "display"})
    stack.start_searchd()
    config = stack.config()
    data_dir = stack.tmp / "sphinx"
    schema = IndexSchema.of(config.index("logs"))
    DayStore(Sphinx(config.sphinx.host, config.sphinx.port), schema, 1, 30,
             lines=LineWriter(data_dir)).store(old, today, False)
    catalog = ValuesStore(config.redis.url, config.redis.prefix, "logs", schema.filtered)
    catalog.add_many([(r.fields, r.ts_us / 1e6) for r in old])
    assert catalog.flush()
    # today is new again: decided from yesterday, searchd up (as at a day's first rotation)
    name = day_index("logs", today)
    searchd = stack.searchd
    searchd.sizes.common.pop(name, None)
    made = searchd._made
    monkeypatch.setattr(searchd, "_made", lambda n: n != name and made(n))
    searchd.write_config(today)
    monkeypatch.setattr(searchd, "_made", made)
    searchd.stop()
    for path in data_dir.glob(f"{name}.*"):
        path.unlink()
    stack.start_searchd()
    config = stack.config()
    DayStore(Sphinx(config.sphinx.host, config.sphinx.port), schema, 1, 30,
             lines=LineWriter(data_dir)).store(new, today, False)
    return config, old + new, name


def test_the_new_day_names_its_common_values_and_keeps_no_tag_token_of_them(two_days):
    config, records, today = two_days
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    yesterday = day_index("logs", datetime.now(UTC).date() - timedelta(days=1))
    try:
        layouts = {n: DayLayout.of(describe(sx, n)) for n in (yesterday, today)}
    finally:
        sx.close()
    assert layouts[yesterday].common == frozenset()
    assert layouts[today].common == {Common.of("host", f"web-{k}") for k in range(3)} | {
        Common.of("levelname", "INFO")}
    for value in ("web-0", "web-1", "web-2"):
        assert docs(config, tag_token("host", value), today) == 0
        assert docs(config, tag_token("host", value), yesterday) == 100
    assert docs(config, tag_token("levelname", "ERROR"), today) == 15
    assert docs(config, tag_token("host", TWIN), today) == 6


def test_every_query_form_answers_exactly_over_both_days(two_days):
    config, records, _ = two_days
    client = TestClient(create_app(config))
    span = {"from": "3d", "to": "now"}
    host, level = (lambda r: r.fields["host"]), (lambda r: r.fields.get("levelname"))
    cases = {
        "host:web-1": lambda r: host(r) == "web-1",
        f"host:{TWIN}": lambda r: host(r) == TWIN,
        f"host:web-1,{TWIN}": lambda r: host(r) in ("web-1", TWIN),
        "host:web-0 timeout": lambda r: host(r) == "web-0" and has_words(r.message, "timeout"),
        "host:web-0 -timeout": lambda r: host(r) == "web-0"
        and not has_words(r.message, "timeout"),
        "order -host:web-1": lambda r: host(r) != "web-1",
        "host:web-2 -host:web-1 -levelname:INFO": lambda r: host(r) == "web-2"
        and level(r) != "INFO",
        "levelname:INFO host:web-1": lambda r: level(r) == "INFO" and host(r) == "web-1",
        "levelname:ERROR": lambda r: level(r) == "ERROR",
        "levelname:INFO -host:web-0,web-2": lambda r: level(r) == "INFO"
        and host(r) not in ("web-0", "web-2"),
        "/pa[i]d/ host:web-1": lambda r: "paid" in r.message and host(r) == "web-1",
        "'imeout' -host:web-2": lambda r: "imeout" in r.message and host(r) != "web-2",
        "n:7 host:web-1": lambda r: r.fields["n"] == 7 and host(r) == "web-1",
    }
    for q, want in cases.items():
        hits = [r for r in records if want(r)]
        assert hits, q
        got = [ln["message"] for ln in all_lines(config, "logs", q)]
        assert got == [r.message for r in hits], q
        got = client.get("/api/logs/count", params={"q": q, **span}).json()
        assert (got["count"], got["partial"]) == (len(hits), False), q
        got = client.get("/api/logs/histogram", params={"q": q, "buckets": 48, **span}).json()
        assert got["total"] == len(hits), q
        got = client.get("/api/logs/facets", params={"q": q, "field": "host", **span}).json()
        by_host: dict[str, int] = {}
        for r in hits:
            by_host[host(r)] = by_host.get(host(r), 0) + 1
        assert {v["value"]: v["count"] for v in got["values"]} == by_host, q
        page = client.get("/api/logs/lines", params={"q": q, "limit": 5, **span}).json()
        assert [ln["message"] for ln in page["lines"]] == \
            [r.message for r in hits[::-1][:5]], q
    # the twin's lines are a group of their own in facets of every line
    got = client.get("/api/logs/facets", params={"field": "host", **span}).json()
    assert {v["value"]: v["count"] for v in got["values"]} == {
        "web-0": 198, "web-1": 198, "web-2": 198, TWIN: 6}


def test_the_decision_counts_the_busiest_day_and_takes_texts_from_the_catalog(two_days):
    config, _, _ = two_days
    yesterday = day_index("logs", datetime.now(UTC).date() - timedelta(days=1))
    columns = IndexSchema.of(config.index("logs")).filtered
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        texts = {"levelname": ["ERROR", "INFO"], "host": ["web-0", "web-1", "web-2"]}
        assert commonvalues.decide(sx, yesterday, columns, 0.5,
                                   lambda col: texts.get(col, [])) == [
            Common.of("levelname", "INFO")]
        # a value the catalog does not name, or whose CRC two of its values share: none
        twins = {"host": ["web-0", "web-1", TWIN], "levelname": []}
        assert commonvalues.decide(sx, yesterday, columns, 0.2,
                                   lambda col: twins.get(col, [])) == [
            Common.of("host", "web-0")]
        assert commonvalues.decide(sx, yesterday, columns, 0.2, lambda col: None) is None
        assert commonvalues.decide(sx, yesterday, columns, 0, texts.get) == []
    finally:
        sx.close()
