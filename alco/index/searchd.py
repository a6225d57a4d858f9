"""The managed searchd: a child process running on a generated config.

Sphinx 2.2.11 on SIGHUP re-reads its config: it loads added indexes at once and drops removed
ones when its accept loop next wakes up (a new connection).  ``reload`` sends SIGHUP, checks
with new connections until searchd serves exactly the configured indexes, and only then
removes the files of the expired days.  Should searchd not follow within the timeout, it is
restarted (stop flushes the RT indexes; queries get 503 and writers retry for the few seconds
of the pause; nothing is lost).

A day index searchd cannot load (a disk chunk torn by a full disk or a crash: ``FATAL: disk
chunk ...: prealloc failed``, ``... is invalid header file``) would end every start of it: its
files are moved aside (``data_dir/broken/<day>-<time>/``, logged as an ERROR with searchd's
words), and searchd is started again without them, so the other days come back and the
binlog's replay gives the day what it still holds.

searchd runs with glibc's malloc told to give back large blocks (``MALLOC_ENV``): without it,
the RAM chunks a day's flush and merge free stay in searchd's heap (measured: 325-342 MiB kept
after a day of 1M lines was compacted, ``rt_mem_limit`` 256 MiB; 264 with it, at the same
ingest rate; a threshold of 128 KiB kept 220 but stored lines 3x slower).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from alco.config import Config, IndexConfig
from alco.index import commonvalues, retention, sphinxconf, sphinxql
from alco.index.bucketsizes import BucketSizes
from alco.index.schema import Common, day_index
from alco.process.lifetime import preexec_for

log = logging.getLogger("alco.searchd")
FATAL_DAY_RE = re.compile(r"FATAL: .*?\b(?P<index>[a-z][a-z0-9_]*_\d{8})\b")
BROKEN_DIR = "broken"
# allocations from 4 MiB on are mappings of their own (returned to the system when freed,
# grown in place by mremap), and the heap's free top is trimmed from 4 MiB on; a value
# set in ALCO's own environment wins
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 20), "MALLOC_TRIM_THRESHOLD_": str(4 << 20)}


class SearchdError(RuntimeError):
    pass


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _busiest_day(conn: sphinxql.Sphinx, names: list[str]) -> tuple[str, int]:
    """The day index of ``names`` (not empty) that holds the most lines, and how many."""
    return max(((n, int(sphinxql.index_status(conn, n).get("indexed_documents") or 0))
                for n in names), key=lambda got: got[1])


def today_utc() -> date:
    return datetime.now(UTC).date()


class ManagedSearchd:
    """Writes the config, starts searchd in the foreground as a child, reloads, stops."""

    def __init__(self, config: Config,
                 seen: Callable[[str], set[str] | None] | None = None,
                 values: Callable[[str, str], list[str] | None] | None = None) -> None:
        """``seen``: the columns an index's lines have had (the catalog's; None when it
        cannot say), what a new day's value hashes follow; without it, every one.
        ``values``: the catalog's values of an index's column, what a new day's common
        values take their text from (alco.index.commonvalues); without it, none."""
        self.config = config
        self.seen = seen
        self.values = values
        self.data_dir = Path(config.sphinx.data_dir).resolve()
        self.conf_path = self.data_dir / "sphinx.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.rendered = ""
        self.sizes: BucketSizes | None = None

    def write_config(self, today: date | None = None) -> bool:
        """(Re)generate the config; True when it changed."""
        today = today or today_utc()
        sphinxconf.prepare_dirs(self.config, today)
        hashed = self._hashed(today)
        text = sphinxconf.render(self.config, today, self._bucket_bits(today), hashed,
                                 self._common(today, hashed))
        if text == self.rendered and self.conf_path.exists():
            return False
        tmp = self.conf_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.conf_path)
        self.rendered = text
        return True

    def _bucket_bits(self, today: date) -> dict[str, int]:
        """The id buckets of each day index (alco.index.bucketsizes): a new day's from the
        lines of its index's busiest day searchd holds."""
        out: dict[str, int] = {}
        for ix, days in self._store_days(today):
            out |= self._sizes().of(ix.name, days, self._made, self._busiest)
        return out

    def _hashed(self, today: date) -> dict[str, tuple[str, ...]]:
        """The ``filtered`` columns with a value hash of each day index (alco.index.
        bucketsizes): a new day's, those the index's lines have had (``seen``).  A shard's
        days keep every one (a head groups by them on every shard: none is left out there)."""
        out: dict[str, tuple[str, ...]] = {}
        if self.config.sphinx.api_port or self.seen is None:
            return out
        for ix, days in self._store_days(today):
            out |= self._sizes().hashed_of(ix.name, days, self._made,
                                           ix.columns_with("filtered"),
                                           lambda name=ix.name: self._seen(name))
        return out

    def _common(self, today: date, hashed: dict[str, tuple[str, ...]]
                ) -> dict[str, tuple[str, ...]]:
        """The fields naming each day index's common values (alco.index.commonvalues): a
        new day's from the index's busiest day searchd holds.  None on a shard (a head
        compiles one query for every shard); without the catalog, only those decided
        before."""
        out: dict[str, tuple[str, ...]] = {}
        if self.config.sphinx.api_port:
            return out
        for ix, days in self._store_days(today):
            out |= self._sizes().common_of(
                ix.name, days, self._made, hashed,
                lambda ix=ix, days=days: self._decide_common(ix, [d for d in days
                                                                  if self._made(d)]))
        return out

    def _decide_common(self, ix: IndexConfig, made: list[str]) -> list[Common] | None:
        """The common values of ``ix``'s busiest made day index, None when searchd or the
        catalog cannot say."""
        values = self.values
        if values is None or not self.alive() or not made:
            return None
        sx = self.config.sphinx
        conn = sphinxql.Sphinx(sx.host, sx.port, connect_timeout=2)
        try:
            busiest = _busiest_day(conn, made)[0]
            return commonvalues.decide(conn, busiest, ix.columns_with("filtered"),
                                       sx.common_share, lambda col: values(ix.name, col))
        except sphinxql.SPHINX_ERRORS as exc:
            log.warning("cannot count the days' values for their common values (%s)", exc)
            return None
        finally:
            conn.close()

    def _store_days(self, today: date) -> list[tuple[IndexConfig, list[str]]]:
        """Each index whose days keep their lines in the line store, with its served day
        indexes (what the decisions of alco.index.bucketsizes are about)."""
        return [(ix, [day_index(ix.name, d) for d in sphinxconf.served_days(ix, today)])
                for ix in self.config.indexes if sphinxconf.line_store(self.config, ix)]

    def _sizes(self) -> BucketSizes:
        """The day decisions kept in ``data_dir`` (read once, when first needed)."""
        if self.sizes is None:
            self.sizes = BucketSizes(self.data_dir)
        return self.sizes

    def _seen(self, index: str) -> set[str] | None:
        assert self.seen is not None
        columns = self.seen(index)
        if columns is None:
            log.warning("Redis does not answer: the new days of %s get every value hash", index)
        return columns

    def _made(self, name: str) -> bool:
        """Whether searchd has made day index ``name`` (its files exist)."""
        return next(self.data_dir.glob(f"{name}.*"), None) is not None

    def _busiest(self, names: list[str]) -> int | None:
        """The most lines one of day indexes ``names`` holds, None when searchd cannot say."""
        if not self.alive() or not names:
            return None
        sx = self.config.sphinx
        conn = sphinxql.Sphinx(sx.host, sx.port, connect_timeout=2)
        try:
            return _busiest_day(conn, names)[1]
        except sphinxql.SPHINX_ERRORS as exc:
            log.warning("cannot count the days' lines for their id buckets (%s)", exc)
            return None
        finally:
            conn.close()

    def start(self, timeout: float = 20.0, today: date | None = None) -> None:
        """Start searchd; a day index it cannot load is moved aside and it starts again."""
        moved: set[str] = set()
        while True:
            log_at = self._log_size()
            try:
                return self._start_once(timeout, today)
            except SearchdError:
                broken = self._unloadable_day(log_at, today)
                if broken is None or broken[0] in moved:
                    raise
                self._move_aside(*broken)
                moved.add(broken[0])

    def _start_once(self, timeout: float, today: date | None) -> None:
        sx = self.config.sphinx
        if port_answers(sx.host, sx.port):
            where = "the config" if self.config.source == "<defaults>" else self.config.source
            raise SearchdError(
                f"{self.listener()} already listens on {sx.host}:{sx.port}; stop it or set "
                f"[sphinx] port / managed = false in {where}"
            )
        self.write_config(today)
        self._clear_stale_pid()
        out = open(self.data_dir / "searchd.stdout", "ab")
        self.proc = subprocess.Popen(
            [sx.searchd, "--config", str(self.conf_path), "--nodetach"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=preexec_for(os.getpid()),  # no orphaned searchd if we are killed
            env={**MALLOC_ENV, **os.environ},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SearchdError(
                    f"searchd exited with {self.proc.returncode}; see "
                    f"{self.data_dir / 'searchd.log'} and {self.data_dir / 'searchd.stdout'}"
                )
            if port_answers(sx.host, sx.port):
                log.info("searchd started on %s:%s (pid %s)", sx.host, sx.port, self.proc.pid)
                return
            time.sleep(0.05)
        self.stop()
        raise SearchdError(f"searchd did not answer on {sx.host}:{sx.port} within {timeout}s")

    def listener(self) -> str:
        """Who holds the port, as far as this data_dir tells: the searchd an ALCO started
        here (its pid file), and that ALCO; else "something"."""
        try:
            pid = int((self.data_dir / "searchd.pid").read_text().split()[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError, IndexError):
            return "something"
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        try:
            command = Path(f"/proc/{parent}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return f"the searchd of {self.data_dir} (pid {pid})"
        return (f"ALCO (pid {parent}: {command.decode(errors='replace').strip()}) with its "
                f"searchd of {self.data_dir} (pid {pid})")

    def _log_size(self) -> int:
        try:
            return (self.data_dir / "searchd.log").stat().st_size
        except OSError:
            return 0

    def _unloadable_day(self, log_at: int, today: date | None) -> tuple[str, str] | None:
        """The day index (and searchd's words) of a FATAL logged since ``log_at``."""
        try:
            with open(self.data_dir / "searchd.log", "rb") as fh:
                fh.seek(log_at)
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return None
        ours = set(sphinxconf.index_names(self.config, today or today_utc()))
        for line in text.splitlines():
            match = FATAL_DAY_RE.search(line)
            if match and match["index"] in ours:
                return match["index"], line.split("] ", 2)[-1].strip()
        return None

    def _move_aside(self, index: str, fatal: str) -> None:
        """Move the files of a day index searchd cannot load out of its way (kept)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = self.data_dir / BROKEN_DIR / f"{index}-{stamp}"
        aside.mkdir(parents=True, exist_ok=True)
        files = [p for p in self.data_dir.glob(f"{index}.*") if p.is_file()]
        for path in files:
            os.replace(path, aside / path.name)
        log.error("searchd cannot load day index %s (%s): its %d files are moved to %s and "
                  "searchd starts without them; the binlog's replay restores what it holds of "
                  "the day, the rest of it is in the copy", index, fatal, len(files), aside)

    def _clear_stale_pid(self) -> None:
        pid_file = self.data_dir / "searchd.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip() or 0), 0)
            except (ValueError, ProcessLookupError, PermissionError):
                pid_file.unlink(missing_ok=True)

    def reload(self, today: date | None = None, timeout: float = 10.0) -> bool:
        """Regenerate the config and apply it (SIGHUP, or a restart when searchd does not
        follow); then remove the files of expired days.  True when the config changed."""
        today = today or today_utc()
        changed = self.write_config(today)
        if changed and self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGHUP)
            wanted = set(sphinxconf.index_names(self.config, today))
            if self._serves(wanted, timeout):
                log.info("searchd config regenerated and applied (SIGHUP)")
            else:
                log.warning("searchd did not apply its new config in %ss; restarting it", timeout)
                self.stop()
                self.start(today=today)
        retention.remove_expired(self.config, today)
        return changed

    def _serves(self, wanted: set[str], timeout: float) -> bool:
        """Wait until searchd serves exactly ``wanted``.  Each check is a new connection:
        searchd drops removed indexes when its accept loop wakes up."""
        sx = self.config.sphinx
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conn = sphinxql.Sphinx(sx.host, sx.port, connect_timeout=2)
            try:
                if set(conn.indexes()) == wanted:
                    return True
            except sphinxql.SPHINX_ERRORS:
                pass
            finally:
                conn.close()
            time.sleep(0.1)
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("searchd did not stop in %ss; killing it", timeout)
            self.proc.kill()
            self.proc.wait()
