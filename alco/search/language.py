"""The search box's query language, and its translation to Sphinx MATCH() text (no I/O).

``error timeout`` (all words), ``"a phrase"``, ``-word``, ``-"a phrase"``, ``field:value``,
``field:a,b`` (any of), ``field:"with spaces"``, ``@field=value`` (the original's form),
``-field:value``.  Patterns, checked exactly (alco.search.patterns): ``'a substring'``,
``/a regex/`` (RE2), each with flags ``i`` (ignore case) and ``w`` (whole word), negated with
``-`` and on a field (``host:/web-\\d+/``).  A lone ``-`` and ``--x`` are words.  A token
whose value holds an unquoted ``:`` (``a:b:c``, ``10:30:01``) or starts with ``//``
(``http://x``) is a word.  Negations alone are an error unless a positive filter or a
pattern is present; punctuation-only words (``=>``) are not positive.

Sphinx 2.2.11 facts relied on (checked against searchd):
- ``\\x`` makes any ASCII character plain; a plain non-word character is a separator.
- ``?`` and ``%`` stay inside the keyword even when escaped (``a\\?b`` is keyword ``a?b``)
  and an escaped ``*`` beside a space in a phrase is still an "any word" slot: all three
  become spaces.
- ``MAYBE SENTENCE PARAGRAPH NEAR/n ZONE:`` are operators when upper-case, even right after
  an escaped character (``x\\-MAYBE y``): they are lower-cased.
- A group with no keyword, ``@logline (\\-\\>)``, is a syntax error; an empty phrase is
  not, so words that are not plain ASCII word characters are sent as phrases.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alco.index import buckets, charset

NEEDS_POSITIVE = "a query needs at least one positive term"
_FIELD = r"[A-Za-z_@][A-Za-z0-9_.@-]*"
_AT_FIELD_RE = re.compile(rf"@({_FIELD})=")
_COLON_FIELD_RE = re.compile(rf"({_FIELD}):")
_SPACE_RE = re.compile(r"\s*")
_WORD_RE = re.compile(r"\S*")
_BARE_VALUE_RE = re.compile(r"[^,\s]*")
_PLAIN_WORD_RE = re.compile(r"[A-Za-z0-9_]+")
_SPHINX_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR_WORD_RE = re.compile(r"NEAR|MAYBE|SENTENCE|PARAGRAPH|ZONESPAN|ZONE")
_MAX_LISTED_FIELDS = 20
_FLAGS_RE = re.compile(r"[iw]*")


def _escape_table() -> dict[int, str]:
    table = {ord(c): "\\" + c for c in string.punctuation if c != "_"}
    table.update({ord("?"): " ", ord("%"): " ", ord("*"): " "})
    controls = [*range(0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000)]
    table.update({code: " " for code in controls})
    return table


_ESCAPES = _escape_table()


def _end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    match = pattern.match(text, pos)
    return match.end() if match else pos


# The characters a day index makes words of (alco.index.charset: ASCII, the letters of the
# alphabets, Hangul; day indexes made before it: ASCII and Russian), and those each of which is
# a word of its own (Chinese, Japanese, Thai ...: in day indexes made since).  For patterns,
# the latter separate words, as they do in both kinds of day index.
KEYWORD_CHARS = charset.regex_class(charset.word_ranges())  # a regex class's body
NGRAM_CHARS = charset.regex_class(charset.ngram_ranges())
_KEYWORD_CHAR_RE = re.compile(f"[{KEYWORD_CHARS}{NGRAM_CHARS}]")
KEYWORD_RUN_RE = re.compile(f"[{KEYWORD_CHARS}]+")  # one keyword of a text


def has_keyword(texts: tuple[str, ...]) -> bool:
    """Whether any text yields a keyword (``->`` or ``...`` do not: separators)."""
    return any(_KEYWORD_CHAR_RE.search(text) for text in texts)



class QueryError(ValueError):
    """A query the user typed cannot be understood; ``position`` is a character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class FieldFilter:
    field: str
    values: tuple[str, ...]
    negate: bool


@dataclass(frozen=True)
class Matcher:
    """A pattern: ``'text'`` (kind "text", a substring) or ``/source/`` (kind "regex"), on the
    message or on ``field``; ``position`` is where it starts in the query."""

    kind: str
    source: str
    ignore_case: bool = False
    word: bool = False
    negate: bool = False
    field: str | None = None
    position: int = 0


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    not_words: tuple[str, ...] = ()
    filters: tuple[FieldFilter, ...] = ()
    matchers: tuple[Matcher, ...] = ()
    # the positive terms in the order typed: ("word" | "phrase" | "matcher", index), for
    # giving each its own highlight colour
    order: tuple[tuple[str, int], ...] = ()

    def is_empty(self) -> bool:
        return not (self.words or self.phrases or self.not_words or self.filters
                    or self.matchers)


