"""Facets: top values through a GROUP BY on the JSON attribute (merged over parts, counted
again when values were left out), or by reading the lines of a pattern search; partial when
the time budget ran out."""

from __future__ import annotations

import bisect
import re
import time

import orjson
import pytest

from alco.config import IndexConfig, parse
from alco.index.ids import id_ms
from alco.index.schema import make_id
from alco.search import language as qlang
from alco.search.budget import MAX_QUERIES, ReadBudget
from alco.search.compile import SearchError, compile_text
from alco.search.facets import MAX_GROUPS, Facets, line_value, with_filter
from alco.search.reader import Searcher

NOW_MS = time.time_ns() // 1_000_000
LIMIT_RE = re.compile(r"LIMIT (\d+)")


class FakeSphinx:
    """Every stored line matches the index part of a query; GROUP BY js[name] is counted from
    the lines' fields."""

    def __init__(self, lines: list[tuple[int, str, dict]], cost_s: float = 0.0) -> None:
        self.lines = sorted(lines, key=lambda ln: ln[0])
        self.ids = [ln[0] for ln in self.lines]
        self.sql: list[str] = []
        self.clock = 0.0
        self.cost_s = cost_s
        self.warnings: list[str] = []

    def now(self) -> float:
        return self.clock

    def note_warnings(self, messages: list[str]) -> None:
        self.warnings += [m for m in messages if m not in self.warnings]

    def query(self, sql: str, params: list) -> list[dict]:
        if sql.startswith("DESCRIBE"):  # the probe for the text's place: not counted
            return [{"Field": "logline", "Type": "string"}]
        if sql.startswith("SHOW INDEX"):  # whether a day has hour tokens: not known
            return []
        if sql.startswith("CALL KEYWORDS"):
            return [{"qpos": "1", "tokenized": params[0], "normalized": params[0]}]
        self.sql.append(sql)
        self.clock += self.cost_s
        lo, hi = params[-2], params[-1]
        a, b = bisect.bisect_left(self.ids, lo), bisect.bisect_right(self.ids, hi)
        found = self.lines[a:b]
        if sql.startswith("SELECT COUNT(*)"):
            return [{"n": len(found)}]
        if "GROUP BY v" in sql:
            counts: dict = {}
            for _, _, fields in found:
                v = line_value(fields, params[0])
                counts[v] = counts.get(v, 0) + 1
            ranked = sorted(counts.items(), key=lambda kv: -kv[1])
            n = int(LIMIT_RE.search(sql).group(1))
            return [{"v": v, "n": c} for v, c in ranked[:n]]
        if "GROUP BY bucket" in sql:  # filters on fields are not applied here
            size = int(re.search(r"\) DIV (\d+) AS bucket", sql).group(1)) * 1000
            buckets: dict[int, int] = {}
            for i, _, _ in found:
                b = id_ms(i) * 1000 // size
                buckets[b] = buckets.get(b, 0) + 1
            return [{"bucket": b, "n": c} for b, c in sorted(buckets.items())]
        n = int(LIMIT_RE.search(sql).group(1))
        rows = found if "ORDER BY id ASC" in sql else found[::-1]
        return [{"id": i, "ts": id_ms(i) * 1000, "logline": msg, "js": orjson.dumps(f)}
                for i, msg, f in rows[:n]]


def lines(n: int, hosts: int = 3) -> list[tuple[int, str, dict]]:
    return [(make_id(NOW_MS - 1000 * (n - i), 0, 0),
             f"order {i} {'failed' if i % 4 == 0 else 'shipped'}",
             {"host": f"vm{i % hosts}", "seq": i, **({"err": True} if i % 4 == 0 else {})})
            for i in range(n)]


def facets(fake: FakeSphinx, seconds: float = 10.0) -> Facets:
    searcher = Searcher(parse({}, "<test>", env={}), sphinx=fake)  # type: ignore[arg-type]
    searcher.budget = ReadBudget(seconds, MAX_QUERIES, clock=fake.now)
    return Facets(searcher)


def test_line_value_is_text_like_the_index_groups_it():
    assert line_value({"a": 7}, "a") == "7"
    assert line_value({"a": True}, "a") == "true"
    assert line_value({"a": None}, "a") is None and line_value({}, "a") is None
    assert line_value({"a": [1, "x"]}, "a") == '[1,"x"]'


