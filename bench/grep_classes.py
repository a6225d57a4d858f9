"""Substrings and regexes (``'text'``, ``/regex/``) through ALCO's API against rg on the
flat file: the first page (the newest 100 hits, following partial cursors), the same answers
checked, and the scanning rate of a pattern without a literal over one hour of lines.

Used by ``bench/search.py --grep``.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from typing import Any

import httpx
import orjson
from common import percentile, progress

FIRST_PAGE = 100
MAX_REQUESTS = 200  # a first page follows at most this many partial cursors


def classes() -> list[dict]:
    """(ALCO query, the rg arguments giving the same answer on the flat file's JSON lines)."""
    return [
        # (the generator's numbers: a template's variable ends in the digits that picked it)
        {"name": "rare substring 'customer_id = 4277'", "q": "'customer_id = 4277'",
         "rg": ["-F", "customer_id = 4277"]},
        {"name": "rare substring, word piece 'ayment 4250'", "q": "'ayment 4250'",
         "rg": ["-F", "ayment 4250"]},
        {"name": r"rare regex /stripe code=1\d97/", "q": r"/stripe code=1\d97/",
         "rg": ["-e", r"stripe code=1\d97"]},
        {"name": "common regex /card_expired|Unhandled/", "q": "/card_expired|Unhandled/",
         "rg": ["-e", "card_expired|Unhandled"]},
        {"name": "ignore case 'CONNECTION RESET'i", "q": "'CONNECTION RESET'i",
         "rg": ["-i", "-F", "CONNECTION RESET"]},
        {"name": "whole word 'orders'w", "q": "'orders'w", "rg": ["-w", "-F", "orders"]},
        {"name": r"no literal /\d{3}ms$/, one hour", "q": r"/ \d{3}ms$/", "hour": True,
         # the message is followed by its "host" key in the flat file's JSON
         "rg": ["-e", r' \d{3}ms","host"']},
    ]


def first_page(client: httpx.Client, base: str, params: dict[str, str]) -> tuple[list[dict],
                                                                                    int]:
    """The newest FIRST_PAGE hits, following ``next`` through partial pages; requests made."""
    lines: list[dict] = []
    cursor = None
    for n in range(1, MAX_REQUESTS + 1):
        p = {**params, "limit": str(FIRST_PAGE - len(lines)), "order": "desc"}
        if cursor:
            p["before"] = cursor
        resp = client.get(base + "/lines", params=p)
        if resp.status_code != 200:
            raise RuntimeError(f"/lines {p}: {resp.status_code} {resp.text[:200]}")
        page = resp.json()
        lines += page["lines"]
        cursor = page["next"]
        if len(lines) >= FIRST_PAGE or cursor is None:
            return lines, n
    raise RuntimeError(f"first page of {params} not done in {MAX_REQUESTS} requests")


def scan_all(client: httpx.Client, base: str, params: dict[str, str]) -> tuple[int, int]:
    """Every hit of the range, 1000 a page: (hits, requests)."""
    hits, cursor = 0, None
    for n in range(1, 100_000):
        p = {**params, "limit": "1000", "order": "desc"}
        if cursor:
            p["before"] = cursor
        page = client.get(base + "/lines", params=p).json()
        hits += len(page["lines"])
        cursor = page["next"]
        if cursor is None:
            return hits, n
    raise RuntimeError("scan did not end")


def rg_newest(args: list[str], flat: str) -> list[int]:
    """``seq`` of the newest FIRST_PAGE matches, as ``tac FILE | rg -m 100`` finds them."""
    cmd = f"tac {flat} | rg -m {FIRST_PAGE} {' '.join(map(shlex.quote, args))}"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True).stdout
    return [orjson.loads(line)["seq"] for line in out.splitlines() if line]


def run_grep(b: Any, repeats: int) -> tuple[list[list], list[list]]:
    """Rows of the first-page table and of the scanning-rate table."""
    rows, scans = [], []
    flat = str(b.flat)
    hour_lo_us = b.span_us[1] - 2 * 3_600_000_000
    hour_hi_us = hour_lo_us + 3_600_000_000
    k1 = max(0, (hour_lo_us - b.first_us + b.step_us - 1) // b.step_us)
    k2 = min(b.n - 1, (hour_hi_us - b.first_us) // b.step_us)
    hour_file = b.stack.tmp / "hour.ndjson"
    subprocess.run(["bash", "-c", f"sed -n '{k1 + 1},{k2 + 1}p' {flat} > {hour_file}"],
                   check=True)
    with httpx.Client(timeout=120) as client:
        for gc in classes():
            progress(f"  {gc['name']}")
            params = {"q": gc["q"]}
            target = flat
            if gc.get("hour"):
                params["from"] = str(hour_lo_us / 1e6)
                params["to"] = str(hour_hi_us / 1e6)
                target = str(hour_file)
            times, requests = [], 0
            lines: list[dict] = []
            for i in range(repeats + 1):
                t = time.perf_counter()
                lines, requests = first_page(client, b.base, params)
                if i:
                    times.append(time.perf_counter() - t)
            args = " ".join(map(shlex.quote, gc["rg"]))
            rg = min(b.shell(f"tac {target} | rg -m {FIRST_PAGE} {args}"),
                     b.shell(f"rg {args} {target} | tail -n {FIRST_PAGE}"))
            same = [ln["fields"]["seq"] for ln in lines] == rg_newest(gc["rg"], target)
            count = client.get(b.base + "/count", params={**params, "cap": "100000"}).json()
            rg_hits = b.rg_count(f"rg {args} {target}")
            p50 = percentile(times, 50)
            rows.append([gc["name"], f"{p50 * 1000:.1f}", f"{max(times) * 1000:.1f}",
                         requests, f"{rg * 1000:.0f}", f"{rg / p50:.2g}x" if rg / p50 < 10
                         else f"{rg / p50:.0f}x",
                         f"{count['count']:,}{'+' if count['capped'] else ''} / {rg_hits:,}",
                         "yes" if same else "**no**"])
            if gc.get("hour"):
                t = time.perf_counter()
                hits, pages = scan_all(client, b.base, params)
                alco_s = time.perf_counter() - t
                rg_s = b.shell(f"rg {args} {target}")
                lines_in_hour = k2 - k1 + 1
                scans.append([gc["name"], f"{lines_in_hour:,}", f"{hits:,}", pages,
                              f"{alco_s:.2f}", f"{lines_in_hour / alco_s:,.0f}",
                              f"{rg_s:.2f}", f"{lines_in_hour / rg_s:,.0f}"])
    return rows, scans
