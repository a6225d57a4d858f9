"""The head's side of the shards' line services (alco.linestore.service): lines by id.

The head of several machines ([sphinx] agents) finds its lines in the shards' searchds; a shard
with ``[sphinx] lines_port`` keeps their text in its own line store and serves it.  ShardLines
fetches a page's lines from the shards that have them: the writer slot in an id
(``alco.index.ids.slot_of``) says whose it is, as each shard's collector writes
with slots ``first_slot`` up to ``first_slot + writers`` of an index (its ``GET /info``, asked
once and kept, asked again after a failure).  An id of no known shard's slots (a shard's
writers since reduced) is asked of every shard that answers.

Each call is bounded: a shard may take ``[sphinx] agent_connect_timeout`` to accept and
``agent_query_timeout`` to answer (the shards are asked at once, so a call takes at most
their sum).  A shard that does not answer in time leaves its lines out: they are not found,
a warning is logged and added to the caller's ``warnings``, as searchd's agents do.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

import orjson

from alco.config import Config, split_scope
from alco.index.schema import DayLayout, id_ms, slot_of
from alco.linestore.blocks import Brief, Entry
from alco.linestore.service import MAX_DAYS, MAX_IDS

log = logging.getLogger("alco.linestore.remote")
IDLE_CONNECTIONS = 4  # kept open per shard (reads of several threads at once)
KEPT_LAYOUTS = 4096  # day layouts kept per shard (a day index keeps the schema it was made with)


class ShardDown(Exception):
    """A shard's line service did not answer in time, or answered with an error."""


@dataclass(frozen=True)
class ShardInfo:
    """Whose ids a shard's are: its collector's writer slots, per index."""

    first_slot: int
    slots: dict[str, int]  # index -> writers (slots first_slot .. first_slot + writers - 1)

    def owns(self, name: str, slot: int) -> bool:
        return self.first_slot <= slot < self.first_slot + self.slots.get(name, 0)


def route(name: str, ids: list[int], owners: dict[str, ShardInfo]
          ) -> tuple[dict[str, list[int]], list[int]]:
    """``ids`` of index ``name`` by the shard (key of ``owners``) whose writer slots hold them,
    in the order given, and the ids no shard's slots hold."""
    by_shard: dict[str, list[int]] = {}
    unowned: list[int] = []
    for doc_id in ids:
        slot = slot_of(doc_id)
        owner = next((key for key, info in owners.items() if info.owns(name, slot)), None)
        if owner is None:
            unowned.append(doc_id)
        else:
            by_shard.setdefault(owner, []).append(doc_id)
    return by_shard, unowned


def layout_of(sent: dict) -> DayLayout:
    """A DayLayout as a shard's ``/info`` sends it (what it does not say: the default)."""
    return DayLayout(**{f.name: bool(sent[f.name]) for f in dataclasses.fields(DayLayout)
                        if f.name in sent and f.name != "common"})


def combined(layouts: list[DayLayout]) -> DayLayout:
    """What every shard's day index has: text or fields kept in searchd only if every one
    keeps them there, a full-text field only if every one has it."""
    return DayLayout(**{f.name: all(getattr(got, f.name) for got in layouts)
                        for f in dataclasses.fields(DayLayout) if f.name != "common"})


def line_services(config: Config) -> list[tuple[str, str]]:
    """(agent, ``host:port`` of its line service) of each of ``[sphinx] agents`` that has one:
    ``[sphinx] agent_lines`` when set, else the agent's host and ``lines_port``."""
    sx = config.sphinx
    if sx.agent_lines:
        return list(zip(sx.agents, sx.agent_lines, strict=True))
    if sx.lines_port:
        return [(agent, f"{agent.rpartition(':')[0]}:{sx.lines_port}") for agent in sx.agents]
    return []


def bearer(config: Config) -> str | None:
    """The token sent to the shards: the first of ``[web] tokens`` that opens every index
    (else the first); None without tokens."""
    secrets = [split_scope(entry) for entry in config.web.tokens]
    return next((s for s, scope in secrets if scope is None), secrets[0][0] if secrets else None)