# --- parsing ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, known_fields: Collection[str] | None) -> None:
        self.text = text
        self.known = known_fields
        self.words: list[str] = []
        self.phrases: list[str] = []
        self.not_words: list[str] = []
        self.filters: list[FieldFilter] = []
        self.matchers: list[Matcher] = []
        self.order: list[tuple[str, int]] = []
        self.first_negation: int | None = None
        self._matcher_end = 0

    def run(self) -> Query:
        pos = self._skip_space(0)
        while pos < len(self.text):
            pos = self._skip_space(self._term(pos))
        query = Query(tuple(self.words), tuple(self.phrases), tuple(self.not_words),
                      tuple(self.filters), tuple(self.matchers), tuple(self.order))
        # a pattern, even negated, can be checked line by line (a scan) where the index
        # cannot help
        positive = has_keyword(query.words + query.phrases) \
            or any(not f.negate for f in query.filters) or bool(query.matchers)
        if self.first_negation is not None and not positive:
            raise QueryError(NEEDS_POSITIVE, self.first_negation)
        return query

    def _skip_space(self, pos: int) -> int:
        return _end(_SPACE_RE, self.text, pos)

    def _word_end(self, pos: int) -> int:
        return _end(_WORD_RE, self.text, pos)

    def _closing_quote(self, pos: int) -> int:
        end = self.text.find('"', pos + 1)
        if end < 0:
            raise QueryError("unterminated quote", pos)
        return end

    def _term(self, start: int) -> int:
        negate = self.text.startswith("-", start) and self._word_end(start) > start + 1 \
            and self.text[start + 1] != "-"
        pos = start + 1 if negate else start
        if self._matcher(pos, negate, None):
            return self._matcher_end
        if self.text[pos] == '"':
            end = self._closing_quote(pos)
            self._add_text(self.text[pos + 1:end], negate, start, phrase=True)
            return end + 1
        end = self._filter(pos, negate)
        if end is None:
            end = self._word_end(pos)
            self._add_text(self.text[pos:end], negate, start, phrase=False)
        elif negate:
            self._negation_at(start)
        return end

    def _matcher(self, pos: int, negate: bool, field: str | None) -> bool:
        """A pattern at ``pos`` (``'text'`` or ``/regex/`` and flags), added; False when
        there is none (the token is read as before)."""
        delimiter = self.text[pos:pos + 1]
        if delimiter == "'":
            found = self._quoted_text(pos)
        elif delimiter == "/" and not self.text.startswith("//", pos):
            found = self._slashed_regex(pos)
        else:
            return False
        if found is None:
            return False
        source, flags, end = found
        if not source:
            raise QueryError("empty pattern", pos)
        if negate:
            self._negation_at(pos)
        elif field is None:  # a match in the message: highlighted
            self.order.append(("matcher", len(self.matchers)))
        self.matchers.append(Matcher("text" if delimiter == "'" else "regex", source,
                                     "i" in flags, "w" in flags, negate, field, pos + 1))
        self._matcher_end = end
        return True

    def _closed_at(self, pos: int) -> int | None:
        """After a closing delimiter at ``pos``: the end of its flags when they end the token."""
        end = _end(_FLAGS_RE, self.text, pos + 1)
        return end if end == len(self.text) or self.text[end].isspace() else None

    def _quoted_text(self, pos: int) -> tuple[str, str, int] | None:
        """``'text'flags``: a doubled quote is one quote; a quote not followed by the end of
        the token is part of the text."""
        chars: list[str] = []
        i = pos + 1
        while i < len(self.text):
            ch = self.text[i]
            if ch == "'" and self.text.startswith("'", i + 1):
                chars.append("'")
                i += 2
                continue
            if ch == "'" and (end := self._closed_at(i)) is not None:
                return "".join(chars), self.text[i + 1:end], end
            chars.append(ch)
            i += 1
        return None

    def _slashed_regex(self, pos: int) -> tuple[str, str, int] | None:
        """``/regex/flags``: ends at the first ``/`` outside ``\\x`` and ``[...]`` that is
        followed by the end of the token."""
        i, in_class = pos + 1, False
        while i < len(self.text):
            ch = self.text[i]
            if ch == "\\":
                i += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
                i += 1 + self.text.startswith("^", i + 1)
                i += self.text.startswith("]", i)  # "[]x]": the first "]" is a member
                continue
            elif ch == "/" and (end := self._closed_at(i)) is not None:
                return self.text[pos + 1:i], self.text[i + 1:end], end
            i += 1
        return None

    def _negation_at(self, pos: int) -> None:
        if self.first_negation is None:
            self.first_negation = pos

    def _add_text(self, text: str, negate: bool, start: int, phrase: bool) -> None:
        if phrase and not text.strip():
            return
        if negate:
            self.not_words.append(text)
            self._negation_at(start)
        elif phrase:
            self.order.append(("phrase", len(self.phrases)))
            self.phrases.append(text)
        else:
            self.order.append(("word", len(self.words)))
            self.words.append(text)

    def _filter(self, pos: int, negate: bool) -> int | None:
        """Parse ``field:values`` / ``@field=values`` at pos; None when it is a plain word."""
        match = _AT_FIELD_RE.match(self.text, pos) or _COLON_FIELD_RE.match(self.text, pos)
        if match is None or self.text.startswith("//", match.end()):
            return None
        if self.text[match.end():match.end() + 1] in ("'", "/"):
            field = self._field_name(match.group(1), match.re is _AT_FIELD_RE, pos)
            if self._matcher(match.end(), negate, field):
                return self._matcher_end
        parsed = self._values(match.end())
        if parsed is None:
            return None
        values, end = parsed
        if not values:
            raise QueryError(f"field {match.group(1)!r} needs a value", pos)
        field = self._field_name(match.group(1), match.re is _AT_FIELD_RE, pos)
        self.filters.append(FieldFilter(field, tuple(dict.fromkeys(values)), negate))
        return end

    def _values(self, pos: int) -> tuple[list[str], int] | None:
        """Comma-separated values, bare or quoted; None when a bare one holds a ``:``."""
        values: list[str] = []
        more = True
        while more and pos < len(self.text) and not self.text[pos].isspace():
            if self.text[pos] == '"':
                end = self._closing_quote(pos)
                value, pos = self.text[pos + 1:end], end + 1
            else:
                end = _end(_BARE_VALUE_RE, self.text, pos)
                value, pos = self.text[pos:end], end
                if ":" in value:
                    return None
            if value:
                values.append(value)
            more = self.text.startswith(",", pos)
            pos += more
        return values, pos

    def _field_name(self, name: str, at_form: bool, pos: int) -> str:
        if self.known is None or name in self.known:
            return name
        parts = name.split(".")
        if any(".".join(parts[:n]) in self.known for n in range(1, len(parts))):
            return name  # a key inside a known object field (``cart.items``)
        if at_form and "@" + name in self.known:
            return "@" + name
        close = difflib.get_close_matches(name, self.known, n=3, cutoff=0.6)
        if close:
            raise QueryError(f"unknown field {name!r}; did you mean {' or '.join(close)}?", pos)
        listed = sorted(self.known)
        shown = ", ".join(listed[:_MAX_LISTED_FIELDS])
        more = ", ..." if len(listed) > _MAX_LISTED_FIELDS else ""
        raise QueryError(f"unknown field {name!r}; known fields: {shown}{more}", pos)


