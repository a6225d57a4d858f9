"""Query text -> SphinxQL pieces: tag tokens, per-field full text, JSON filters, errors."""

from __future__ import annotations

import pytest

from alco.config import IndexConfig
from alco.index.buckets import bucket, buckets_of
from alco.index.schema import Common, DayLayout, tag_token, value_hash
from alco.search.checks import FieldEquals
from alco.search.compile import SearchError, compile_text, every_line, where_all, where_ids
from alco.search.dictionary import Lookups
from alco.search.language import bucket_size_us

IX = IndexConfig(name="logs", columns={"host": "filtered", "request_id": "indexed",
                                       "exc_info": "context"})
KNOWN = {"host", "request_id", "exc_info", "process", "duration", "user"}


def test_filtered_column_is_a_tag_token_not_a_scan():
    c = compile_text(IX, "host:web1,web2 error", KNOWN)
    assert not c.checks
    match = c.match
    assert f"@tags ({tag_token('host', 'web1')} | {tag_token('host', 'web2')})" in match
    assert "@@relaxed @(logline,context) (error)" in match
    assert [t.n for t in c.terms] == [0]


def test_indexed_column_goes_to_its_own_field():
    c = compile_text(IX, "request_id:abc-1", KNOWN)
    assert c.match == '@f_request_id ("abc\\-1")'
    assert not c.checks


def equals(c) -> list[tuple[str, tuple[str, ...], bool]]:
    return [(fc.field, fc.values, fc.negate) for fc in c.checks.items
            if isinstance(fc, FieldEquals)]


def test_other_fields_are_checked_against_the_fields_as_sent():
    c = compile_text(IX, "user:bob process:42 duration:1.5 -user:eve error", KNOWN)
    assert equals(c) == [("user", ("bob",), False), ("process", ("42",), False),
                         ("duration", ("1.5",), False), ("user", ("eve",), True)]
    fields = {"user": "bob", "process": 42, "duration": 1.5}
    assert c.checks.passes("an error", fields)
    assert not c.checks.passes("an error", {**fields, "process": "43"})
    assert not c.checks.passes("an error", {**fields, "user": ["bob", "eve"]})
    assert c.checks.passes("an error", {**fields, "process": "42", "duration": "1.5"})


@pytest.mark.parametrize("value, want, hit", [
    ("x", "x", True), ("x", "X", False), (700, "700", True), (700, "700.0", True),
    ("700", "700", True), (1.5, "1.5", True), (True, "true", True), (False, "false", True),
    (1, "true", False), (["billing", "x"], "billing", True), ([1, 2], "2", True),
    (None, "", False), ({"a": 1}, "{}", False), (7, "seven", False)])
def test_field_equality_as_text_or_number(value, want, hit):
    assert FieldEquals("f", (want,), False).hits_fields({"f": value}) is hit


@pytest.mark.parametrize("text, position", [
    ('error "unterminated', 6), ("nosuch:1", 0), ("-error", 0), ("host:", 0)])
def test_errors_name_the_position(text, position):
    with pytest.raises(SearchError, match=f"at position {position}"):
        compile_text(IX, text, KNOWN)


def test_a_field_filter_is_the_positive_term_of_negations():
    """``user:bob -timeout -host:web1``: a scan of bob's lines, the negations checked on
    each (grep would find them; no "needs a positive term")."""
    c = compile_text(IX, "user:bob -timeout -host:web1", KNOWN)
    assert c.match == ""
    assert equals(c) == [("user", ("bob",), False), ("host", ("web1",), True)]
    assert [(fc.negate, fc.field) for fc in c.checks.items
            if not isinstance(fc, FieldEquals)] == [(True, None)]


def test_negations_alone_are_still_refused():
    with pytest.raises(SearchError, match="positive"):
        compile_text(IX, "-user:bob -timeout", KNOWN)


def test_user_text_is_a_parameter_never_part_of_the_statement():
    c = compile_text(IX, "user:\"x') OR 1=1 --\" \"'; DROP\"", KNOWN)
    assert "DROP" in c.match  # (as a phrase: the MATCH() text is a parameter too)
    assert equals(c) == [("user", ("x') OR 1=1 --",), False)]


