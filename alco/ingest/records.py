"""Turn a message body from any shipper into a Record (pure logic, no I/O).

Accepted: logcollect, python-logstash, syslog-ng ``format-json``, any JSON object with a
message-like field, and plain text; and *batches*: a body with content type
``application/x-ndjson`` holds one record per line (:func:`batch_lines`), each normalised on its
own (its fingerprint names its line, so identical lines of one message stay distinct).
Bad input is degraded (truncated, and marked in the record's own ``marks``, never among the
user's fields: ``truncated`` / ``invalid_utf8`` / ``bad_timestamp``) or refused with
:class:`DeadLetter`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from alco.index.schema import Record, fingerprint

MESSAGE_KEYS = ("message", "msg", "MESSAGE", "short_message", "log", "text", "@message")
TIME_KEYS = ("@timestamp", "timestamp", "ISODATE", "DATE", "time", "@t", "datetime")
# Plausible times (1970-01-02 .. 2200-01-01): anything else is a wrong stamp, not a date.
MIN_TS_US = 86_400 * 1_000_000
MAX_TS_US = 7_258_118_400 * 1_000_000
SYSLOG_FORMAT = "%Y %b %d %H:%M:%S"  # the BSD stamp of syslog-ng's DATE: "Nov 24 08:00:00"
# Content types of a batch body: one record per line (what ALCO's own shippers and HTTP ingest
# publish).  Any other content type is one record per message.
BATCH_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")


class DeadLetter(Exception):
    """The body cannot be indexed; ``reason`` is a short metric label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 256 * 1024
    max_fields: int = 200
    max_depth: int = 10
    max_field_bytes: int = 64 * 1024


@dataclass(frozen=True)
class NormaliseOptions:
    limits: Limits = field(default_factory=Limits)
    excluded: frozenset[str] = frozenset()
    naive_local: bool = False