def test_top_values_most_frequent_first_with_total():
    fake = FakeSphinx(lines(10))
    got = facets(fake).top(IndexConfig(), compile_text(IndexConfig(), "", None), "host",
                           None, None, 2)
    assert got.values == [("vm0", 4), ("vm1", 3)]
    assert got.total == 10 and got.distinct == 3 and not got.partial
    assert len(fake.sql) == 1 and "js[%s] AS v" in fake.sql[0] and "GROUP BY v" in fake.sql[0]


def test_lines_without_the_field_are_one_value_none():
    fake = FakeSphinx(lines(8))
    got = facets(fake).top(IndexConfig(), compile_text(IndexConfig(), "", None), "err",
                           None, None, 10)
    assert got.values == [(None, 6), ("true", 2)]


def test_more_values_than_a_query_keeps_counts_the_lines():
    fake = FakeSphinx(lines(MAX_GROUPS + 5, hosts=MAX_GROUPS + 5))
    got = facets(fake).top(IndexConfig(), compile_text(IndexConfig(), "", None), "host",
                           None, None, 5)
    assert got.total == MAX_GROUPS + 5  # exact, though only MAX_GROUPS values came back
    assert fake.sql[-1].startswith("SELECT COUNT(*)")  # (every line: no whole-day search)


def test_a_pattern_search_reads_and_counts_its_lines():
    fake = FakeSphinx(lines(40))
    c = compile_text(IndexConfig(), "/fail.d/", None)
    got = facets(fake).top(IndexConfig(), c, "host", None, None, 10)
    assert got.total == 10  # i % 4 == 0
    assert dict(got.values) == {"vm0": 4, "vm1": 3, "vm2": 3}
    assert not any("GROUP BY" in s for s in fake.sql)


def test_a_spent_budget_makes_the_answer_partial():
    fake = FakeSphinx(lines(2000), cost_s=1.0)
    c = compile_text(IndexConfig(), "/fail.d/", None)
    got = facets(fake, seconds=1.5).top(IndexConfig(), c, "host", None, None, 10)
    assert got.partial and got.searched_to_us is not None
    assert got.total < 500
    assert any("time budget" in w for w in fake.warnings)


def test_stacked_histogram_per_value_and_in_total():
    """A field that is not ``filtered`` (no tag tokens to count a value's lines by): its
    series are counted from the lines read."""
    fake = FakeSphinx(lines(12))
    parsed = qlang.parse("", None)
    got = facets(fake).histogram_by(IndexConfig(), parsed, ("host",), (NOW_MS - 60_000) * 1000,
                                    NOW_MS * 1000, 60_000_000, 2)
    assert len(got.values) == 2 and set(got.values) <= {"vm0", "vm1", "vm2"}
    assert sum(got.counts.values()) == 12 and not got.partial
    assert got.totals == {v: 4 for v in got.values}
    assert sum(sum(by.values()) for by in got.by.values()) == 8
    assert not any("GROUP BY bucket" in s for s in fake.sql)


def test_with_filter_adds_a_field_filter():
    q = with_filter(qlang.parse("timeout -db", None), "levelname", "ERROR")
    assert q.words == ("timeout",) and q.not_words == ("db",)
    assert q.filters[-1] == qlang.FieldFilter("levelname", ("ERROR",), False)


@pytest.mark.parametrize("name", ["", "x" * 200, "a\nb"])
def test_bad_field_names_are_refused(name):
    fake = FakeSphinx([])
    with pytest.raises(SearchError):
        facets(fake).top(IndexConfig(), compile_text(IndexConfig(), "", None), name, None,
                         None)


def test_stacked_by_synonyms_counts_them_as_one_field():
    rows = [(make_id(NOW_MS - 1000 * (10 - i), 0, 0), f"x {i}",
             {"levelname" if i % 2 else "level": "ERROR" if i % 5 == 0 else "INFO"})
            for i in range(10)]
    got = facets(FakeSphinx(rows)).histogram_by(
        IndexConfig(), qlang.parse("/x/", None), ("levelname", "level"),
        (NOW_MS - 60_000) * 1000, NOW_MS * 1000, 60_000_000)
    assert got.values == ["INFO", "ERROR"] and got.totals == {"INFO": 8, "ERROR": 2}
