"""The generated searchd config: days of the window, schema, listeners, distributed indexes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alco.config import parse
from alco.index import sphinxconf

D = date(2026, 11, 24)


def config(index_extra: dict | None = None, **sphinx: object):
    return parse({"sphinx": {"data_dir": "/data/sx", **sphinx}, "index": [
        {"name": "logs", "retention_days": 2,
         "columns": {"host": "filtered", "request_id": "indexed"}, **(index_extra or {})},
        {"name": "audit", "retention_days": 1}]}, "test.toml", env={})


def test_days_of_the_window_plus_tomorrow_and_the_day_after_served():
    """(the day after tomorrow: the next day's tomorrow is served as midnight passes, before
    the config is rotated)"""
    assert sphinxconf.index_names(config(), D) == [
        "logs_20261123", "logs_20261124", "logs_20261125", "logs_20261126",
        "audit_20261124", "audit_20261125", "audit_20261126"]
    for ix in config().indexes:
        after_midnight = sphinxconf.retention_days(ix, D + timedelta(days=1))
        assert set(after_midnight) <= set(sphinxconf.served_days(ix, D))


def test_rt_index_schema_and_flat_file_layout():
    text = sphinxconf.render(config(), D)
    assert "index logs_20261124\n{\n    type = rt\n    path = /data/sx/logs_20261124\n" in text
    section = text.split("index logs_20261124")[1].split("}")[0]
    for line in ("rt_field = logline", "rt_field = tags", "rt_field = f_request_id",
                 "rt_attr_uint = v_host", "rt_attr_uint = fp"):
        assert line in section
    # the line store keeps the text, the fields, the times and the marks
    for line in ("rt_attr_string = logline", "rt_attr_json = js", "rt_attr_json = meta",
                 "rt_attr_bigint = ts"):
        assert line not in section
    assert "binlog_path = /data/sx\n" in text
    assert "index logs_20261122" not in text and "index audit_20261123" not in text


def test_text_in_searchd_without_the_line_store_and_on_a_shard():
    for cfg in (config(index_extra={"line_store": False}), config(api_port=9312)):
        section = sphinxconf.render(cfg, D).split("index logs_20261124")[1].split("}")[0]
        for line in ("rt_attr_string = logline", "rt_attr_json = js", "rt_attr_json = meta",
                     "rt_attr_bigint = ts", "rt_attr_bigint = fp"):
            assert line in section


def test_listeners():
    text = sphinxconf.render(config(port=9400), D)
    assert "listen = 127.0.0.1:9400:mysql41" in text
    assert "listen = 127.0.0.1:9312\n" not in text
    shard = sphinxconf.render(config(port=9400, api_port=9312), D)
    assert "listen = 127.0.0.1:9312\n" in shard


def test_distributed_head():
    text = sphinxconf.render(config(agents=["10.0.0.1:9312", "shard2:9312"]), D)
    section = text.split("index logs_20261124\n")[1].split("}")[0]
    assert "type = distributed" in section
    assert "agent = 10.0.0.1:9312:logs_20261124" in section
    assert "agent = shard2:9312:logs_20261124" in section
    assert "type = rt" not in text
    assert "agent_connect_timeout = 1000\n" in section  # 1 s and 30 s unless configured
    assert "agent_query_timeout = 30000\n" in section


def test_agent_timeouts_are_settable():
    text = sphinxconf.render(config(agents=["shard1:9312"], agent_connect_timeout=0.25,
                                    agent_query_timeout=120), D)
    section = text.split("index logs_20261124\n")[1].split("}")[0]
    assert "agent_connect_timeout = 250\n" in section
    assert "agent_query_timeout = 120000\n" in section


@pytest.mark.parametrize("agent", ["nohost", "a b:1", "host:port", "h:1\nindex x"])
def test_bad_agents_are_refused(agent):
    with pytest.raises(ValueError, match="agents"):
        sphinxconf.render(config(agents=[agent]), D)


def test_ondisk_attrs_by_default_and_switchable():
    section = sphinxconf.render(config(), D).split("index logs_20261124")[1].split("}")[0]
    assert "ondisk_attrs = 1" in section
    off = parse({"index": [{"name": "logs", "ondisk_attrs": False}]}, "test.toml", env={})
    assert "ondisk_attrs" not in sphinxconf.render(off, D)


def test_a_day_of_more_id_buckets_says_so_in_its_schema():
    """(an empty ``idbits<N>`` field: its DESCRIBE tells the writer and the reader)"""
    from alco.index.schema import DayLayout

    text = sphinxconf.render(config(), D, {"logs_20261125": 20})
    made = {name: text.split(f"index {name}\n")[1].split("}")[0]
            for name in ("logs_20261124", "logs_20261125")}
    assert "rt_field = idbits" not in made["logs_20261124"]  # (65,536: as days made before)
    assert "    rt_field = idbits20\n" in made["logs_20261125"]
    fields = {(line.split("= ")[1], "field") for line in made["logs_20261125"].splitlines()
              if "rt_field" in line}
    assert DayLayout.of(fields | {("fp", "uint")}).bucket_bits == 20
    assert DayLayout.of({("logline", "field"), ("fp", "uint")}).bucket_bits == 16
    # a day whose text stays in searchd has no buckets
    kept = sphinxconf.render(config(index_extra={"line_store": False}), D,
                             {"logs_20261125": 20})
    assert "idbits" not in kept


def test_a_day_made_without_some_value_hashes_says_which():
    """(a ``filtered`` column no line had when the day was made: no ``v_<column>``, an empty
    ``nv_<column>`` field instead, so that reads know its tag tokens are there all the same)"""
    cfg = config(index_extra={"columns": {"host": "filtered", "level": "filtered",
                                          "logger.name": "filtered"}})
    text = sphinxconf.render(cfg, D, None, {"logs_20261125": ("host",)})
    made = {name: text.split(f"index {name}\n")[1].split("}")[0]
            for name in ("logs_20261124", "logs_20261125")}
    for line in ("rt_attr_uint = v_host", "rt_attr_uint = v_level",
                 "rt_attr_uint = v_logger_name"):
        assert line in made["logs_20261124"]  # (a day not named: every hash, as before)
    assert "nv_" not in made["logs_20261124"]
    assert "rt_attr_uint = v_host" in made["logs_20261125"]
    for line in ("rt_field = nv_level", "rt_field = nv_logger_name"):
        assert line in made["logs_20261125"]
    assert "rt_attr_uint = v_level" not in made["logs_20261125"]