class Shard:
    """One shard's line service: a few kept HTTP/1.1 connections, its info and layouts."""

    def __init__(self, agent: str, address: str, timeouts: tuple[float, float],
                 token: str | None = None) -> None:
        self.agent, self.address = agent, address
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.connect_timeout, self.query_timeout = timeouts
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.info: ShardInfo | None = None
        self.layouts: dict[str, DayLayout] = {}

    def ask_info(self, days: list[str], deadline: float) -> dict[str, DayLayout | None]:
        """``GET /info``: keeps the shard's slots, and the layouts of ``days`` it has."""
        path = "/info?days=" + quote(",".join(days), safe=",") if days else "/info"
        try:
            body = orjson.loads(self.request("GET", path, None, deadline))
            info = ShardInfo(int(body["first_slot"]), {str(k): int(v)
                                                       for k, v in body["slots"].items()})
            layouts = {day: None if got is None else layout_of(got)
                       for day, got in body.get("layouts", {}).items()}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ShardDown(f"its /info is not understood ({exc!r})") from None
        self.info = info
        if len(self.layouts) + len(layouts) > KEPT_LAYOUTS:
            self.layouts.clear()
        self.layouts.update({day: got for day, got in layouts.items() if got is not None})
        return layouts

    def lines(self, name: str, ids: list[int], days: list[str], messages: bool,
              deadline: float) -> dict[int, Entry] | dict[int, Brief]:
        """The lines of ``ids`` the shard's store holds, MAX_IDS ids a request."""
        found: dict = {}
        for at in range(0, len(ids), MAX_IDS):
            body = orjson.dumps({"index": name, "ids": ids[at:at + MAX_IDS], "days": days,
                                 "messages": messages})
            answer = self.request("POST", "/lines", body, deadline)
            try:
                cols = orjson.loads(answer)
                if messages:  # (a shard of before the briefs answers the messages alone)
                    n = len(cols["id"])
                    found.update((i, Brief(t if t is not None else id_ms(i) * 1000, m, k or {}))
                                 for i, t, m, k in zip(cols["id"], cols.get("ts") or [None] * n,
                                                       cols["msg"], cols.get("m") or [{}] * n,
                                                       strict=True))
                else:
                    found.update((i, Entry(i, t, m, f or {}, k or {})) for i, t, m, f, k in zip(
                        cols["id"], cols["ts"], cols["msg"], cols["f"], cols["m"], strict=True))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ShardDown(f"its /lines answer is not understood ({exc!r})") from None
        return found

    def request(self, method: str, path: str, body: bytes | None, deadline: float) -> bytes:
        """One request on a kept connection (a kept one the service closed meanwhile is
        replaced once); ShardDown when it fails, is refused or runs past ``deadline``."""
        for attempt in (0, 1):
            conn, reused = self._connection()
            try:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no time left")
                if conn.sock is None:
                    conn.timeout = min(self.connect_timeout, left)
                    conn.connect()
                conn.sock.settimeout(min(self.query_timeout, max(left, 0.001)))
                conn.request(method, path, body, self.headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 0:
                    continue
                raise ShardDown("it closed the connection") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise ShardDown(str(exc) or type(exc).__name__) from None
            if resp.will_close:
                conn.close()
            else:
                self._keep(conn)
            if resp.status != 200:
                raise ShardDown(f"{method} {path.split('?')[0]} answered {resp.status}: "
                                f"{data[:300].decode('utf-8', 'replace')}")
            return data
        raise AssertionError("unreachable")

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return http.client.HTTPConnection(self.host, self.port), False

    def _keep(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class ShardLines:
    """Lines of the shards' line stores by id, for the head ([sphinx] agents with
    ``lines_port`` or ``agent_lines``).  Thread-safe."""

    def __init__(self, config: Config) -> None:
        sx = config.sphinx
        self.timeouts = timeouts = (sx.agent_connect_timeout, sx.agent_query_timeout)
        token = bearer(config)
        self.shards = [Shard(agent, address, timeouts, token)
                       for agent, address in line_services(config)]
        self._pool = ThreadPoolExecutor(max(1, len(self.shards)), "alco-shard-lines") \
            if len(self.shards) > 1 else None

    def fetch(self, name: str, ids: list[int], indexes: list[str] = (),
              warnings: list[str] | None = None) -> dict[int, Entry]:
        """The lines of ALCO index ``name`` among ``ids`` that the shards hold (as
        ``LineReader.fetch``: an id is looked for in the day of its time, then in ``indexes``).
        Lines of a shard that does not answer are left out; ``warnings`` gets a sentence
        naming it."""
        return self._find(name, ids, list(indexes), False, warnings)

    def briefs(self, name: str, ids: list[int], indexes: list[str] = (),
               warnings: list[str] | None = None) -> dict[int, Brief]:
        """Only the times, messages and marks of ``fetch``'s lines."""
        return self._find(name, ids, list(indexes), True, warnings)

    def layout(self, day_index: str, warnings: list[str] | None = None) -> DayLayout | None:
        """What the shards' ``day_index`` was made with (None: no shard that answers has
        it); when they differ, what all have (``combined``).  Asked of a shard once per day
        index it has, then kept (a day index keeps the schema it was made with)."""
        asked = [s for s in self.shards if day_index not in s.layouts]
        deadline = self.deadline()
        if asked:
            self._each(asked, lambda s: s.ask_info([day_index], deadline), warnings,
                       "its day layouts are unknown")
        found = [s.layouts[day_index] for s in self.shards if day_index in s.layouts]
        if not found:
            return None
        if len(set(found)) > 1:
            log.warning("the shards' %s differ: %s", day_index, found)
        return combined(found)

    def _find(self, name: str, ids: list[int], days: list[str], messages: bool,
              warnings: list[str] | None) -> dict:
        ids = sorted(set(ids))
        if not ids or not self.shards:
            return {}
        days = days[:MAX_DAYS]
        deadline = self.deadline()
        unknown = [s for s in self.shards if s.info is None]
        if unknown:
            self._each(unknown, lambda s: s.ask_info([], deadline), warnings,
                       "its lines are missing")
        known = {s.address: s for s in self.shards if s.info is not None}
        by_shard, unowned = route(name, ids, {a: s.info for a, s in known.items()})
        work = {known[a]: wanted for a, wanted in by_shard.items()}
        for shard in known.values():  # ids of no shard's slots: asked of every shard
            if unowned:
                work[shard] = sorted(work.get(shard, []) + unowned)
        found: dict = {}
        for part in self._each(list(work), lambda s: s.lines(name, work[s], days, messages,
                                                             deadline),
                               warnings, "its lines are missing", forget=True):
            found.update(part)
        return found

    def deadline(self) -> float:
        """When a call must be done: the shards are asked at once, each may take
        ``agent_connect_timeout`` to accept and ``agent_query_timeout`` to answer."""
        return time.monotonic() + self.timeouts[0] + self.timeouts[1]

    def _each(self, shards: list[Shard], call: Callable[[Shard], object],
              warnings: list[str] | None, loss: str, forget: bool = False) -> list:
        """``call(shard)`` of each shard at once; those that fail are logged and told in
        ``warnings`` (with ``forget``, their info is asked again next time)."""
        def one(shard: Shard) -> object:
            try:
                return call(shard)
            except ShardDown as exc:
                if forget:
                    shard.info = None
                said = (f"shard {shard.agent}: its line service {shard.address} did not "
                        f"answer ({exc}): {loss}")
                log.warning("%s", said)
                if warnings is not None and said not in warnings:
                    warnings.append(said)
                return None

        if self._pool is None or len(shards) == 1:
            results = [one(s) for s in shards]
        else:
            results = list(self._pool.map(one, shards))
        return [r for r in results if r is not None]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        for shard in self.shards:
            shard.close()
