"""Patterns of the query language as exact checks: substrings, regular expressions and words.

A pattern is checked in Python on the lines the full-text index narrowed down
(alco.search.literals says with which keywords), line by line as grep reads a file: a
multi-line message matches when any of its lines matches.  Regular expressions run on RE2,
in time linear in the text, so no pattern can hang a worker.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import re2

from alco.search.language import KEYWORD_CHARS, KEYWORD_RUN_RE, NGRAM_CHARS

MAX_PATTERN = 2000  # characters of one pattern
CHECKS_KEPT = 256  # compiled patterns kept (``check_of``)
KEYWORDS_COMPILED = 5000  # texts a check of keywords walks before it compiles its regex
_RE2_MEM = 8 << 20  # bytes one compiled pattern may use
GREP_WORD = r"\pL\pN_"  # grep -w's word characters (Sphinx's: language.KEYWORD_CHARS)
_TOKEN_RE = re.compile(f"[{KEYWORD_CHARS}]+|[{NGRAM_CHARS}]")  # Sphinx's keywords of a text
_KEYWORD_CHAR_RE = re.compile(f"[{KEYWORD_CHARS}]")
_SEPARATORS_RE = re.compile(f"[^{KEYWORD_CHARS}{NGRAM_CHARS}]*")  # what is no keyword
_PUNCT = frozenset("\\.+*?()|[]{}^$#&-~/!\"%',:;<=>@`")


class PatternError(ValueError):
    """A pattern RE2 cannot compile; ``offset`` is where in the pattern, when known."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Pattern:
    """``kind``: "text" (a literal substring, like grep -F), "regex" (RE2 syntax, like
    grep -E) or "words" (Sphinx's keywords one after the other: a word or phrase of the
    query, case-insensitive, for highlights and for checks where the index cannot help)."""

    kind: str
    source: str
    ignore_case: bool = False
    word: bool = False


def escape(text: str) -> str:
    """``text`` as an RE2 pattern matching it literally (only ASCII punctuation is escaped:
    RE2 refuses ``\\`` before a letter or a space)."""
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in text)


def is_keyword_char(ch: str) -> bool:
    """Whether Sphinx indexes ``ch`` as part of a keyword (else it separates keywords)."""
    return KEYWORD_RUN_RE.fullmatch(ch) is not None


def regex_source(p: Pattern) -> str:
    """The RE2 source of a pattern; group 1 is the match when it is bounded (``w``)."""
    body = escape(p.source) if p.kind == "text" else p.source
    if p.word:
        body = f"(?:^|[^{GREP_WORD}])({body})(?:[^{GREP_WORD}]|$)"
    return ("(?i)" if p.ignore_case else "") + body


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _RE2_MEM
    return options


def _unclosed(source: str, opening: str) -> int:
    """The offset of the last ``(`` (or ``[``) left open in ``source``, else -1."""
    stack: list[int] = []
    i, in_class = 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class and ch == "]":
            in_class = False
            if opening == "[" and stack:
                stack.pop()
        elif not in_class and ch == "[":
            in_class = True
            if opening == "[":
                stack.append(i)
        elif not in_class and opening == "(" and ch in "()":
            if ch == "(":
                stack.append(i)
            elif stack:
                stack.pop()
        i += 1
    return stack[-1] if stack else -1


def _error_offset(source: str, message: str) -> int:
    """Where RE2's message ("missing ): a(b", "bad repetition operator: **") points in
    ``source``, else 0."""
    for missing, opening in (("missing )", "("), ("missing ]", "[")):
        if message.startswith(missing) and (at := _unclosed(source, opening)) >= 0:
            return at
    _, _, fragment = message.rpartition(": ")
    at = source.find(fragment) if fragment else -1
    return max(at, 0)


def compile_pattern(p: Pattern) -> re2._Regexp:
    """The compiled RE2 regex of ``p``; PatternError when it is too long or invalid."""
    if len(p.source) > MAX_PATTERN:
        raise PatternError(f"a pattern is at most {MAX_PATTERN} characters")
    if not p.source:
        raise PatternError("empty pattern")
    try:
        return re2.compile(regex_source(p), _options())
    except re2.error as exc:
        raw = exc.args[0] if exc.args else b""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        offset = _error_offset(p.source, message) if p.kind == "regex" else 0
        raise PatternError(f"invalid regular expression: {message}", offset) from None