def parse(text: str, known_fields: Collection[str] | None = None) -> Query:
    """Parse the search box text; raises QueryError with the offending position."""
    return _Parser(text, known_fields).run()


# --- MATCH() text ----------------------------------------------------------------------


def escape_match(text: str) -> str:
    """Make user text match literally, as words, in Sphinx 2.2 extended query syntax.

    Every ASCII punctuation character but ``_`` is backslash-escaped; ``? % *``, control
    characters and lone surrogates become spaces; the upper-case operator words are
    lower-cased.  SQL string escaping is left to the driver (parameters).
    """
    text = _OPERATOR_WORD_RE.sub(lambda m: m.group(0).lower(), text)
    return text.translate(_ESCAPES)


def _phrase(text: str) -> str:
    return f'"{escape_match(text)}"'


def _word(text: str) -> str:
    return escape_match(text) if _PLAIN_WORD_RE.fullmatch(text) else _phrase(text)


def _either(text: str, form: Callable[[str], str], rule: int) -> str:
    """A word or phrase as day indexes of every kind find it: as typed and, where it holds
    ids (by ``rule``), with them as their buckets, of each size (alco.index.buckets; the line
    is then checked)."""
    alts = buckets.query_texts(text, rule)
    return f"({' | '.join(map(form, (text, *alts)))})" if alts else form(text)


def _group(items: list[str], negate: bool) -> str:
    if negate:
        return "-" + items[0] if len(items) == 1 else "-(" + " | ".join(items) + ")"
    return "(" + " | ".join(items) + ")"


def _sphinx_name(name: str, what: str) -> str:
    if not _SPHINX_NAME_RE.fullmatch(name):
        raise ValueError(f"unsafe {what} for MATCH(): {name!r}")
    return name


# Words, phrases and negated words are looked for in the message and in the text of the
# line's ``context`` columns (a traceback: ``KeyError`` finds a line whose exc_info has it);
# ``@@relaxed``: day indexes made before the context field are searched in the message only
TEXT_FIELDS = "@@relaxed @(logline,context)"


