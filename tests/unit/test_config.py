"""Configuration: defaults, TOML, environment overrides, errors naming file and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alco.config import ConfigError, load, parse


def test_defaults_give_one_index_bound_to_logstash():
    config = parse({}, "<defaults>", env={})
    (ix,) = config.indexes
    assert ix.name == "logs"
    assert ix.routing_keys == ("logstash", "logstash.#", "")
    assert ix.queue_name == "alco.logs"
    assert config.rabbitmq.exchange == "logstash"
    assert config.web.bind == "127.0.0.1:8000"
    assert "levelname" in ix.columns_with("filtered")


def test_toml_file_and_environment_override(tmp_path: Path):
    path = tmp_path / "alco.toml"
    path.write_text(
        '[sphinx]\nport = 9400\n[web]\ntokens = ["t1"]\n'
        '[[index]]\nname = "shop"\nwriters = 2\n'
        'columns = { host = "filtered", request_id = "indexed", password = "excluded" }\n'
    )
    config = load(path, env={"ALCO_SPHINX_PORT": "9500", "ALCO_WEB_TOKENS": "a, b"})
    assert config.sphinx.port == 9500
    assert config.web.tokens == ("a", "b")
    ix = config.index("shop")
    assert ix.writers == 2
    assert ix.columns_with("indexed") == ("request_id",)
    assert ix.columns_with("excluded") == ("password",)
    assert config.source == str(path)


@pytest.mark.parametrize(("toml", "needle"), [
    ("[sphinx]\nprot = 1\n", "sphinx.prot"),
    ("[sphinx]\nport = \"x\"\n", "sphinx.port"),
    ("[sphinx]\ndense_ids_from = \"2026-13-01\"\n", "sphinx.dense_ids_from"),
    ("[sphinx]\nslot_bits = [\"2026-12-08\"]\n", "sphinx.slot_bits"),
    ("[sphinx]\nslot_bits = [\"2026-12-08:7\"]\n", "sphinx.slot_bits"),
    ("[sphinx]\nslot_bits = [\"2026-12-32:2\"]\n", "sphinx.slot_bits"),
    ("[sphinx]\nslot_bits = [\"2026-12-09:2\", \"2026-12-08:4\"]\n", "in order"),
    ("[sphinx]\nslot_bits = [\"2026-12-01:2\"]\n", "sphinx.dense_ids_from"),
    ("[[index]]\nname = \"a\"\nwriters = 5\n", "writer slots 0..4"),
    ("[collector]\nfirst_slot = 3\n[[index]]\nname = \"a\"\nwriters = 2\n", ":3\" to sphinx"),
    ("[[index]]\nname = \"Bad Name\"\n", "index[0].name"),
    ("[[index]]\nname = \"a\"\ncolumns = { host = \"shiny\" }\n", "index[0].columns.host"),
    ("[[index]]\nname = \"a\"\nwriters = 0\n", "index[0].writers"),
    ("[nonsense]\nx = 1\n", "nonsense"),
    ("[[index]]\nname = \"a\"\n[[index]]\nname = \"a\"\n", "unique"),
    ("[sphinx\n", "alco.toml"),
])
def test_errors_name_the_file_and_the_key(tmp_path: Path, toml: str, needle: str):
    path = tmp_path / "alco.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load(path, env={})
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_writer_slots_come_from_the_days_slot_bits():
    """Every writer slot of a host must be one the ids have: 2 ** bits of the last entry (a
    deployment that grows adds an entry from a later day; the days before keep theirs)."""
    grown = parse({"sphinx": {"dense_ids_from": "2026-10-01",
                              "slot_bits": ["2026-10-02:2", "2026-10-03:4"]},
                   "collector": {"first_slot": 8}, "index": [{"name": "a", "writers": 8}]},
                  "s", env={})
    assert grown.sphinx.slots == 16
    assert grown.sphinx.narrow_forms == [(date(2026, 10, 2), 2), (date(2026, 10, 3), 4)]
    never = parse({"sphinx": {"slot_bits": []}, "index": [{"name": "a", "writers": 64}]},
                  "s", env={})
    assert never.sphinx.slots == 64 and never.sphinx.narrow_forms == []
    assert load(None, env={"ALCO_SPHINX_SLOT_BITS": "2026-12-08:3"}).sphinx.slots == 8


def test_a_wider_entry_waits_for_the_narrower_days_to_age_out():
    """A late line goes to its own day: a writer slot the ids of a retained day do not have
    could not store it, so such writers start once those days are past the retention."""
    import dataclasses

    from alco.config import _check_slots

    cfg = parse({"sphinx": {"slot_bits": ["2026-12-08:2", "2027-01-10:4"]},
                 "index": [{"name": "a", "writers": 2, "retention_days": 7}]}, "s", env={})
    grown = dataclasses.replace(cfg, indexes=(dataclasses.replace(cfg.indexes[0], writers=8),))
    with pytest.raises(ConfigError, match="start them from 2027-01-17 on"):
        _check_slots(grown, date(2027, 1, 12))
    _check_slots(grown, date(2027, 1, 17))  # (the 2-bit days aged out)
    with pytest.raises(ConfigError, match="add .*:3.* to sphinx.slot_bits"):
        _check_slots(dataclasses.replace(grown, sphinx=dataclasses.replace(
            grown.sphinx, slot_bits=("2026-12-08:2",))), date(2027, 1, 17))


def test_bad_environment_value_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="sphinx.port"):
        load(None, env={"ALCO_SPHINX_PORT": "many"})


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", env={})


def test_an_environment_override_is_named_by_its_variable(tmp_path: Path):
    """A typo in a variable's name or value names the variable, not ``<defaults>: web.bnid``."""
    with pytest.raises(ConfigError) as err:
        load(None, env={"ALCO_WEB_BNID": "0.0.0.0:8000"})
    assert str(err.value).startswith("environment variable ALCO_WEB_BNID: [web] has no key "
                                     "'bnid' (known: ")
    assert "bind" in str(err.value)
    with pytest.raises(ConfigError, match="^environment variable ALCO_SPHINX_PORT "
                                          r"\(sphinx.port\)"):
        load(None, env={"ALCO_SPHINX_PORT": "many"})
