"""ALCO's errors: the hierarchy, and searchd's errors translated once in alco.index.sphinxql."""

from __future__ import annotations

import MySQLdb
import pytest

from alco.errors import AlcoError, BadInput, NotFound, Unavailable
from alco.index import sphinxql
from alco.index.daystore import TransientError
from alco.search.compile import SearchError
from tests.helpers import free_port


def test_each_kind_is_an_alco_error_with_its_message_and_detail() -> None:
    bad = BadInput("unterminated quote", position=7)
    assert isinstance(bad, AlcoError) and str(bad) == "unterminated quote"
    assert bad.message == "unterminated quote" and bad.detail == {"position": 7}
    assert isinstance(NotFound("no index 'x'"), AlcoError)
    down = Unavailable("connection refused", service="redis")
    assert down.service == "redis" and down.transient and str(down) == "connection refused"
    assert not Unavailable("gone", service="searchd", transient=False).transient


def test_search_and_store_errors_are_their_kinds() -> None:
    assert issubclass(SearchError, BadInput)
    assert issubclass(sphinxql.SphinxError, Unavailable)
    assert issubclass(sphinxql.SphinxQueryError, BadInput)
    assert issubclass(TransientError, Unavailable) and TransientError("down").transient


def test_a_lost_connection_is_a_transient_unavailable_searchd() -> None:
    error = sphinxql.translate_error(
        MySQLdb.OperationalError(2013, "Lost connection to server during query"))
    assert type(error) is sphinxql.SphinxError and isinstance(error, Unavailable)
    assert error.transient and error.service == "searchd" and error.code == 2013
    assert error.message == "Lost connection to server during query"


def test_a_refused_statement_is_bad_input_that_fails_again() -> None:
    error = sphinxql.translate_error(MySQLdb.ProgrammingError(
        1064, "sphinxql: syntax error, unexpected IDENT near 'SELEC * FROM logs'"))
    assert type(error) is sphinxql.SphinxQueryError and isinstance(error, BadInput)
    assert not error.transient and error.code == 1064
    assert error.message.startswith("sphinxql: syntax error")


@pytest.mark.parametrize("message", [
    "unknown local index 'logs_20260101' in search request", "no such index 'logs_20260101'"])
def test_an_index_searchd_has_not_loaded_yet_is_transient(message: str) -> None:
    error = sphinxql.translate_error(MySQLdb.ProgrammingError(1064, message))
    assert type(error) is sphinxql.SphinxError and error.transient and error.message == message


def test_other_driver_errors_are_unavailable_but_not_transient() -> None:
    error = sphinxql.translate_error(MySQLdb.InterfaceError(0, ""))
    assert type(error) is sphinxql.SphinxError and not error.transient
    assert error.message == "InterfaceError"


def test_a_searchd_that_does_not_answer_raises_a_transient_sphinx_error() -> None:
    sx = sphinxql.Sphinx("127.0.0.1", free_port(), connect_timeout=1)
    with pytest.raises(sphinxql.SphinxError) as caught:
        sx.indexes()
    assert caught.value.transient and caught.value.code == 2002
    assert isinstance(caught.value.__cause__, MySQLdb.OperationalError)
    assert isinstance(caught.value, sphinxql.SPHINX_ERRORS)