def test_any_field_name_and_dotted_names_also_match_nested_keys():
    c = compile_text(IX, "a.b:x @version:1 x-y:z seq:700 tags:billing", None)
    assert [f for f, _, _ in equals(c)] == ["a.b", "@version", "x-y", "seq", "tags"]
    line = {"a": {"b": "x"}, "@version": 1, "x-y": "z", "seq": 700, "tags": ["billing"]}
    assert c.checks.passes("", line)
    assert c.checks.passes("", {**line, "a": {}, "a.b": "x"})  # the key as sent
    assert not c.checks.passes("", {**line, "a": {"b": "y"}})


@pytest.mark.parametrize("name", ["a" * 129])
def test_unusable_json_field_names_are_refused(name):
    with pytest.raises(SearchError, match="cannot filter"):
        compile_text(IX, f"{name}:1", None)


@pytest.mark.parametrize("span_s, buckets, size_s", [
    (60, 60, 1), (3600, 60, 60), (3600, 100, 60), (86400, 60, 1800), (30 * 86400, 60, 43200),
    (90 * 86400, 30, 3 * 86400), (1, 1000, 1)])
def test_bucket_sizes_are_round(span_s, buckets, size_s):
    assert bucket_size_us(span_s * 1_000_000, buckets) == size_s * 1_000_000


def test_a_word_with_a_short_number_is_a_word_by_rule_2_and_checked_by_rule_1():
    c = compile_text(IX, "inventory235 error", KNOWN)
    assert (c.rule, c.checks.items) == (2, [])  # counted by searchd alone
    assert "zq" not in c.match
    old = c.variant(c.wild, 1)  # a range with a day made by rule 1
    assert old.rule == 1 and len(old.checks.items) == 1
    assert f"(inventory235 | {' | '.join(buckets_of('inventory235'))})" in old.match
    assert old.variant(old.wild, 2) is not old and c.variant(c.wild, 1) is old
    request = compile_text(IX, "r0a3f9c2e71", KNOWN)  # an id by both rules
    assert len(request.checks.items) == 1 and bucket("r0a3f9c2e71") in request.match


class FakeLayouts:
    """Day indexes of given rules (alco.search.dictionary.Layouts); what was asked."""

    def __init__(self, rules: dict[str, int]) -> None:
        self.rules, self.asked = rules, []
        self.made_without: dict[str, tuple[str, ...]] = {}  # column -> day indexes
        self.common: dict[str, frozenset[Common]] = {}  # day index -> its common values

    def layout(self, index: str) -> DayLayout:
        self.asked.append(index)
        return DayLayout(False, True, self.rules[index] > 0, False, self.rules[index] == 2,
                         common=self.common.get(index, frozenset()))

    def has_value_hash(self, index: str, column: str) -> bool:
        return index not in self.made_without.get(column, ())

    def known_layout(self, index: str) -> DayLayout | None:
        return self.layout(index) if index in self.asked else None

    def lacking(self, index: str, tagged: frozenset[str], texted: frozenset[str]
                ) -> frozenset[str]:
        self.layout(index)
        return frozenset(c for c in tagged | texted if index in self.made_without.get(c, ()))


def test_a_filter_on_a_column_a_day_was_made_without_is_checked_against_the_fields():
    """A day index made before ``host`` was ``filtered`` (or ``request_id`` was
    ``indexed``) has no tag tokens (field) of it: on a range holding that day the filter is
    checked against the fields as sent, not looked up."""
    layouts = FakeLayouts({"d1": 2, "d2": 2})
    layouts.made_without = {"host": ("d1",)}
    lookups = Lookups(None, layouts)
    c = compile_text(IX, "host:web1 timeout", KNOWN)
    assert tag_token("host", "web1") in c.match and not c.checks.items
    assert lookups.filters(c, ["d2"]) == (frozenset(), frozenset())
    both = c.variant(c.wild, c.rule, *lookups.filters(c, ["d1", "d2"]))
    assert tag_token("host", "web1") not in both.match and "timeout" in both.match
    assert [type(i).__name__ for i in both.checks.items] == ["FieldEquals"]
    assert c.variant(c.wild, c.rule, frozenset()) is c
    rid = compile_text(IX, "request_id:r-42", KNOWN)
    layouts.made_without["request_id"] = ("d2",)
    assert lookups.filters(rid, ["d1", "d2"])[0] == {"request_id"}
    checked = rid.variant(rid.wild, rid.rule, frozenset({"request_id"}))
    assert "request_id" not in checked.match and checked.checks.items


