"""ALCO's errors as HTTP answers: the app's one exception handler and the JSON it sends.

Bad input is a 400, something that does not exist a 404, a server that does not answer a 503;
the body is ``{"error": message, ...detail}`` (with ``service`` for a 503).  Streams (tail)
send the same body in an event.
"""

from __future__ import annotations

import redis
from starlette.requests import Request
from starlette.responses import JSONResponse

from alco.errors import AlcoError, BadInput, NotFound, Unavailable

STATUS: dict[type[AlcoError], int] = {BadInput: 400, NotFound: 404, Unavailable: 503}
SERVICE_NAMES = {"searchd": "search engine"}
# What the handler is registered for: ALCO's errors, and Redis failing under a store that
# lets them through (the saved searches).
HANDLED: tuple[type[Exception], ...] = (*STATUS, redis.RedisError)


def as_alco_error(exc: Exception) -> AlcoError:
    if isinstance(exc, AlcoError):
        return exc
    if isinstance(exc, redis.RedisError):
        return Unavailable(str(exc), service="redis")
    raise TypeError(f"not an error the web app answers: {exc!r}")


def status_of(exc: AlcoError) -> int:
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500


def error_body(exc: AlcoError) -> dict:
    """The JSON an error is answered with."""
    if isinstance(exc, Unavailable):
        name = SERVICE_NAMES.get(exc.service, exc.service)
        return {"error": f"{name} unavailable: {exc.message}", **exc.detail,
                "service": exc.service}
    return {"error": exc.message, **exc.detail}


async def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler: an error raised by an endpoint as its JSON answer."""
    error = as_alco_error(exc)
    return JSONResponse(error_body(error), status_code=status_of(error))
