"""The SphinxQL client against a real searchd: a kept connection survives a searchd restart."""

from __future__ import annotations

import pytest

from alco.index.sphinxql import Sphinx, SphinxError

pytestmark = pytest.mark.integration


def test_the_first_read_after_a_searchd_restart_answers(stack):
    stack.index()
    stack.start_searchd()
    config = stack.config()
    sx = Sphinx(config.sphinx.host, config.sphinx.port)
    try:
        before = sx.query("SHOW TABLES")
        stack.searchd.stop()
        stack.searchd.start()
        assert sx.query("SHOW TABLES") == before  # the old connection was replaced, once
        stack.searchd.stop()
        with pytest.raises(SphinxError) as down:  # down for good: the error, not a hang
            sx.query("SHOW TABLES")
        assert down.value.transient
    finally:
        sx.close()
