import re
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest

from alco.search.language import (
    NEEDS_POSITIVE,
    TEXT_FIELDS,
    FieldFilter,
    Query,
    QueryError,
    escape_match,
    json_filters,
    match_expression,
    parse,
    parse_time,
)

# --- a checker for escaped MATCH text --------------------------------------------------

# Characters that mean something to the Sphinx 2.2 query parser (or its SphinxQL string).
SPECIALS = set("\\()|-!@~\"&/^$=<>[]*'?%:,{}+#;`.")
OPERATOR_WORDS = ("NEAR", "MAYBE", "SENTENCE", "PARAGRAPH", "ZONE")


def unescaped_specials(text: str) -> list[int]:
    """Positions of special characters not neutralised by a preceding backslash."""
    bad, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in string.punctuation:
                bad.append(i)
            i += 2
            continue
        if ch in SPECIALS or ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0:
            bad.append(i)
        i += 1
    return bad


def expression_violations(expr: str) -> list[int]:
    """Positions where a MATCH expression lets user text act as an operator.

    Inside phrases nothing special may stand unescaped; outside them only the structure
    match_expression writes: ``@name`` section starts, ``( ) | -`` and words.
    """
    bad, i, in_phrase = [], 0, False
    if expr.startswith(TEXT_FIELDS + " ("):  # the text terms' fields, as written
        i = len(TEXT_FIELDS) + 1
    while i < len(expr):
        ch = expr[i]
        if ch == "\\":
            if i + 1 >= len(expr) or expr[i + 1] not in string.punctuation:
                bad.append(i)
            i += 2
            continue
        if ch == '"':
            in_phrase = not in_phrase
        elif in_phrase and (ch in SPECIALS or ord(ch) < 32):
            bad.append(i)
        elif not in_phrase and ch in SPECIALS and ch not in "()|-@":
            bad.append(i)
        elif not in_phrase and ch == "@" and not re.match(r"@[a-z_]+ [(-]", expr[i:]):
            bad.append(i)
        i += 1
    if in_phrase:
        bad.append(len(expr))
    return bad


def assert_safe(escaped: str) -> None:
    assert unescaped_specials(escaped) == []
    for word in OPERATOR_WORDS:
        assert word not in escaped
    escaped.encode("utf-8")  # no lone surrogates left


def literal_text(escaped: str) -> str:
    """Undo the backslashes: what Sphinx's tokenizer sees as plain characters."""
    out, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 1
        out.append(escaped[i])
        i += 1
    return "".join(out)


