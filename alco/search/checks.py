"""What a line must pass beyond what the index answers: its patterns, checked in Python."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def field_value(fields: dict, name: str) -> str:
    """A field's value as text: the key as sent, else the nested path of a dotted name."""
    if name in fields:
        value = fields[name]
    else:
        value = fields
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                return ""
            value = value[part]
    if isinstance(value, dict | list):
        return ""
    return value_text(value)


@dataclass
class LineChecks:
    """All of a query's checks: a line passes when it passes each."""

    items: list[FieldCheck] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items)

    def on_fields(self) -> bool:
        return any(item.field is not None or item.also for item in self.items)

    def passes_many(self, messages: list[str], fields: list[dict] | None) -> list[bool]:
        """``passes`` of each line (message and, when a check is on one, fields), each
        pattern checked over them all at once (alco.search.patterns.Check.hits_many)."""
        ok = [True] * len(messages)
        for item in self.items:
            todo = [i for i, good in enumerate(ok) if good]
            if not todo:
                break
            texts = [item.text(messages[i], fields[i] if fields else None) for i in todo]
            for i, hit in zip(todo, item.check.hits_many(texts), strict=True):
                if hit == item.negate:
                    ok[i] = False
        return ok

    def passes(self, message: str, fields: dict | None) -> bool:
        for item in self.items:
            if item.check.hits(item.text(message, fields)) == item.negate:
                return False
        return True
