"""Two ALCO installs on one Redis prefix are told so (real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from alco.catalog.installs import FORGET_S, identity, others_on_prefix
from alco.cli.check import _redis
from alco.config import parse
from tests.conftest import REDIS_URL
from tests.helpers import delete_keys

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"TEST{uuid.uuid4().hex[:10]}"
    yield name
    delete_keys(REDIS_URL, name)


def test_each_install_hears_of_the_others_and_stale_ones_are_forgotten(prefix: str) -> None:
    assert others_on_prefix(REDIS_URL, prefix, "a:/srv/alco", now=1000) == []
    assert others_on_prefix(REDIS_URL, prefix, "a:/srv/alco", now=2000) == []  # itself again
    assert others_on_prefix(REDIS_URL, prefix, "b:/srv/alco", now=3000) == ["a:/srv/alco"]
    assert others_on_prefix(REDIS_URL, prefix, "c:/x", register=False, now=4000) == [
        "a:/srv/alco", "b:/srv/alco"]
    assert others_on_prefix(REDIS_URL, prefix, "b:/srv/alco", now=2000 + FORGET_S + 1) == []
    assert others_on_prefix(REDIS_URL, prefix, "a:/srv/alco", now=2000 + FORGET_S + 2) == [
        "b:/srv/alco"]


def test_alco_check_says_the_prefix_is_shared(prefix: str, tmp_path) -> None:
    config = parse({"redis": {"url": REDIS_URL, "prefix": prefix},
                    "sphinx": {"data_dir": str(tmp_path / "sphinx")}}, "<test>", env={})
    assert _redis(config) == f"answers at {REDIS_URL}"
    others_on_prefix(REDIS_URL, prefix, "elsewhere:/srv/alco")
    said = _redis(config)
    assert f"but Redis prefix {prefix!r} is used by another ALCO too (elsewhere:/srv/alco)" \
        in said and "give each its own [redis] prefix" in said
    assert others_on_prefix(REDIS_URL, prefix, "x", register=False) == [
        "elsewhere:/srv/alco"]  # alco check registered nothing
    assert identity(str(tmp_path / "sphinx")).endswith(f":{tmp_path / 'sphinx'}")