def _find_all(text: str, sub: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    at = text.find(sub)
    while at >= 0:
        out.append((at, at + len(sub)))
        at = text.find(sub, at + len(sub))
    return out


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of each line of ``text`` (as grep reads a file)."""
    if "\n" not in text:
        yield 0, text
        return
    at = 0
    for line in text.split("\n"):
        yield at, line
        at += len(line) + 1


class _Keywords:
    """Sphinx's keywords of a pattern one after the other, as a text holds them: each keyword
    matched where the one before ended and what is no keyword after it was skipped, a
    keyword that is a run of word characters with none of them right before or after it (a
    character of a script written without spaces is a keyword of its own, next to anything),
    case-insensitively.  Built from escaped literals and regexes compiled once: a regex of
    the keyword classes around each word cost Python's ``re`` 10-25 ms to compile, for every
    query holding an id or a phrase to check; and a text is looked at only where its first
    keyword is, not split into all of its keywords."""

    __slots__ = ("_texts", "_words", "_runs", "_uses", "_rx")

    def __init__(self, text: str) -> None:
        words = _TOKEN_RE.findall(text)
        if not words or len(text) > MAX_PATTERN:
            raise PatternError("no keyword to look for" if not words else
                               f"a pattern is at most {MAX_PATTERN} characters")
        self._texts = words
        self._words = [re.compile(re.escape(w), re.IGNORECASE) for w in words]
        self._runs = [_KEYWORD_CHAR_RE.match(w) is not None for w in words]
        self._uses = 0
        self._rx: re.Pattern[str] | None = None

    def search(self, text: str) -> bool:
        rx = self._rx or self._used()
        return rx.search(text) is not None if rx is not None else \
            self._find(text, 0) is not None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the keywords are in ``text`` (the first's start to the last's end):
        non-overlapping, left to right."""
        rx = self._rx or self._used()
        if rx is not None:
            return [m.span() for m in rx.finditer(text)]
        out: list[tuple[int, int]] = []
        pos = 0
        while (found := self._find(text, pos)) is not None:
            out.append(found)
            pos = found[1]
        return out

    def _used(self) -> re.Pattern[str] | None:
        """The same check as one regex, once this one has looked at KEYWORDS_COMPILED texts:
        ~0.3 µs a text against ~2 for the walk, worth its compiling when a pattern is used
        much (a scan, pages of a query kept by ``check_of``).  (Threads that share a Check
        may both count and compile: no harm.)"""
        self._uses += 1
        if self._uses <= KEYWORDS_COMPILED:
            return None
        words, runs = self._texts, self._runs
        body = re.escape(words[0])
        for k in range(1, len(words)):
            between = "+" if runs[k - 1] and runs[k] else "*"
            body += f"[^{KEYWORD_CHARS}{NGRAM_CHARS}]{between}{re.escape(words[k])}"
        before = f"(?<![{KEYWORD_CHARS}])" if runs[0] else ""
        after = f"(?![{KEYWORD_CHARS}])" if runs[-1] else ""
        self._rx = re.compile(before + body + after, re.IGNORECASE)
        return self._rx

    def _find(self, text: str, pos: int) -> tuple[int, int] | None:
        first, run = self._words[0], self._runs[0]
        while (m := first.search(text, pos)) is not None:
            start = m.start()
            if not (run and start and _KEYWORD_CHAR_RE.match(text, start - 1)):
                end = self._rest(text, m.end())
                if end is not None:
                    return start, end
            pos = start + 1
        return None

    def _rest(self, text: str, end: int) -> int | None:
        """Where the keywords end when the first ends at ``end``, else None."""
        if self._runs[0] and _KEYWORD_CHAR_RE.match(text, end):
            return None
        for word, run in zip(self._words[1:], self._runs[1:], strict=True):
            m = word.match(text, _SEPARATORS_RE.match(text, end).end())  # type: ignore[union-attr]
            if m is None:
                return None
            end = m.end()
            if run and _KEYWORD_CHAR_RE.match(text, end):
                return None
        return end


# anchors that mean "start/end of the text", not of a line: a batch cannot hold them
_TEXT_ANCHOR_RE = re.compile(r"\\[AzZ]")


def _joined(texts: list[str]) -> tuple[list[str], list[int], list[int], list[int]]:
    """The lines of ``texts`` one after the other: each line, the text it belongs to, where
    it starts in that text, and where it starts once they are joined with newlines."""
    if texts and "\n" not in "".join(texts):  # (most lines: one line each, no loop)
        starts = list(itertools.accumulate(map((1).__add__, map(len, texts[:-1])), initial=0))
        return list(texts), list(range(len(texts))), [0] * len(texts), starts
    lines: list[str] = []
    owner: list[int] = []
    offset: list[int] = []
    for i, text in enumerate(texts):
        at = 0
        for part in text.split("\n"):
            lines.append(part)
            owner.append(i)
            offset.append(at)
            at += len(part) + 1
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    return lines, owner, offset, starts


class Check:
    """One pattern, compiled: does a text match it, and where."""

    def __init__(self, p: Pattern) -> None:
        self.pattern = p
        self.words = _Keywords(p.source) if p.kind == "words" else None
        self.rx = None if self.words is not None else compile_pattern(p)
        # the same regex with ^ and $ at every line's edges: one pass over many lines joined
        self.joined_rx = self.joined_bytes = None
        if self.rx is not None and not _TEXT_ANCHOR_RE.search(p.source):
            self.joined_rx = re2.compile("(?m)" + regex_source(p), _options())
            # the same over UTF-8 bytes: RE2's str matches map each match's offsets back to
            # characters, which cost more than the scan when many lines match
            self.joined_bytes = re2.compile(("(?m)" + regex_source(p)).encode(), _options())
        self.bounded = p.word  # the match is group 1
        # a case-sensitive substring without newlines: Python's own search is enough
        self.plain = p.kind == "text" and not p.ignore_case and not p.word \
            and "\n" not in p.source

    def hits(self, text: str) -> bool:
        if self.plain:
            return self.pattern.source in text
        if self.words is not None:
            return self.words.search(text)
        return any(self.rx.search(line) is not None for _, line in _lines(text))

    def hits_many(self, texts: list[str]) -> list[bool]:
        """``hits`` of each text, with one pass of RE2 over them all joined line by line
        (a call into RE2 costs more than scanning a short line), as UTF-8 bytes; after a
        match the pass goes on from the next line.  Exact: a match that runs from one line
        into another is not one grep would see, so the lines it touches are checked one by
        one instead."""
        if self.joined_bytes is None or len(texts) < 2:
            return [self.hits(t) for t in texts]
        joined = "\n".join(texts)
        owner: list[int] | None = None  # the text of each line, when a text has several
        lines = texts
        if joined.count("\n") != len(texts) - 1:
            lines, owner, _, _ = _joined(texts)
        data = joined.encode("utf-8", "surrogatepass")
        out = [False] * len(texts)
        rx, pos, line, line_at, size = self.joined_bytes, 0, 0, 0, len(data)
        while pos <= size:
            m = rx.search(data, pos)
            if m is None:
                break
            start, end = m.span()
            crossed = data.count(b"\n", line_at, start)
            if crossed:
                line += crossed
                line_at = data.rfind(b"\n", line_at, start) + 1
            within = data.count(b"\n", start, end)
            if not within:
                out[line if owner is None else owner[line]] = True
                nl = data.find(b"\n", end)
                pos = size + 1 if nl < 0 else nl + 1
                continue
            for k in range(line, line + within + 1):  # (a match across lines: each alone)
                who = k if owner is None else owner[k]
                if not out[who] and self.rx.search(lines[k]) is not None:
                    out[who] = True
            pos = end
        return out

    def spans_many(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """``spans`` of each text, with one pass of RE2 over them all joined line by line
        (as ``hits_many``; the lines a match runs across are matched one by one instead)."""
        if self.joined_rx is None or self.bounded or len(texts) < 2:
            return [self.spans(t) for t in texts]
        lines, owner, offset, starts = _joined(texts)
        by_line: list[list[tuple[int, int]]] = [[] for _ in lines]
        alone = set()  # lines matched on their own (a match ran across them)
        for m in self.joined_rx.finditer("\n".join(lines)):
            start, end = m.span()
            first = bisect.bisect_right(starts, start) - 1
            if end <= starts[first] + len(lines[first]):
                if end > start and first not in alone:
                    by_line[first].append((start - starts[first], end - starts[first]))
                continue
            last = bisect.bisect_right(starts, end - 1) - 1
            for k in range(first, last + 1):
                if k not in alone:
                    alone.add(k)
                    by_line[k] = self.spans(lines[k])
        out: list[list[tuple[int, int]]] = [[] for _ in texts]
        for k, found in enumerate(by_line):
            out[owner[k]] += [(offset[k] + a, offset[k] + b) for a, b in found]
        return out

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the pattern matches in ``text``: non-overlapping, left to right."""
        if self.words is not None:
            return self.words.spans(text)
        if self.plain:
            return _find_all(text, self.pattern.source)
        out: list[tuple[int, int]] = []
        for at, line in _lines(text):
            pos = 0
            while pos <= len(line):
                m = self.rx.search(line, pos)
                if m is None:
                    break
                start, end = m.span(1) if self.bounded else m.span()
                if end > start:
                    out.append((at + start, at + end))
                pos = max(end, pos + 1) if end > start else pos + 1
        return out


@functools.lru_cache(maxsize=CHECKS_KEPT)
def check_of(p: Pattern) -> Check:
    """``Check(p)``, kept: the next page, a refresh and the live tail ask for the same
    patterns again, and compiling one with grep -w's Unicode word classes takes RE2 ~7 ms
    (three regexes).  A Check does not change once made but for a check of keywords'
    count of texts and the regex it compiles from it (``_Keywords._used``: threads that race
    there compile twice, no harm); RE2's and re's compiled patterns may be used by several
    threads at once."""
    return Check(p)