def test_a_range_runs_rule_2_once_every_day_of_it_is_known_to_be_of_rule_2():
    layouts = FakeLayouts({"d1": 0, "d2": 2, "d3": 2})
    lookups = Lookups(None, layouts)
    assert lookups.rule(["d1", "d2", "d3"]) == 1  # d3 not known yet: asked of a later request
    assert layouts.asked == ["d1", "d2"]
    lookups.start_request()
    assert lookups.rule(["d1", "d2", "d3"]) == 2 and len(layouts.asked) == 5
    assert Lookups(None, FakeLayouts({"d1": 1, "d2": 2})).rule(["d1", "d2"]) == 1
    c = compile_text(IX, "timeout error", KNOWN)  # no word rule 1 would take for an id
    assert c.recompile is None and lookups.for_indexes(c, ["d1"]) is c


def test_a_value_common_on_a_day_is_filtered_on_by_its_value_hash():
    """A day's common values have no tag token (alco.index.commonvalues): on a range holding
    such a day, a filter on one is ``v_<column> IN (crc)`` on every day of it, and a query
    with nothing else positive has no MATCH() (its negated words checked line by line)."""
    layouts = FakeLayouts({"d1": 2, "d2": 2})
    layouts.common = {"d1": frozenset({Common.of("host", "web1")})}
    lookups = Lookups(None, layouts)
    crc1, crc2 = value_hash("web1"), value_hash("web2")

    def on_both(q: str):
        c = compile_text(IX, q, KNOWN)
        assert lookups.filters(c, ["d2"]) == (frozenset(), frozenset())
        return c.variant(c.wild, c.rule, *lookups.filters(c, ["d1", "d2"]))

    c = on_both("host:web1 timeout")
    assert c.attrs == (f"v_host IN ({crc1})",) and tag_token("host", "web1") not in c.match
    assert "timeout" in c.match and c.keywords and not c.checks
    assert where_ids(c, 5, 9, cover=False) == ("MATCH(%s) AND id >= %s AND id <= %s AND "
                                               f"v_host IN ({crc1})", [c.match, 5, 9])
    c = on_both("host:web1,web2")  # (one filter: its values by their hash together)
    assert c.attrs == (f"v_host IN ({', '.join(map(str, sorted([crc1, crc2])))})",)
    assert c.match == "" and not c.keywords and not every_line(c)
    assert where_all(c) == (f"WHERE v_host IN ({min(crc1, crc2)}, {max(crc1, crc2)}) ", [])
    c = on_both("host:web1 -timeout")
    assert c.match == "" and [type(i).__name__ for i in c.checks.items] == ["FieldCheck"]
    c = on_both("timeout -host:web1")
    assert c.attrs == (f"v_host NOT IN ({crc1})",) and "timeout" in c.match
    c = on_both("host:web1 -host:web2")
    assert c.match == "" and c.attrs == (f"v_host IN ({crc1})", f"v_host NOT IN ({crc2})")
    c = on_both("host:web2 timeout")  # (not common on either day: its tag token)
    assert c.attrs == () and tag_token("host", "web2") in c.match
    # a day without the column's hash: the column is checked against the fields as sent
    layouts.made_without = {"host": ("d2",)}
    c = compile_text(IX, "host:web1 timeout", KNOWN)
    c = c.variant(c.wild, c.rule, *lookups.filters(c, ["d1", "d2"]))
    assert c.attrs == () and "host" in c.lacking
    assert [type(i).__name__ for i in c.checks.items] == ["FieldEquals"]
