"""grep's patterns and flags as one term of ALCO's query language (no I/O, standard library).

``alco grep -i -e timeout -e 'conn.*reset'`` becomes ``/(?:timeout)|(?:conn.*reset)/i``: the
patterns of ``-e`` (or the first query word) in the syntax chosen by ``-F`` (fixed strings),
``-E`` (extended regular expressions) or ``-G`` (basic ones, the default), with ``-i``
(flag ``i``), ``-w`` (flag ``w``) and ``-v`` (a leading ``-``).  The server's patterns are RE2
regular expressions (``/.../``) or literal substrings (``'...'``), case-sensitive unless
flagged ``i``; a message matches when any of its lines does, like grep on the same text.

What differs between POSIX and RE2 is translated here:

- BRE: ``\\( \\) \\{ \\} \\| \\+ \\?`` are the operators, plain ``( ) { } | + ?`` are
  literal; ``*`` at the start of an expression (after ``\\(``, ``\\|`` or a leading ``^``) is
  literal; ``^`` is an anchor only at the start of an expression and ``$`` only at its end.
- ERE: a repetition operator with nothing before it (``*b``, ``(+b)``) repeats nothing, as GNU
  grep reads it (RE2 refuses it): it is dropped; ``{`` that does not start an interval is
  literal; ``{,n}`` is ``{0,n}``.
- Bracket expressions are copied, except that a backslash inside is literal in POSIX (``\\\\``
  in RE2) and ``[=c=]``/``[.c.]`` are the character ``c``.  ``[:alpha:] [:alnum:] [:upper:]
  [:lower:]`` become Unicode classes (``\\pL`` ...) as in grep's UTF-8 locales; the other
  POSIX classes (``[[:digit:]]``, ``[[:space:]]``) keep their names: RE2 knows them (ASCII).
- ``\\w``/``\\W`` become ``[\\pL\\pN_]``/``[^\\pL\\pN_]`` (Unicode word characters, as in
  grep); ``\\<`` and ``\\>`` (start/end of a word) become ``\\b``, RE2's (ASCII) word
  boundary, like ``\\b`` and ``\\B``; back-references (``\\1``) do not exist in RE2 and are
  refused; other escapes of letters keep RE2's meaning (``\\d`` is a digit, where grep
  reads ``d``).
- A ``/`` is written ``\\/`` (the delimiter of the query term), control characters as
  ``\\x{..}``, an escaped space or non-ASCII character as the character itself.

An empty pattern matches every line, as in grep: the term is then left out (``""``); with
``-v`` no line can match (``None``); with ``-w`` it is refused (grep's answer depends on the
characters around empty matches).
"""

from __future__ import annotations

import re
import string
from typing import Literal

from alco.errors import BadInput

Syntax = Literal["F", "E", "G"]
PUNCTUATION = frozenset(string.punctuation) - {"_"}  # "_" is a word character
BRE_LITERALS = frozenset("(){}|+?")
_INTERVAL_RE = re.compile(r"(\d*)(,?)(\d*)")
# grep's word characters and letter classes in a UTF-8 locale are Unicode; RE2's \w and
# [[:alpha:]] are ASCII only, so they are written as Unicode classes
WORD_CLASS = r"\pL\pN_"
UNICODE_CLASSES = {"alpha": r"\pL", "alnum": r"\pL\pN", "upper": r"\p{Lu}",
                   "lower": r"\p{Ll}"}


class PatternError(BadInput):
    """A grep pattern that cannot be written as an RE2 expression."""


def _control(c: str) -> bool:
    return ord(c) < 0x20 or ord(c) == 0x7F


def literal(c: str) -> str:
    """One character as an RE2 literal: ASCII punctuation escaped (``/`` too), control
    characters as ``\\x{..}``, everything else as it is (RE2 refuses ``\\`` before a letter,
    a space or a non-ASCII character)."""
    if c in PUNCTUATION:
        return "\\" + c
    if _control(c):
        return f"\\x{{{ord(c):02X}}}"
    return c


