"""Elasticsearch's bulk API as shippers use it (rsyslog omelasticsearch, syslog-ng, Vector,
Fluent Bit, Filebeat, Logstash): parse the action/document pairs, answer per item.

``index`` and ``create`` store the document that follows; ``delete`` and ``update`` are
answered with an error item (a log store does not change what it stored).  The target index
(the URL's, or the action's ``_index``) picks the ALCO index: its name, or its name with a
date suffix (``logs-2026.11.24``); any other goes to the default index.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import orjson

from alco.web.intake.lines import json_object, split

DATE_SUFFIX = re.compile(r"[-_.]\d{4}[-_.]?\d{2}[-_.]?\d{2}$")
STORE_ACTIONS = ("index", "create")
OTHER_ACTIONS = ("delete", "update")


@dataclass
class Item:
    """One action of the request: the line to publish, or the error to answer."""

    action: str
    target: str
    doc_id: str
    index: str = ""  # the ALCO index it goes to
    line: bytes | None = None
    status: int = 0
    error: tuple[str, str] | None = None  # (type, reason)


@dataclass
class Bulk:
    items: list[Item] = field(default_factory=list)

    def by_index(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for item in self.items:
            if item.line is not None:
                out.setdefault(item.index, []).append(item)
        return out


def alco_index(target: str, names: list[str], default: str) -> str:
    """The ALCO index an Elasticsearch target names."""
    if target in names:
        return target
    bare = DATE_SUFFIX.sub("", target)
    return bare if bare in names else default


def parse(body: bytes, url_target: str | None, names: list[str], default: str) -> Bulk:
    """Pair actions with documents; a malformed pair becomes an error item (its neighbours
    are kept)."""
    bulk = Bulk()
    lines = split(body)
    i = 0
    while i < len(lines):
        n, raw = lines[i]
        i += 1
        action_doc = json_object(raw)
        if not action_doc or len(action_doc) != 1:
            target = url_target or ""
            bulk.items.append(Item("index", target, "", alco_index(target, names, default),
                                   status=400, error=("illegal_argument_exception",
                                                      f"line {n}: malformed action")))
            continue
        action, meta = next(iter(action_doc.items()))
        meta = meta if isinstance(meta, dict) else {}
        target = str(meta.get("_index") or url_target or "")
        doc_id = str(meta.get("_id") or uuid.uuid4().hex[:20])
        item = Item(action, target, doc_id, alco_index(target, names, default))
        bulk.items.append(item)
        if action in OTHER_ACTIONS:
            if action == "update":
                i += 1  # its partial document
            item.status, item.error = 400, (
                "illegal_argument_exception", f"{action} is not supported: ALCO only adds lines")
            continue
        if action not in STORE_ACTIONS:
            item.status, item.error = 400, (
                "illegal_argument_exception", f"line {n}: unknown action {action!r}")
            continue
        if i >= len(lines):
            item.status, item.error = 400, (
                "illegal_argument_exception", f"line {n}: the action has no document")
            continue
        n_doc, doc = lines[i]
        i += 1
        if json_object(doc) is None:
            item.status, item.error = 400, (
                "document_parsing_exception", f"line {n_doc}: not a JSON object")
            continue
        item.line = doc
    return bulk


def response(bulk: Bulk, took_ms: int) -> bytes:
    """The bulk answer: a status per item, ``errors`` when any failed."""
    items = []
    errors = False
    for item in bulk.items:
        answer: dict = {"_index": item.target or item.index, "_id": item.doc_id,
                        "status": item.status}
        if item.error is None:
            answer.update({"result": "created", "_version": 1, "_seq_no": 0,
                           "_primary_term": 1,
                           "_shards": {"total": 1, "successful": 1, "failed": 0}})
        else:
            errors = True
            answer["error"] = {"type": item.error[0], "reason": item.error[1]}
        items.append({item.action if item.action in (*STORE_ACTIONS, *OTHER_ACTIONS)
                      else "index": answer})
    return orjson.dumps({"took": took_ms, "errors": errors, "items": items})


VERSION = "8.11.0"  # what clients that probe `GET /` compare their own version with


def info() -> bytes:
    """The answer to ``GET /``: what Elasticsearch clients check before sending."""
    return orjson.dumps({
        "name": "alco", "cluster_name": "alco", "cluster_uuid": "alco",
        "version": {"number": VERSION, "build_flavor": "default", "build_type": "alco",
                    "lucene_version": "9.8.0", "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0"},
        "tagline": "You Know, for Search"})
