"""Reading a request body within the size limit, and undoing its Content-Encoding."""

from __future__ import annotations

import zlib

from starlette.requests import Request

from alco.errors import BadInput


class TooLarge(BadInput):
    """The body (as sent, or decompressed) is over ``[web] ingest_max_bytes``: a 413."""


class Unsupported(BadInput):
    """A content type or encoding ALCO does not read: a 415."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body as sent, refused (``TooLarge``) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes is over the limit of {limit}", limit=limit)
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over the limit of {limit} bytes", limit=limit)
        parts.append(chunk)
    return b"".join(parts)


def decode(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate), decompressing at most ``limit``
    bytes (a small bomb cannot fill the memory)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, zlib.MAX_WBITS | 16, limit)
    if encoding == "deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, limit)  # zlib-wrapped, as HTTP says
        except BadInput:
            return _inflate(body, -zlib.MAX_WBITS, limit)  # raw deflate, as some send
    raise Unsupported(f"Content-Encoding {encoding!r} is not supported (gzip, deflate)")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadInput(f"cannot decompress the body: {exc}") from None
    if len(out) > limit:
        raise TooLarge(f"decompressed body over the limit of {limit} bytes", limit=limit)
    if not inflater.eof:
        raise BadInput("truncated compressed body")
    return out


def media_type(request: Request) -> str:
    """``Content-Type`` without its parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