def is_batch(content_type: str | None) -> bool:
    """Whether a message with this content type carries one record per line."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in BATCH_TYPES


def batch_lines(body: bytes) -> list[bytes]:
    """The records of a batch body: its lines (``\\n`` or ``\\r\\n``), blank ones skipped."""
    lines = []
    for line in body.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip():
            lines.append(line)
    return lines


def normalise(body: bytes, *, amqp_ts: int | None = None, message_id: str | None = None,
              arrival_us: int | None = None, content_type: str | None = None,
              options: NormaliseOptions = NormaliseOptions(),
              line_no: int | None = None) -> Record:
    """Normalise one message body (or line ``line_no`` of a batch body); raise DeadLetter for
    bodies that cannot be indexed.  The time of a record without one: the AMQP ``timestamp``
    (``amqp_ts``, seconds) if plausible, else ``arrival_us``, else now."""
    if arrival_us is None:
        arrival_us = time.time_ns() // 1000
    fallback_us, arrival = arrival_us, True
    if isinstance(amqp_ts, int) and MIN_TS_US <= amqp_ts * 1_000_000 < MAX_TS_US:
        fallback_us, arrival = amqp_ts * 1_000_000, False
    key = body + (message_id or "").encode()
    fp = fingerprint(key if line_no is None else key + b"#%d" % line_no)
    if not body.strip():
        raise DeadLetter("empty", "empty body")
    degraded: list[str] = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
        degraded.append("invalid_utf8")
    doc = _parse_json(text, content_type)
    if doc is None:
        rec = Record(fallback_us, text.rstrip("\r\n"), {}, fp, degraded, arrival=arrival)
    else:
        rec = _from_object(doc, fallback_us, fp, degraded, options.naive_local, arrival)
    _apply_limits(rec, options, _within_limits(body, options.limits))
    return rec


# searchd 2.2 prints JSON floats with "%f" into a small buffer: from 1e20 on it answers broken
# JSON (or garbage bytes).  Such numbers are stored as text, and marked.
MAX_FLOAT = 1e18
MIN_INT, MAX_INT = -(2 ** 63), 2 ** 63


def _within_limits(body: bytes, limits: Limits) -> bool:
    """True when no string of this body can be over a size limit and no value deeper than the
    depth limit, so only numbers and containers need a look (:func:`_needs_walk`): the common
    case, a few hundred bytes of flat fields."""
    return (len(body) <= min(limits.max_field_bytes, limits.max_message_bytes)
            and body.count(b"{") + body.count(b"[") <= limits.max_depth)


def _needs_walk(value: object) -> bool:
    """Whether a field of a small body may be over a limit: an integer beyond 64 bits, a float
    searchd cannot print, or a container (walked by :func:`_limit_value`)."""
    t = type(value)
    if t is str or t is bool or value is None:
        return False
    if t is int:
        return not MIN_INT <= value < MAX_INT  # type: ignore[operator]
    if t is float:
        return not -MAX_FLOAT < value < MAX_FLOAT  # type: ignore[operator]
    return True


def _parse_json(text: str, content_type: str | None) -> dict | None:
    stripped = text.lstrip()
    looks_json = stripped[:1] in ("{", "[") or (content_type or "").endswith("json")
    if not looks_json:
        return None
    try:
        doc = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None  # broken JSON: keep the body as plain text
    if not isinstance(doc, dict):
        raise DeadLetter("not_object", f"JSON {type(doc).__name__} instead of an object")
    return doc


def _from_object(doc: dict, fallback_us: int, fp: int, degraded: list[str],
                 naive_local: bool, arrival: bool) -> Record:
    message = None
    for key in MESSAGE_KEYS:
        if key in doc:
            message = doc.pop(key)
            break
    if message is None:
        message = ""
    elif not isinstance(message, str):
        message = orjson.dumps(message).decode() if not isinstance(message, int | float) \
            else str(message)
        degraded.append("message_type")
    marks: dict = {}
    ts_us = _find_time(doc, naive_local, degraded, marks)
    fields = doc  # names and values exactly as sent (a fresh dict of our own)
    return Record(ts_us if ts_us is not None else fallback_us, message, fields, fp, degraded,
                  marks, arrival and ts_us is None)


def _find_time(doc: dict, naive_local: bool, degraded: list[str], marks: dict) -> int | None:
    """The first readable time field (removed from the fields); unreadable ones are kept."""
    bad = None
    for key in TIME_KEYS:
        if key not in doc:
            continue
        ts_us = parse_timestamp(doc[key], naive_local)
        if ts_us is not None:
            del doc[key]
            return ts_us
        bad = bad or key
    if bad is not None:
        marks["bad_timestamp"] = str(doc[bad])[:100]  # the field itself stays as sent too
        degraded.append("bad_timestamp")
    return None


def parse_timestamp(raw: object, naive_local: bool = False) -> int | None:
    """ISO 8601 text, a syslog stamp or an epoch number -> microseconds since the epoch, or
    None when unreadable or implausible (before 1970-01-02 or after 2200)."""
    try:
        ts_us = _parse_timestamp(raw, naive_local)
    except (ValueError, OverflowError, OSError):
        return None
    if ts_us is None or not MIN_TS_US <= ts_us < MAX_TS_US:
        return None
    return ts_us


def _parse_timestamp(raw: object, naive_local: bool) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        for limit, divisor in ((10 ** 17, 1000), (10 ** 14, 1)):
            if raw > limit:
                return raw // divisor
        return raw * 1000 if raw > 10 ** 11 else raw * 1_000_000
    if isinstance(raw, float):
        value = raw
        if value != value:  # NaN
            return None
        if value > 1e17:  # nanoseconds
            return int(value // 1000)
        if value > 1e14:  # microseconds
            return int(value)
        if value > 1e11:  # milliseconds
            return int(value * 1000)
        return int(value * 1_000_000)
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip()
    zulu = text.endswith(("Z", "z"))
    try:
        dt = datetime.fromisoformat(text[:-1] if zulu else text)
    except ValueError:
        dt = _syslog_time(text)
        if dt is None:
            return None
    if dt.tzinfo is None:
        if not naive_local:
            return (dt - _EPOCH_NAIVE) // _ONE_US  # UTC: exact integer arithmetic
        dt = dt.astimezone()
    return (dt - _EPOCH) // _ONE_US


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)


def _syslog_time(text: str) -> datetime | None:
    """``Nov 24 08:00:00`` (no year: the current one, or last year's if that is ahead)."""
    now = datetime.now()
    try:
        dt = datetime.strptime(f"{now.year} {' '.join(text.split())}", SYSLOG_FORMAT)
    except ValueError:
        return None
    if dt > now.replace(microsecond=0) and (dt - now).days > 1:
        dt = dt.replace(year=now.year - 1)
    return dt


def _apply_limits(rec: Record, options: NormaliseOptions, small: bool = False) -> None:
    limits = options.limits
    truncated: list[str] = []
    message, cut = (rec.message, False) if small else _truncate(rec.message,
                                                                limits.max_message_bytes)
    if cut:
        rec.message = message
        truncated.append("message")
    for key in options.excluded:
        rec.fields.pop(key, None)
    if len(rec.fields) > limits.max_fields:
        keep = list(rec.fields)[: limits.max_fields]
        rec.fields = {k: rec.fields[k] for k in keep}
        truncated.append("fields")
    fields = rec.fields.items()
    for key, value in ([kv for kv in fields if _needs_walk(kv[1])] if small else list(fields)):
        new, cut = _limit_value(value, limits, 1)
        if cut:
            rec.fields[key] = new
            truncated.append(key)
    if truncated:
        rec.marks["truncated"] = truncated[:20]
        rec.degraded.append("truncated")
    if "invalid_utf8" in rec.degraded:
        rec.marks["invalid_utf8"] = True


def _truncate(text: str, max_bytes: int) -> tuple[str, bool]:
    if len(text) * 4 <= max_bytes:
        return text, False
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode("utf-8", "ignore"), True


def _limit_value(value: object, limits: Limits, depth: int) -> tuple[object, bool]:
    if isinstance(value, str):
        return _truncate(value, limits.max_field_bytes)
    if isinstance(value, dict | list):
        if depth >= limits.max_depth:
            text = orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATACLASS).decode()
            return _truncate(text, limits.max_field_bytes)[0], True
        cut_any = False
        items = value.items() if isinstance(value, dict) else enumerate(value)
        out: dict | list = {} if isinstance(value, dict) else []
        for i, (k, v) in enumerate(items):
            if i >= limits.max_fields:
                cut_any = True
                break
            new, cut = _limit_value(v, limits, depth + 1)
            cut_any = cut_any or cut
            if isinstance(out, dict):
                out[str(k)] = new
            else:
                out.append(new)
        return out, cut_any
    if isinstance(value, int) and not -(2 ** 63) <= value < 2 ** 63:
        return str(value), True
    if isinstance(value, float) and not -MAX_FLOAT < value < MAX_FLOAT:
        return repr(value), True
    return value, False
