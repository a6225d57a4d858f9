"""ALCO's errors: what went wrong, as data.

Three kinds, each with one meaning for whoever catches it (the web app answers them with 400,
404 and 503): the caller's input is wrong, what was asked for does not exist, a server ALCO
needs does not answer.  An error's ``message`` is for people; what a program may act on is in
attributes (``detail``, ``service``, ``transient``).  Standard library only: the client package
imports this module too.
"""

from __future__ import annotations

from typing import Any


class AlcoError(Exception):
    """Base of ALCO's errors: ``message`` says what went wrong, ``detail`` holds data about it
    (JSON values, such as the ``position`` of a mistake in a query)."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class BadInput(AlcoError):
    """The caller's input is wrong: the same request fails again."""


class NotFound(AlcoError):
    """What was asked for (an index, a line, a shortcut) does not exist."""


class Unavailable(AlcoError):
    """A server ALCO needs (``service``: "searchd", "redis", "rabbitmq") did not answer or
    failed.  ``transient``: the same request may work later (the server is down, restarting
    or still loading)."""

    def __init__(self, message: str, service: str, transient: bool = True,
                 **detail: Any) -> None:
        super().__init__(message, **detail)
        self.service = service
        self.transient = transient