def _text_sections(q: Query, narrow: str, rule: int) -> list[str]:
    """The MATCH() sections of the text terms; ``narrow`` (what patterns on the message
    need) in the message only."""
    parts = [_either(w, _word, rule) for w in q.words] + \
        [_either(p, _phrase, rule) for p in q.phrases]
    parts += ["-" + _word(n) for n in q.not_words]
    sections = [f"{TEXT_FIELDS} (" + " ".join(parts) + ")"] if parts else []
    return sections + ([f"@logline ({narrow})"] if narrow else [])


def _filter_section(f: FieldFilter, tag_fields: Collection[str],
                    text_fields: Mapping[str, str],
                    tag_token: Callable[[str, str], str], rule: int) -> str:
    if f.field in tag_fields:
        tokens = [_sphinx_name(tag_token(f.field, v), "tag token") for v in f.values]
        return "@tags " + _group(tokens, f.negate)
    name = _sphinx_name(text_fields[f.field], "field name")
    return f"@{name} " + _group([_either(v, _phrase, rule) for v in f.values], f.negate)


def match_expression(q: Query, tag_fields: Collection[str], text_fields: Mapping[str, str],
                     tag_token: Callable[[str, str], str], narrow: str = "",
                     rule: int = buckets.RULE) -> str:
    """The full MATCH() text of a query, or "" when nothing goes through full-text search;
    ids as buckets by ``rule`` (alco.index.buckets).

    Raises QueryError when everything left for MATCH() is negative (Sphinx cannot run
    that), e.g. ``host:web1 -timeout`` where host is only a JSON attribute, or
    ``-> -timeout`` where ``->`` holds no keyword.  ``narrow``: positive MATCH() text the
    query's patterns need (alco.search.literals), searched in the message.
    """
    matched = [f for f in q.filters if f.field in tag_fields or f.field in text_fields]
    sections = _text_sections(q, narrow, rule)
    sections += [_filter_section(f, tag_fields, text_fields, tag_token, rule)
                 for f in matched]
    sections = [s for s in sections if s]
    if not sections:
        return ""
    negative = q.not_words or any(f.negate for f in matched)
    positive = bool(narrow) or has_positive(q, tag_fields, text_fields)
    if negative and not positive:
        raise QueryError(NEEDS_POSITIVE, 0)
    return " ".join(sections)


def has_positive(q: Query, tag_fields: Collection[str], text_fields: Mapping[str, str]) -> bool:
    """Whether the MATCH() text has a positive keyword (without, Sphinx matches no line)."""
    return has_keyword(q.words + q.phrases) or any(
        not f.negate and (f.field in tag_fields or has_keyword(f.values)) for f in q.filters
        if f.field in tag_fields or f.field in text_fields)


def json_filters(q: Query, tag_fields: Collection[str],
                 text_fields: Mapping[str, str]) -> list[FieldFilter]:
    """Filters MATCH() does not handle: to be applied to the JSON attribute."""
    return [f for f in q.filters if f.field not in tag_fields and f.field not in text_fields]


# --- time ------------------------------------------------------------------------------

_RELATIVE_RE = re.compile(r"(\d+)\s*([smhdw])")
_EPOCH_RE = re.compile(r"(\d+)(?:\.(\d+))?")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_FORMS = ("now, a relative time (45s, 15m, 2h, 3d, 1w), an ISO 8601 date or datetime "
              "(2026-11-24, 2026-11-24T10:00:00Z) or unix epoch seconds")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_time(text: str, now: datetime) -> datetime | None:
    if text.lower() == "now":
        return _utc(now)
    if match := _RELATIVE_RE.fullmatch(text):
        return _utc(now) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if match := _EPOCH_RE.fullmatch(text):
        micros = int((match.group(2) or "").ljust(6, "0")[:6])
        return datetime.fromtimestamp(int(match.group(1)), UTC) + timedelta(microseconds=micros)
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_time(text: str, now: datetime) -> datetime:
    """A point in time from ``from``/``to``: an aware UTC datetime."""
    stripped = text.strip()
    try:
        moment = _parse_time(stripped, now) if stripped else None
    except (OverflowError, OSError, ValueError):
        raise QueryError(f"time {text!r} is out of range", 0) from None
    if moment is None:
        raise QueryError(f"cannot read time {text!r}: use {TIME_FORMS}", 0)
    return moment


_NICE_BUCKETS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
                   43200, 86400)


def bucket_size_us(span_us: int, buckets: int) -> int:
    """A round bucket size (1 s, 5 s, 1 min, 15 min, 1 h, 1 day, ...) that cuts a time span
    into at most ``buckets`` buckets."""
    wanted_s = max(span_us, 1) / 1_000_000 / max(buckets, 1)
    for size in _NICE_BUCKETS_S:
        if size >= wanted_s:
            return size * 1_000_000
    return -(-int(wanted_s) // 86400) * 86400 * 1_000_000