def escape_fixed(text: str) -> str:
    """A fixed string as an RE2 expression that matches exactly it."""
    return "".join(literal(c) for c in text)


# -- bracket expressions -----------------------------------------------------------------------
def _bracket_special(pattern: str, j: int) -> tuple[str, int]:
    """``[:name:]``, ``[=c=]`` or ``[.c.]`` at ``j`` inside a bracket expression."""
    kind = pattern[j + 1]
    end = pattern.find(kind + "]", j + 2)
    if end < 0:
        raise PatternError(f"unmatched [{kind} in {pattern!r}")
    name = pattern[j + 2:end]
    if kind == ":":
        return UNICODE_CLASSES.get(name, f"[:{name}:]"), end + 2
    if len(name) != 1:
        raise PatternError(f"[{kind}{name}{kind}] is not supported (one character only)")
    return _in_bracket(name), end + 2


def _in_bracket(c: str) -> str:
    if c in "\\[]^/":
        return "\\" + c
    return f"\\x{{{ord(c):02X}}}" if _control(c) else c


def bracket(pattern: str, i: int) -> tuple[str, int]:
    """The bracket expression starting at ``pattern[i] == "["`` as RE2 text, and the index
    after its closing ``]``."""
    j, out = i + 1, ["["]
    if pattern.startswith("^", j):
        out.append("^")
        j += 1
    if pattern.startswith("]", j):  # a ] first is a member
        out.append("\\]")
        j += 1
    while j < len(pattern):  # each step consumes at least one character
        c = pattern[j]
        if c == "]":
            return "".join(out) + "]", j + 1
        if c == "[" and pattern[j + 1:j + 2] in (":", "=", "."):
            text, j = _bracket_special(pattern, j)
            out.append(text)
            continue
        out.append("-" if c == "-" else _in_bracket(c))
        j += 1
    raise PatternError(f"unmatched [ in {pattern!r}")


# -- escapes -----------------------------------------------------------------------------------
def _letter_escape(c: str, pattern: str) -> str:
    if c.isdigit() and c != "0":
        raise PatternError(f"back-references (\\{c}) are not supported: {pattern!r}")
    if c in "<>":
        return "\\b"
    if c == "`":
        return "^"
    if c == "'":
        return "$"
    if c in "wW":
        return f"[{'^' if c == 'W' else ''}{WORD_CLASS}]"
    if c.isascii() and c.isalnum():
        return "\\" + c  # \s \S \b \B and RE2's own (\d)
    return literal(c)


def _interval(pattern: str, j: int, close: str) -> tuple[str, int] | None:
    """``m``, ``m,``, ``m,n`` or ``,n`` at ``j`` followed by ``close``: RE2's ``{...}``."""
    m = _INTERVAL_RE.match(pattern, j)
    low, comma, high = m.groups() if m else ("", "", "")
    if not m or not (low or high) or not pattern.startswith(close, m.end()):
        return None
    if low and high and int(low) > int(high):
        raise PatternError(f"invalid interval {{{low},{high}}} in {pattern!r}")
    return "{" + (low or "0") + comma + high + "}", m.end() + len(close)


