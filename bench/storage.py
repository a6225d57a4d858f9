"""Where the bytes of the day indexes go, on disk and in searchd's memory (issue 18).

Used by ``bench/search.py --load-only``: the index files by type (bytes per line each), the
disk chunks per day, searchd's memory from /proc/<pid>/status (anonymous, shared, file-backed)
after a restart and after a scan, and the first page of a word and an old time-window page with
the page cache dropped (cold, as root) and again warm.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# what each file of a Sphinx 2.2 RT index holds
FILE_TYPES = {
    "spd": "doclists (.spd)",
    "spp": "hitlists, word positions (.spp)",
    # (days made for the line store: id, a 32-bit fp, the value hashes; days made before
    # also ts, a 64-bit fp and their strings' and JSON's offsets)
    "spa": "attributes: id, fp, value hashes (.spa)",
    "sps": "strings and JSON (.sps; days made before the store: line text, fields)",
    "spi": "dictionary (.spi)",
    "spk": "kill list (.spk)",
    "spm": "multi-value attributes (.spm)",
    "sph": "chunk header (.sph)",
    "ram": "RAM chunk saved (.ram)",
    "meta": "index meta (.meta)",
    "spe": "skip lists (.spe)",
    "lines": "line store: text, fields, times, marks; zstd blocks (.lines/)",
}
CHUNK_FILE = re.compile(r"^(?P<index>[a-z][a-z0-9_]*_\d{8})(?:\.(?P<chunk>\d+))?\.(?P<ext>\w+)$")
STATUS_KEYS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def index_files(data_dir: Path, prefix: str,
                store: bool = False) -> tuple[Counter[str], dict[str, int]]:
    """Bytes by file type of the day indexes ``<prefix>_*`` (with ``store``, their line store's
    day files too, as ``lines``), and disk chunks per day index."""
    sizes: Counter[str] = Counter()
    chunks: dict[str, set[str]] = {}
    if store:
        sizes["lines"] = sum(p.stat().st_size for p in data_dir.glob(f"{prefix}_*.lines/*")
                             if p.is_file())
    for path in sorted(data_dir.iterdir()):
        match = CHUNK_FILE.match(path.name)
        if not match or not match["index"].startswith(prefix + "_") or not path.is_file():
            continue
        sizes[match["ext"]] += path.stat().st_size
        if match["chunk"] is not None:
            chunks.setdefault(match["index"], set()).add(match["chunk"])
    return sizes, {ix: len(c) for ix, c in sorted(chunks.items())}


def disk_rows(sizes: Counter[str], n: int, like: Counter[str] | None = None) -> list[list]:
    """Rows by file type, biggest first (in the order of ``like`` when given)."""
    total = sum(sizes.values())
    order = [ext for ext, _ in (like or sizes).most_common()]
    order += [ext for ext in sizes if ext not in order]
    rows = []
    for ext in order:
        size = sizes.get(ext, 0)
        rows.append([FILE_TYPES.get(ext, f".{ext}"), f"{size / 2**20:,.1f}", f"{size / n:.1f}",
                     f"{100 * size / max(total, 1):.0f} %"])
    rows.append(["**all**", f"{total / 2**20:,.1f}", f"**{total / n:.1f}**", "100 %"])
    return rows


def memory(pid: int) -> dict[str, int]:
    """searchd's memory from /proc/<pid>/status, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_KEYS:
            out[key] = int(value.split()[0]) * 1024
    return out


def memory_row(label: str, mem: dict[str, int], n: int) -> list:
    locked = mem.get("RssAnon", 0) + mem.get("RssShmem", 0)
    return [label, *(f"{mem.get(k, 0) / 2**20:,.0f}" for k in STATUS_KEYS),
            f"**{locked / n:.1f}**", f"{mem.get('RssFile', 0) / n:.1f}", load()]


MEMORY_HEADERS = ["when", "VmRSS MiB", "RssAnon MiB", "RssFile MiB", "RssShmem MiB",
                  "unreclaimable (Anon+Shmem) B/line", "file cache B/line", "load 1/5/15"]


def drop_caches() -> bool:
    """``sync; echo 3 > /proc/sys/vm/drop_caches`` (root only); False when not allowed."""
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=False)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    return True


def timed(get: Callable[[], httpx.Response]) -> float:
    t = time.perf_counter()
    resp = get()
    elapsed = time.perf_counter() - t
    if resp.status_code != 200:
        raise RuntimeError(f"{resp.request.url}: {resp.status_code} {resp.text[:200]}")
    return elapsed


def read_latency(base: str, requests: list[tuple[str, str, dict]], warm_repeats: int = 10,
                 ) -> list[list]:
    """Per request: cold (page cache dropped just before it) and warm (median) ms."""
    rows = []
    with httpx.Client(timeout=120) as client:
        for label, path, params in requests:
            cold = None
            if drop_caches():
                cold = timed(lambda p=path, q=params: client.get(base + p, params=q))
            warm = sorted(timed(lambda p=path, q=params: client.get(base + p, params=q))
                          for _ in range(warm_repeats))
            rows.append([label, "n/a (not root)" if cold is None else f"{cold * 1000:.0f}",
                         f"{warm[len(warm) // 2] * 1000:.1f}", load()])
    return rows


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def compaction_run(sphinx: Any, pid: int, data_dir: Path, indexes: list[str],
                   probe: Callable[[], float], timeout: float = 3600) -> list[list]:
    """FLUSH RAMCHUNK + OPTIMIZE INDEX of each index, waited for: seconds, searchd's CPU
    seconds, the data dir's size before / at its peak / after, and the latency of a read
    (``probe``, ms) while the merge runs."""
    from alco.index import compaction

    rows = []
    for index in indexes:
        before = compaction.day_state(sphinx, index)
        disk0, cpu0, t0 = dir_bytes(data_dir), cpu_seconds(pid), time.monotonic()
        compaction.start(sphinx, before)
        peak, probes, after = disk0, [], compaction.day_state(sphinx, index)
        for _ in range(int(timeout)):
            if after.disk_chunks <= 1:
                break
            probes.append(probe() * 1000)
            peak = max(peak, dir_bytes(data_dir))
            time.sleep(1)
            after = compaction.day_state(sphinx, index)
        seconds, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        probes.sort()
        rows.append([index, f"{before.disk_chunks} + RAM {before.ram_chunk_bytes / 2**20:,.0f} MiB",
                     after.disk_chunks, f"{seconds:.0f}", f"{cpu:.0f}",
                     f"{disk0 / 2**20:,.0f} / {peak / 2**20:,.0f} / "
                     f"{dir_bytes(data_dir) / 2**20:,.0f}",
                     f"{probes[len(probes) // 2]:.0f} / {probes[-1]:.0f}" if probes else "-",
                     load()])
    return rows


COMPACTION_HEADERS = ["day index", "disk chunks + RAM chunk before", "disk chunks after",
                      "seconds", "searchd CPU s", "data dir MiB before / peak / after",
                      "word page ms during (p50 / max)", "load 1/5/15"]
