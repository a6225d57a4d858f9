"""Index lifecycle against a real searchd, with the clock moved by passing ``today``."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import redis

from alco.catalog import values as values_mod
from alco.catalog.reader import ValuesReader
from alco.cli.run import rotate
from alco.config import IndexConfig
from alco.index import retention
from alco.index.daystore import DayStore
from alco.index.schema import IndexSchema
from alco.index.sphinxql import Sphinx
from alco.linestore.writing import keeper_for
from alco.search.reader import LineQuery, Searcher
from tests.conftest import ENV_PASSTHROUGH, REDIS_URL
from tests.helpers import all_lines, wait_for
from tests.integration.test_search_api import fill, record

pytestmark = pytest.mark.integration
D = date(2026, 3, 10)


def us(day: date, hour: int = 12) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp()) * 1_000_000


def tables(config) -> set[str]:
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        return set(sx.indexes())
    except Exception:
        return set()
    finally:
        sx.close()


def messages(config, today: date, q: str = "") -> list[str]:
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        page = Searcher(config, sx, today).lines(config.index("logs"),
                                                 LineQuery(q=q, order="asc", limit=1000))
        return [ln.message for ln in page.lines]
    finally:
        sx.close()


@pytest.fixture
def lifecycle(stack):
    stack.index(retention_days=2, columns={"host": "filtered"})
    config = stack.config()
    from alco.index.searchd import ManagedSearchd

    stack.searchd = ManagedSearchd(config)
    stack.searchd.start(today=D)
    return stack, config, stack.searchd


def test_rotation_adds_tomorrow_drops_expired_day_and_keeps_data(lifecycle):
    stack, config, searchd = lifecycle
    # (the day after tomorrow is served too: sphinxconf.served_days)
    assert tables(config) == {"logs_20260309", "logs_20260310", "logs_20260311",
                              "logs_20260312"}
    fill(config, [record(us(D - timedelta(days=1)), "old day", host="old"),
                  record(us(D), "this day", host="now")], today=D)
    assert messages(config, D) == ["old day", "this day"]
    # midnight has passed and the config is not rotated yet (up to a minute): reads and
    # writes of the new day find every index they use
    assert messages(config, D + timedelta(days=1)) == ["this day"]
    fill(config, [record(us(D + timedelta(days=2), 1), "the new tomorrow")],
         today=D + timedelta(days=1))
    assert messages(config, D + timedelta(days=1)) == ["this day", "the new tomorrow"]
    pid = searchd.proc.pid
    assert searchd.reload(D + timedelta(days=1)) is True
    assert searchd.proc.pid == pid  # SIGHUP was enough: no restart, no pause
    assert tables(config) == {"logs_20260310", "logs_20260311", "logs_20260312",
                              "logs_20260313"}

    def day_files() -> set[str]:
        return {p.name.split(".")[0] for p in searchd.data_dir.iterdir()}

    assert "logs_20260309" not in day_files() and "logs_20260310" in day_files()
    assert messages(config, D + timedelta(days=1)) == ["this day", "the new tomorrow"]
    assert searchd.reload(D + timedelta(days=1)) is False  # nothing changed: nothing done
    fill(config, [record(us(D + timedelta(days=2)), "tomorrow")], today=D + timedelta(days=1))
    after = ["this day", "the new tomorrow", "tomorrow"]
    assert messages(config, D + timedelta(days=1)) == after
    searchd.stop()  # a restart replays the binlog, which still names the dropped day
    searchd.start(today=D + timedelta(days=1))
    assert messages(config, D + timedelta(days=1)) == after
    assert "logs_20260309" not in day_files()


def test_sighup_loads_added_indexes_without_restart(lifecycle):
    stack, config, searchd = lifecycle
    pid = searchd.proc.pid
    extra = IndexConfig(name="audit", queue="q.audit", retention_days=1)
    searchd.config = dataclasses.replace(config, indexes=(*config.indexes, extra))
    assert searchd.reload(D) is True
    wait_for(lambda: {"audit_20260310", "audit_20260311"} <= tables(config),
             timeout=20, message="audit indexes loaded after SIGHUP")
    assert searchd.proc.pid == pid
    fill(searchd.config, [record(us(D), "audited")], index="audit", today=D)
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    assert sx.query("SELECT id FROM audit_20260310 WHERE MATCH('audited')")  # searchable
    sx.close()
    assert [ln["message"] for ln in all_lines(searchd.config, "audit", today=D)] == ["audited"]


def test_store_counts_expired_and_moves_future_records_to_today(lifecycle):
    stack, config, searchd = lifecycle
    ix = config.index("logs")
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    result = DayStore(sx, IndexSchema.of(ix), 0, ix.retention_days,
                      lines=keeper_for(config, ix)).store(
        [record(us(D - timedelta(days=5)), "too old"),
         record(us(D + timedelta(days=9)), "from the future"),
         record(us(D), "on time")], D, False)
    sx.close()
    assert (result.stored, result.expired, result.future) == (2, 1, 1)
    assert messages(config, D) == ["on time", "from the future"]
    assert messages(config, D, q="future") == ["from the future"]


def test_values_are_trimmed_to_the_window(lifecycle):
    stack, config, searchd = lifecycle
    fill(config, [record(us(D - timedelta(days=1)), "a", host="old"),
                  record(us(D), "b", host="new")], today=D)
    reader = ValuesReader(REDIS_URL, config.redis.prefix)
    assert {v for v, _ in reader.values("logs", "host")} == {"old", "new"}
    assert rotate(config, None, D + timedelta(days=1), None) == D + timedelta(days=1)
    assert {v for v, _ in reader.values("logs", "host")} == {"new"}
    assert reader.columns("logs")  # the seen columns stay


def test_expired_files_of_a_stopped_searchd_are_removed(stack, tmp_path):
    stack.index(retention_days=3)
    config = stack.config()
    data = tmp_path / "sphinx"
    data.mkdir()
    for name in ("logs_20260301.meta", "logs_20260301.0.spa", "logs_20260308.ram",
                 "logs_20260309.meta", "other_20260101.meta", "logs_notaday.meta",
                 "binlog.001"):
        (data / name).write_text("x")
    (data / "logs_20260302").mkdir()  # an older layout: one directory per day
    assert retention.remove_expired(config, D) == [
        "logs_20260301.0.spa", "logs_20260301.meta", "logs_20260302"]
    assert sorted(p.name for p in data.iterdir()) == [
        "binlog.001", "logs_20260308.ram", "logs_20260309.meta", "logs_notaday.meta",
        "other_20260101.meta"]


def test_redis_down_does_not_break_trimming(stack):
    stack.index()
    stack.data["redis"]["url"] = "redis://127.0.0.1:1/0"
    assert values_mod.trim_values(stack.config(), D) is False
    redis.Redis.from_url(REDIS_URL).ping()


def test_sphinx_conf_output_runs_an_external_searchd(stack, tmp_path):
    stack.index(retention_days=1)
    stack.data["sphinx"]["managed"] = False
    config = stack.config()
    conf = tmp_path / "external.conf"

    def generate(day: date) -> None:
        out = subprocess.run([sys.executable, "-m", "alco", "--config", str(stack.config_path),
                              "sphinx-conf", "--date", day.isoformat()],
                             capture_output=True, check=True, env=ENV_PASSTHROUGH)
        conf.write_bytes(out.stdout)

    generate(D)
    (tmp_path / "sphinx").mkdir()  # the only thing to prepare: the data directory
    proc = subprocess.Popen(["searchd", "--config", str(conf), "--nodetach"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: tables(config) == {"logs_20260310", "logs_20260311",
                                            "logs_20260312"},
                 message="external searchd serving the generated indexes")
        fill(config, [record(us(D), "external")], today=D)
        assert messages(config, D) == ["external"]
        generate(D + timedelta(days=1))
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "logs_20260313" in tables(config),
                 message="the new day after tomorrow after SIGHUP")
        wait_for(lambda: "logs_20260310" not in tables(config), message="expired day dropped")
        assert messages(config, D + timedelta(days=1)) == []
    finally:
        proc.terminate()
        proc.wait(30)


def test_searchd_that_does_not_follow_is_restarted(lifecycle):
    stack, config, searchd = lifecycle
    fill(config, [record(us(D), "kept")], today=D)
    pid = searchd.proc.pid
    assert searchd.reload(D + timedelta(days=1), timeout=0) is True
    assert searchd.proc.pid != pid
    assert tables(config) == {"logs_20260310", "logs_20260311", "logs_20260312",
                              "logs_20260313"}
    assert messages(config, D + timedelta(days=1)) == ["kept"]