# -- the two syntaxes --------------------------------------------------------------------------
class _Converter:
    """Walks a BRE or ERE once, left to right, writing RE2 text."""

    def __init__(self, pattern: str, basic: bool) -> None:
        self.pattern, self.basic = pattern, basic
        self.out: list[str] = []
        self.i = 0
        self.start = True  # at the start of an expression: nothing to repeat yet

    def run(self) -> str:
        # bounded: every step consumes at least one character of the pattern
        while self.i < len(self.pattern):
            c = self.pattern[self.i]
            if c == "[":
                self.emit(*bracket(self.pattern, self.i))
            elif c == "\\":
                self.escape()
            else:
                self.plain(c)
        return "".join(self.out)

    def emit(self, text: str, i: int, start: bool = False) -> None:
        self.out.append(text)
        self.i, self.start = i, start

    def at_end_of_expression(self, j: int) -> bool:
        rest = self.pattern[j:]
        return rest == "" or rest.startswith(("\\)", "\\|"))

    def escape(self) -> None:
        i, p = self.i, self.pattern
        if i + 1 >= len(p):
            raise PatternError(f"trailing backslash in {p!r}")
        c = p[i + 1]
        if self.basic and c in "(|":
            self.emit(c, i + 2, start=True)
        elif self.basic and c == ")":
            self.emit(")", i + 2)
        elif self.basic and c in "+?" and not self.start:
            self.emit(c, i + 2)
        elif self.basic and c == "{" and not self.start:
            got = _interval(p, i + 2, "\\}")
            if got is None:
                raise PatternError(f"unmatched \\{{ in {p!r}")
            self.emit(*got)
        else:
            self.emit(_letter_escape(c, p), i + 2)

    def plain(self, c: str) -> None:
        if self.basic:
            self.plain_basic(c)
        else:
            self.plain_extended(c)

    def plain_basic(self, c: str) -> None:
        i = self.i
        if c == "^" and self.start:
            self.emit("^", i + 1, start=True)  # an anchor; a * after it is literal
        elif c == "$" and self.at_end_of_expression(i + 1):
            self.emit("$", i + 1)
        elif c == "*" and not self.start:
            self.emit("*", i + 1)
        elif c in BRE_LITERALS or c in "*^$":
            self.emit("\\" + c, i + 1)
        else:
            self.emit("." if c == "." else literal(c), i + 1)

    def plain_extended(self, c: str) -> None:
        i = self.i
        if c in "(|":
            self.emit(c, i + 1, start=True)
        elif c in ")^$.":
            self.emit(c, i + 1, start=self.start and c == "^")
        elif c in "*+?":
            self.repeat(c, i + 1)
        elif c == "{":
            got = _interval(self.pattern, i + 1, "}")
            if got is None:
                self.emit("\\{", i + 1)
            else:
                self.repeat(*got)
        else:
            self.emit(literal(c), i + 1)

    def repeat(self, op: str, i: int) -> None:
        """An ERE repetition; with nothing before it, GNU grep repeats the empty string (a
        repeated leading ``^`` is an optional anchor when it may repeat zero times)."""
        if not self.start:
            self.emit(op, i)
            return
        if self.out and self.out[-1] == "^" and (op in "*?" or op.startswith("{0")):
            self.out.pop()
        self.emit("", i, start=True)


def to_re2(pattern: str, syntax: Syntax) -> str:
    """One grep pattern in ``syntax`` (``F``, ``E`` or ``G``) as an RE2 expression."""
    if syntax == "F":
        return escape_fixed(pattern)
    return _Converter(pattern, basic=syntax == "G").run()


# -- the query term ----------------------------------------------------------------------------
def split_patterns(patterns: list[str]) -> list[str]:
    """grep reads a pattern holding newlines as several patterns, one a line."""
    return [part for pattern in patterns for part in pattern.split("\n")]


def quote_fixed(text: str) -> str:
    """``'text'``: the query language's literal substring (a quote inside doubled)."""
    return "'" + text.replace("'", "''") + "'"


def grep_term(patterns: list[str], syntax: Syntax = "G", ignore_case: bool = False,
              word: bool = False, invert: bool = False) -> str | None:
    """The query term of grep ``patterns`` (OR-ed) with grep's flags.

    ``""`` when the patterns match every line (an empty pattern: no term is needed), ``None``
    when no line can match (``-v`` with an empty pattern)."""
    parts = split_patterns(patterns)
    if not parts:
        raise PatternError("no pattern given")
    if "" in parts:
        if word:
            raise PatternError("an empty pattern with -w is not supported")
        return None if invert else ""
    flags = ("i" if ignore_case else "") + ("w" if word else "")
    sign = "-" if invert else ""
    if syntax == "F" and len(parts) == 1 and not any(_control(c) for c in parts[0]):
        return sign + quote_fixed(parts[0]) + flags
    regexes = [to_re2(part, syntax) for part in parts]
    body = regexes[0] if len(regexes) == 1 else "|".join(f"(?:{r})" for r in regexes)
    return f"{sign}/{body}/{flags}"
