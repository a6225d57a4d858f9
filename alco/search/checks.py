"""What a line must pass beyond what the index answers: its patterns, checked in Python."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import compress
from operator import not_

from alco.index.schema import value_text
from alco.search.patterns import Check


@dataclass(frozen=True)
class Term:
    """A highlighted term of a query: its colour (``n``, the order typed) and its check."""

    n: int
    check: Check


class AnyOf:
    """Several patterns: a text passes when one of them matches (``field:a,b``)."""

    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks

    def hits(self, text: str) -> bool:
        return any(c.hits(text) for c in self.checks)

    def hits_many(self, texts: list[str]) -> list[bool]:
        each = [c.hits_many(texts) for c in self.checks]
        return [any(col) for col in zip(*each, strict=True)]


@dataclass(frozen=True)
class FieldCheck:
    """A pattern on the message (``field`` None) or on a field's value; ``negate``: the line
    passes when the pattern does not match.  ``also``: columns whose text is looked at with
    the message (the ``context`` columns, which words find as they find the message's)."""

    check: Check | AnyOf
    negate: bool
    field: str | None
    also: tuple[str, ...] = ()

    def text(self, message: str, fields: dict | None) -> str:
        """What the pattern is checked against."""
        if self.field is not None:
            return field_value(fields or {}, self.field)
        if not self.also:
            return message
        return "\n".join([message, *(v for c in self.also
                                      if (v := field_value(fields or {}, c)))])


_NUMBER_RE = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?")


@dataclass(frozen=True)
class FieldEquals:
    """A filter on a field as sent (``seq:700``, ``a.b:x``, ``tags:billing``) that neither
    tag tokens nor a full-text field answer: the line passes when the field (the key as
    sent, or the nested path of a dotted name) equals one of ``values`` as text or as a
    number, or is a list holding one; ``negate``: when it does not."""

    field: str
    values: tuple[str, ...]
    negate: bool
    also: tuple[str, ...] = ()

    def hits_fields(self, fields: dict) -> bool:
        return any(_equals(v, want) for v in _values_at(fields, self.field)
                   for want in self.values)


def _values_at(fields: dict, name: str) -> list[object]:
    """The values of field ``name``: the key as sent, and the nested path of a dotted name
    (a list: each of its items)."""
    found = [fields[name]] if name in fields else []
    if "." in name and all(name.split(".")) \
            and (nested := _nested(fields, name)) is not _MISSING:
        found.append(nested)
    out: list[object] = []
    for value in found:
        out += value if isinstance(value, list) else [value]
    return out


def _equals(value: object, want: str) -> bool:
    if value is None or isinstance(value, dict | list):
        return False
    if isinstance(value, str | bool):
        return value_text(value) == want
    if not _NUMBER_RE.fullmatch(want):
        return False
    return value == (int(want) if "." not in want else float(want))


def field_value(fields: dict, name: str) -> str:
    """A field's value as text: the key as sent, else the nested path of a dotted name."""
    value = fields[name] if name in fields else _nested(fields, name)
    if value is _MISSING or isinstance(value, dict | list):
        return ""
    return value_text(value)


_MISSING = object()


def _nested(fields: dict, name: str) -> object:
    """The value at the nested path of a dotted name (``a.b``: ``fields["a"]["b"]``);
    _MISSING when there is none."""
    value: object = fields
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


@dataclass
class LineChecks:
    """All of a query's checks: a line passes when it passes each."""

    items: list[FieldCheck | FieldEquals] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items)

    def on_fields(self) -> bool:
        return any(item.field is not None or item.also for item in self.items)

    def passes_many(self, messages: list[str], fields: list[dict] | None) -> list[bool]:
        """``passes`` of each line (message and, when a check is on one, fields), each
        pattern checked over them all at once (alco.search.patterns.Check.hits_many), then
        over the lines still passing only.  A scan checks a million lines a second this
        way: nothing is made per line but what a check looks at (the messages as given)."""
        todo: range | list[int] = range(len(messages))
        for item in self.items:
            if not todo:
                break
            if isinstance(item, FieldEquals):
                hits = [item.hits_fields(fields[i] if fields else {}) for i in todo]
            elif item.field is None and not item.also:
                hits = item.check.hits_many(messages if isinstance(todo, range)
                                            else [messages[i] for i in todo])
            else:
                hits = item.check.hits_many([item.text(messages[i], fields[i] if fields else None)
                                             for i in todo])
            todo = list(compress(todo, map(not_, hits) if item.negate else hits))
        if isinstance(todo, range):
            return [True] * len(messages)
        ok = [False] * len(messages)
        for i in todo:
            ok[i] = True
        return ok

    def passes(self, message: str, fields: dict | None) -> bool:
        return self.passes_many([message], [fields or {}])[0]
