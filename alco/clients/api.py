"""A client of the ALCO web app's HTTP API (``/api/...``), for ``alco grep``.

GET requests with the configured credentials (a bearer token, else basic auth), JSON answers,
server-sent events for the live tail, and failures turned into :class:`ApiError` with a message
that says what to do. Where the server is older and lacks an endpoint (``NotSupported``), the
functions fall back to ``/lines``. Only the standard library's HTTP client is used.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

PAGE = 1000  # lines per request
COUNT_CAP = 100_000  # the most /count counts in one request (the server's maximum cap)
# A page cut short by the server's time budget says so in a warning; alco grep goes on from its
# cursor (and shows progress on a terminal), so that warning is not repeated on stderr.
BUDGET_WARNING = "time budget"
Progress = Callable[[dict], None]  # told of every page read (``partial``, ``searched_to``)


# searchd's warning of a shard that did not answer: "index a_1, a_2: agent host:port: why"
AGENT_WARNING = re.compile(r"^index [^:]*: agent (\S+?): (.*)$", re.S)


def missing_shard(warning: str) -> tuple[str, str]:
    """What a warning is about (a shard's address, or the warning itself) and how to say it:
    a search's queries each name the shard with their day indexes, said once per shard."""
    m = AGENT_WARNING.match(warning)
    if m is None:
        return warning, warning
    return m[1], f"shard {m[1]} did not answer ({m[2]}): its lines are missing"


class ApiError(Exception):
    """A failure of the API, worded for the user (``alco grep`` prints it, exit status 2)."""


class NotSupported(ApiError):
    """The server has no such endpoint (404 on a route): the caller falls back."""


def parse_sse(lines: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` pairs of a server-sent event stream (comments are skipped)."""
    event, data = "message", []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class Api:
    """GET requests to the ALCO web app, errors turned into :class:`ApiError`."""

    def __init__(self, base: str, token: str | None = None, basic: str | None = None,
                 timeout: float = 30.0) -> None:
        self.base, self.timeout = base.rstrip("/"), timeout
        self.warned: set[str] = set()
        self.headers = {"Accept": "application/json", "User-Agent": "alco-grep"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif basic:
            self.headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        return self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")

    def open(self, path: str, params: dict[str, Any] | None = None,
             timeout: float | None = None) -> Any:
        request = urllib.request.Request(self.url(path, params), headers=self.headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"cannot reach ALCO at {self.base}: {reason}; "
                            "is `alco web` running? (set [web] url or --server)") from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON answer; its warnings (a shard that did not answer) go to stderr once."""
        with self.open(path, params) as resp:
            body = json.loads(resp.read())
        warnings = body.get("warnings") if isinstance(body, dict) else None
        for warning in warnings or ():
            if BUDGET_WARNING in str(warning):
                continue
            shard, said = missing_shard(str(warning))
            if shard not in self.warned:
                self.warned.add(shard)
                _warn(f"partial results: {said}")
        return body

    def _http_error(self, exc: urllib.error.HTTPError) -> ApiError:
        body = exc.read().decode("utf-8", "replace")
        try:
            message = json.loads(body).get("error") or body
        except (ValueError, AttributeError):
            message = body.strip() or exc.reason
        if exc.code == 401:
            return ApiError("authentication required: set [web] tokens in the config "
                             "(or ALCO_WEB_TOKENS) or pass --token")
        if exc.code == 404 and not body.lstrip().startswith("{"):
            return NotSupported(f"{exc.url}: not found (server too old?)")
        return ApiError(f"server said {exc.code}: {str(message)[:500]}")


# -- searching ---------------------------------------------------------------------------------
def _advanced(cursor: str | None, last: str | None, ascending: bool) -> bool:
    """Whether a page's cursor moved on from the previous one (ids grow with time)."""
    if cursor is None or cursor == last:
        return False
    try:
        return last is None or (int(cursor) > int(last)) == ascending
    except ValueError:
        return True


def pages(api: Api, index: str, params: dict[str, Any], limit: int | None,
          after: str | None = None, progress: Progress | None = None) -> Iterator[dict]:
    """Matching lines oldest first (after the id ``after``), following ``next`` cursors until
    ``limit`` or the end; ``progress`` is told of every page."""
    cursor, left = after, limit
    # bounded: every request moves the cursor strictly forward (newer ids) or the loop ends,
    # and each request is bounded by the server's query and time budget
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        page = api.get(f"/api/{index}/lines",
                       {**params, "order": "asc", "limit": size, "after": cursor})
        if progress:
            progress(page)
        lines = page.get("lines", [])[:size]
        yield from lines
        if left is not None:
            left -= len(lines)
        # a partial page (the server's time budget spent) goes on from its cursor, even empty
        last, cursor = cursor, page.get("next")
        if not _advanced(cursor, last, True) or not (lines or page.get("partial")):
            return


def _counted(api: Api, index: str, params: dict[str, Any], limit: int | None) -> int | None:
    """The count of ``/count`` when it is exact (or reaches ``limit``), else None: the endpoint
    is missing, or it stopped at its cap or the time budget."""
    cap = COUNT_CAP if limit is None else min(limit, COUNT_CAP)
    got = api.get(f"/api/{index}/count", {**params, "cap": cap})
    n = int(got["count"])
    if got.get("partial"):
        return None
    if not got.get("capped"):  # exact (an index-only query is counted whole, past ``cap``)
        return n if limit is None else min(n, limit)
    return min(n, limit) if limit is not None and limit <= COUNT_CAP else None


def _histogram_total(api: Api, index: str, params: dict[str, Any]) -> int | None:
    try:
        return int(api.get(f"/api/{index}/histogram", {**params, "buckets": 1})["total"])
    except (ApiError, KeyError, TypeError, ValueError):
        return None


def count(api: Api, index: str, params: dict[str, Any], limit: int | None,
          progress: Progress | None = None) -> int:
    """Matches, exactly (at most ``limit``): ``/count`` where it answers exactly; on an older
    server without it, the histogram's total (without ``limit``); else counted page by page
    (a capped or partial count, a range the server refuses to count, e.g. ``--until`` before
    the retention window)."""
    try:
        n = _counted(api, index, params, limit)
    except NotSupported:
        n = _histogram_total(api, index, params) if limit is None else None
    except (ApiError, KeyError, TypeError, ValueError):
        n = None
    if n is not None:
        return n
    return sum(1 for _ in pages(api, index, params, limit, progress=progress))


def context_of(api: Api, index: str, line: dict, before: int, after: int,
               same: str | None = None) -> list[dict]:
    """The line with ``before``/``after`` lines around it (only lines whose ``same`` fields
    equal the line's, if given), oldest first."""
    try:
        got = api.get(f"/api/{index}/context/{line['id']}",
                      {"before": before, "after": after, "same": same})
    except NotSupported:  # no context endpoint: two reads of the neighbours instead
        older = api.get(f"/api/{index}/lines", {"before": line["id"], "limit": before,
                                                "order": "desc"})["lines"] if before else []
        newer = api.get(f"/api/{index}/lines", {"after": line["id"], "limit": after,
                                                "order": "asc"})["lines"] if after else []
        return [*reversed(older), line, *newer]
    if "lines" in got:
        return got["lines"]
    return [*got.get("before", []), line, *got.get("after", [])]


def follow(api: Api, index: str, params: dict[str, Any], cursor: str | None,
           emit: Callable[[dict], bool], warn: Callable[[str], None] | None = None) -> None:
    """New matching lines as they arrive, until ``emit`` returns False: server-sent events of
    ``/tail``, or polling ``/lines`` every second where the server has no such endpoint.
    ``warn(message)`` gets the errors the server reports in the stream (default: to stderr)."""
    warn = warn or _warn
    try:
        stream = api.open(f"/api/{index}/tail", {**params, "after": cursor}, timeout=60)
    except NotSupported:
        stream = None
    if stream is not None:
        try:
            with stream:
                for event, data in parse_sse(iter(stream.readline, b"")):
                    if event == "line" and not emit(json.loads(data)):
                        return
                    if event == "error":
                        warn(str(json.loads(data).get("error")))
                    if event == "skipped":
                        warn(f"{json.loads(data).get('count')} lines skipped (more than the "
                             "live tail sends a second)")
        except (OSError, ValueError) as exc:
            raise ApiError(f"the live tail stopped: {exc}") from None
        raise ApiError("the server closed the live tail")
    if cursor is None:
        params = {**params, "from": datetime.now(UTC).isoformat()}
    while True:
        for line in pages(api, index, params, None, cursor):
            cursor = line["id"]
            if not emit(line):
                return
        time.sleep(1.0)


def newest(api: Api, index: str, params: dict[str, Any], n: int,
           progress: Progress | None = None) -> list[dict]:
    """The newest ``n`` matching lines, oldest first; a partial page (the server's time budget
    spent, e.g. a pattern without a literal) goes on from its ``next`` cursor, further back."""
    got: list[dict] = []
    cursor: str | None = None
    # bounded: every request moves the cursor strictly back (older ids) or the loop ends
    while len(got) < n:
        page = api.get(f"/api/{index}/lines",
                       {**params, "order": "desc", "limit": n - len(got), "before": cursor})
        if progress:
            progress(page)
        got += page.get("lines", [])
        last, cursor = cursor, page.get("next")
        if not page.get("partial") or not _advanced(cursor, last, False):
            break
    return list(reversed(got[:n]))


def indexes(api: Api) -> list[dict]:
    """The server's indexes: ``{"name", "last_5m", ...}`` rows."""
    return api.get("/api/indexes").get("indexes", [])


def _warn(message: str) -> None:
    print(f"alco grep: {message}", file=sys.stderr)