HOSTILE = [
    '"unbalanced',
    'say "hi"',
    "back\\slash\\",
    "\\",
    "\\\\",
    "\\\"",
    string.punctuation,
    "a|b",
    "a | b",
    "@field hello",
    "@(logline,tags) x",
    "@!logline x",
    "@* x",
    "@logline[5] x",
    "-word",
    "!word",
    "(a b) | (c -d)",
    "NEAR/3",
    "a NEAR/3 b",
    "a MAYBE b",
    "x-MAYBE y",
    "a SENTENCE b PARAGRAPH c",
    "ZONE:h1 x",
    "ZONESPAN:(h1,h2) x",
    '"a b"~10',
    '"a b c"/2',
    "a << b",
    "^start end$",
    "=exact",
    "word^1.5",
    "pre* *fix ?ild %x",
    "' OR 1=1 --",
    "x'); DROP TABLE t; --",
    "/* comment */ a",
    "-- sql comment",
    "10:30:01.123",
    "http://example.com/a?b=c&d=e#frag",
    "C:\\Windows\\path",
    "ошибка подключения",
    "日本語のログ",
    "emoji 😀🔥 here",
    "nul\x00byte",
    "ctrl\x01\x02\x1a\x1b\x7f\x85chars",
    "tab\tnew\nline\rcr",
    "lone \ud800 surrogate",
    "{json: [1, 2]}",
    "a;b,c.d+e#f`g",
    "",
    " ",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_match_hostile_corpus(text):
    assert_safe(escape_match(text))


def test_escape_match_huge_string():
    text = (string.punctuation + "NEAR/3 MAYBE x\x00 😀 ") * 3000
    assert len(text) > 100_000
    escaped = escape_match(text)
    assert_safe(escaped)


def test_escape_match_keeps_words():
    assert escape_match("error timeout") == "error timeout"
    assert escape_match("snake_case 42 ошибка 😀") == "snake_case 42 ошибка 😀"


def test_escape_match_escapes_operators():
    assert escape_match("a|b") == "a\\|b"
    assert escape_match('"x"') == '\\"x\\"'
    assert escape_match("-x") == "\\-x"
    assert escape_match("@f") == "\\@f"
    assert escape_match("a\\") == "a\\\\"
    assert escape_match("a/b") == "a\\/b"


def test_escape_match_wildcards_become_spaces():
    # Sphinx 2.2 keeps ? and % inside keywords even when escaped (a\?b is keyword "a?b"),
    # and counts an escaped * next to a space in a phrase as an "any word" slot.
    assert escape_match("a?b%c*d") == "a b c d"
    assert escape_match("pre* *fix") == "pre   fix"


def test_escape_match_control_characters_become_spaces():
    assert escape_match("a\x00b\tc\nd\x7fe\x9ff") == "a b c d e f"
    assert escape_match("x\ud800y") == "x y"


def test_escape_match_lowercases_operator_words():
    assert escape_match("NEAR/3") == "near\\/3"
    assert escape_match("x MAYBE y") == "x maybe y"
    assert escape_match("SENTENCE PARAGRAPH") == "sentence paragraph"
    assert escape_match("ZONE:h1 ZONESPAN:h2") == "zone\\:h1 zonespan\\:h2"
    assert escape_match("Maybe near") == "Maybe near"


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_match_only_changes_separators(text):
    literal = literal_text(escape_match(text))
    assert len(literal) == len(text)
    for before, after in zip(text, literal, strict=True):
        assert after == before or after == " " or after == before.lower()


# --- parse: each form ------------------------------------------------------------------


def test_empty_query():
    assert parse("") == Query()
    assert parse("   ").is_empty()
    assert not parse("x").is_empty()


def test_words():
    assert parse("error  timeout").words == ("error", "timeout")


def test_phrase():
    q = parse('"connection refused" db')
    assert q.phrases == ("connection refused",)
    assert q.words == ("db",)


def test_phrase_followed_directly_by_word():
    q = parse('"a b"c')
    assert q.phrases == ("a b",)
    assert q.words == ("c",)


def test_empty_phrase_is_dropped():
    assert parse('"" x " "').phrases == ()


def test_negated_word_and_phrase():
    q = parse('x -timeout -"a phrase"')
    assert q.not_words == ("timeout", "a phrase")
    assert q.words == ("x",)


def test_lone_dash_and_double_dash_are_words():
    assert parse("x -").words == ("x", "-")
    assert parse("--verbose").words == ("--verbose",)


def test_field_filter():
    assert parse("level:ERROR").filters == (FieldFilter("level", ("ERROR",), False),)


def test_field_any_of():
    assert parse("level:ERROR,WARN").filters[0].values == ("ERROR", "WARN")


def test_field_any_of_skips_empty_and_duplicates():
    assert parse("level:a,,b,a,").filters[0].values == ("a", "b")


def test_field_quoted_value():
    f = parse('host:"web 1"').filters[0]
    assert f == FieldFilter("host", ("web 1",), False)


def test_field_quoted_values_list():
    f = parse('host:"web 1",db,"a,b"').filters[0]
    assert f.values == ("web 1", "db", "a,b")


def test_field_quoted_value_with_colon():
    assert parse('host:"db:5432"').filters[0].values == ("db:5432",)


def test_field_negated():
    q = parse("x -level:DEBUG")
    assert q.filters == (FieldFilter("level", ("DEBUG",), True),)


def test_at_field_form():
    assert parse("@levelname=ERROR").filters == (FieldFilter("levelname", ("ERROR",), False),)
    assert parse("x -@levelname=DEBUG,INFO").filters[0] == FieldFilter(
        "levelname", ("DEBUG", "INFO"), True
    )


def test_at_field_form_prefers_known_at_name():
    q = parse("@version=1", known_fields={"@version", "host"})
    assert q.filters[0].field == "@version"


def test_field_names_with_dots_and_at():
    assert parse("@timestamp:x").filters[0].field == "@timestamp"
    assert parse("a.b-c:x").filters[0].field == "a.b-c"


@pytest.mark.parametrize(
    "token",
    ["http://x", "https://example.com/a?b=c", "a:b:c", "10:30:01", "ERROR:root:boom", ":x", "x=y"],
)
def test_plain_words_that_look_like_filters(token):
    q = parse(token)
    assert q.words == (token,)
    assert q.filters == ()


def test_url_is_word_even_with_known_fields():
    assert parse("http://x", known_fields={"host"}).words == ("http://x",)


def test_negated_url():
    assert parse("x -http://y").not_words == ("http://y",)


def test_mixed_query():
    q = parse(
        'error "db down" -retry level:ERROR,CRITICAL -host:"web 2" @logger=shop.views 10:30',
        known_fields={"level", "host", "logger"},
    )
    assert q.words == ("error", "10:30")
    assert q.phrases == ("db down",)
    assert q.not_words == ("retry",)
    assert q.filters == (
        FieldFilter("level", ("ERROR", "CRITICAL"), False),
        FieldFilter("host", ("web 2",), True),
        FieldFilter("logger", ("shop.views",), False),
    )


def test_punctuation_only_word_is_not_positive():
    err = errors("=> ... -timeout")
    assert err.message == NEEDS_POSITIVE
    assert err.position == 7
    assert parse("=>").words == ("=>",)


def test_negation_allowed_with_positive_filter():
    q = parse("-timeout level:ERROR")
    assert q.not_words == ("timeout",)


# --- parse: errors ---------------------------------------------------------------------


def errors(text, known_fields=None):
    with pytest.raises(QueryError) as info:
        parse(text, known_fields)
    assert isinstance(info.value, ValueError)
    return info.value


@pytest.mark.parametrize(
    ("text", "position"),
    [('"abc', 0), ('x "abc', 2), ('x -"abc', 3), ('host:"abc', 5), ('h:a,"b', 4)],
)
def test_unterminated_quote(text, position):
    err = errors(text)
    assert "unterminated" in err.message
    assert err.position == position


@pytest.mark.parametrize("text", ["x field:", "x field:,", 'x field:""', "x @f="])
def test_empty_value(text):
    err = errors(text)
    assert "needs a value" in err.message
    assert err.position == 2


def test_unknown_field():
    err = errors("x nope:1", known_fields={"level", "host"})
    assert err.position == 2
    assert "'nope'" in err.message
    assert "host, level" in err.message


def test_a_key_inside_a_known_object_field_is_known():
    q = parse("cart.items:7 cart.a.b:x", known_fields={"cart", "host"})
    assert [f.field for f in q.filters] == ["cart.items", "cart.a.b"]
    assert "'carts.items'" in errors("carts.items:7", known_fields={"cart"}).message


def test_unknown_field_suggests_the_closest_known_names():
    err = errors("timeout hostname:web1", known_fields={"host", "levelname", "logger"})
    assert err.message == "unknown field 'hostname'; did you mean host?"
    assert err.position == 8
    err = errors("loger:x", known_fields={"host", "logger", "logger_name"})
    assert err.message == "unknown field 'loger'; did you mean logger or logger_name?"


def test_unknown_field_lists_at_most_20():
    known = {f"f{i:02d}" for i in range(30)}
    err = errors("zz:1", known_fields=known)
    assert "f19" in err.message
    assert "f20" not in err.message


def test_unknown_at_field():
    err = errors("x @nope=1", known_fields={"level"})
    assert err.position == 2


@pytest.mark.parametrize(
    ("text", "position"),
    [("-a", 0), ("-a -b", 0), (' -"a b"', 1), ("-level:DEBUG", 0), ("-a -level:x", 0)],
)
def test_only_negations(text, position):
    err = errors(text)
    assert err.message == NEEDS_POSITIVE
    assert err.position == position


# --- match_expression ------------------------------------------------------------------


def tok(field, value):
    return f"t_{field}_{value}"


TAGS = {"level", "host"}
TEXTS = {"request_id": "f_request_id"}


def expr(text):
    return match_expression(parse(text), TAGS, TEXTS, tok)


def test_match_words_phrases_negations():
    assert expr('error "a phrase" -timeout -"x y"') == (
        '@@relaxed @(logline,context) (error "a phrase" -timeout -"x y")'
    )


def test_match_words_with_punctuation_become_phrases():
    assert expr("10.0.0.1 a|b") == '@@relaxed @(logline,context) ("10\\.0\\.0\\.1" "a\\|b")'
    assert expr("x -http://y") == '@@relaxed @(logline,context) (x -"http\\:\\/\\/y")'


def test_match_operator_words_neutralised():
    assert expr("MAYBE NEAR/3") == '@@relaxed @(logline,context) (maybe "near\\/3")'


def test_match_tag_filter():
    assert expr("level:ERROR") == "@tags (t_level_ERROR)"
    assert expr("level:ERROR,WARN") == "@tags (t_level_ERROR | t_level_WARN)"


def test_match_negated_tag_filter():
    assert expr("x -level:DEBUG") == "@@relaxed @(logline,context) (x) @tags -t_level_DEBUG"
    assert expr("x -level:DEBUG,INFO") == f"{TEXT_FIELDS} (x) @tags -(t_level_DEBUG | t_level_INFO)"


def test_match_text_filter():
    assert expr("request_id:abc-1") == '@f_request_id ("abc\\-1")'
    assert expr('request_id:a,"b c"') == '@f_request_id ("a" | "b c")'


def test_match_negated_text_filter():
    assert expr("x -request_id:a,b") == f'{TEXT_FIELDS} (x) @f_request_id -("a" | "b")'


def test_match_sections_all_joined():
    assert expr('err level:ERROR request_id:"r 1" -host:web1') == (
        f'{TEXT_FIELDS} (err) @tags (t_level_ERROR) @f_request_id ("r 1") @tags -t_host_web1'
    )


def test_match_json_filters_left_out():
    assert expr("service:billing") == ""
    assert expr("x service:billing") == "@@relaxed @(logline,context) (x)"


def test_match_empty():
    assert expr("") == ""


def test_match_negation_with_positive_tag_filter():
    assert expr("-timeout level:ERROR") == f"{TEXT_FIELDS} (-timeout) @tags (t_level_ERROR)"


def test_match_pure_negative_after_json_filter_is_an_error():
    with pytest.raises(QueryError) as info:
        expr("service:billing -timeout")
    assert info.value.message == NEEDS_POSITIVE


def test_match_punctuation_only_text_filter_is_not_positive():
    with pytest.raises(QueryError):
        expr("request_id:=> -timeout")
    assert expr("request_id:=> x") == '@@relaxed @(logline,context) (x) @f_request_id ("\\=\\>")'
    q = parse("level:=> -timeout")
    assert match_expression(q, TAGS, TEXTS, lambda f, v: "t1") == \
        f"{TEXT_FIELDS} (-timeout) @tags (t1)"


def test_match_rejects_unsafe_tag_token_and_field_name():
    q = parse("level:x")
    with pytest.raises(ValueError):
        match_expression(q, TAGS, TEXTS, lambda f, v: "bad token")
    with pytest.raises(ValueError):
        match_expression(parse("rid:x"), (), {"rid": "f) | @x"}, tok)


@pytest.mark.parametrize("text", HOSTILE[:-2])
def test_match_hostile_words_stay_escaped(text):
    q = Query(words=(text,), phrases=(text,))
    out = match_expression(q, TAGS, TEXTS, tok)
    assert out.startswith("@@relaxed @(logline,context) (")
    assert expression_violations(out) == []


def test_match_hostile_filter_values_stay_escaped():
    values = tuple(HOSTILE[:-2])
    q = Query(
        words=("x",),
        filters=(
            FieldFilter("request_id", values, False),
            FieldFilter("request_id", values, True),
        ),
    )
    assert expression_violations(match_expression(q, TAGS, TEXTS, tok)) == []


def test_expression_checker_catches_injection():
    assert expression_violations('@logline ("a" | b)') == []
    assert expression_violations('@logline ("a"b" c)') != []
    assert expression_violations("@logline (a/2)") != []
    assert expression_violations("@logline (a @tags b)") != []
    assert expression_violations('@logline ("a \\")') != []


# --- json_filters ----------------------------------------------------------------------


def test_json_filters():
    q = parse("level:ERROR request_id:1 service:billing -region:eu x")
    assert json_filters(q, TAGS, TEXTS) == [
        FieldFilter("service", ("billing",), False),
        FieldFilter("region", ("eu",), True),
    ]


def test_json_filters_none():
    assert json_filters(parse("x level:ERROR"), TAGS, TEXTS) == []


# --- parse_time ------------------------------------------------------------------------

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("45s", timedelta(seconds=45)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        (" 0m ", timedelta(0)),
    ],
)
def test_parse_time_relative(text, delta):
    assert parse_time(text, NOW) == NOW - delta


