"""The README's configuration block lists every key of alco/config.py with its default (but
the example's index columns)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from alco.config import Config, IndexConfig, parse

README = Path(__file__).parents[2] / "README.md"


def readme_block() -> dict:
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1]
    return tomllib.loads(re.search(r"```toml\n(.*?)```", section, re.S)[1])


def names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_key_is_listed():
    block = readme_block()
    defaults = Config()
    for section in ("rabbitmq", "redis", "sphinx", "web", "collector"):
        listed = set(block[section])
        assert listed == names(type(getattr(defaults, section))), section
    assert set(block["index"][0]) == names(IndexConfig)


def test_with_its_default():
    config, defaults = parse(readme_block(), "README.md", env={}), Config()
    for section in ("rabbitmq", "redis", "sphinx", "web", "collector"):
        assert getattr(config, section) == getattr(defaults, section), section
    assert dataclasses.replace(config.indexes[0], columns={}) == IndexConfig()