def test_parse_time_now():
    assert parse_time("now", NOW) == NOW
    assert parse_time("NOW", NOW) == NOW


def test_parse_time_naive_now_is_utc():
    assert parse_time("1h", datetime(2026, 11, 24, 12)) == datetime(2026, 11, 24, 11, tzinfo=UTC)


def test_parse_time_converts_now_to_utc():
    now = datetime(2026, 11, 24, 14, tzinfo=timezone(timedelta(hours=2)))
    result = parse_time("now", now)
    assert result.tzinfo is UTC
    assert result == NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("2026-11-24T10:00", datetime(2026, 11, 24, 10, tzinfo=UTC)),
        ("2026-11-24 10:00:00.123", datetime(2026, 11, 24, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-24T10:00:00Z", datetime(2026, 11, 24, 10, tzinfo=UTC)),
        ("2026-11-24T10:00:00+02:00", datetime(2026, 11, 24, 8, tzinfo=UTC)),
        ("2026-11-24T10:00:00.5-01:30", datetime(2026, 11, 24, 11, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_parse_time_iso(text, expected):
    result = parse_time(text, NOW)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
        ("1795521600", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("1795521600.5", datetime(2026, 11, 24, 12, 0, 0, 500000, tzinfo=UTC)),
        ("1795521600.1234567", datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_time_epoch(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ", "yesterday", "15x", "-15m", "15 minutes", "2026-13-01", "2026-11", "1.2.3",
     "12:00", "1e9", "now-1h"],
)
def test_parse_time_bad(text):
    with pytest.raises(QueryError) as info:
        parse_time(text, NOW)
    assert info.value.position == 0
    assert "ISO 8601" in info.value.message
    assert "15m" in info.value.message


@pytest.mark.parametrize("text", ["99999999999999999999", "999999999999w"])
def test_parse_time_out_of_range(text):
    with pytest.raises(QueryError) as info:
        parse_time(text, NOW)
    assert "out of range" in info.value.message


def test_text_terms_find_the_message_and_the_context_patterns_the_message():
    """Words (and negated words) look in the message and in the ``context`` columns' text
    (a traceback); what patterns need stays in the message."""
    assert match_expression(parse("KeyError -retry"), TAGS, TEXTS, tok, "*ayment*") == \
        "@@relaxed @(logline,context) (KeyError -retry) @logline (*ayment*)"
    assert match_expression(parse("level:ERROR"), TAGS, TEXTS, tok, "*ayment*") == \
        "@logline (*ayment*) @tags (t_level_ERROR)"
