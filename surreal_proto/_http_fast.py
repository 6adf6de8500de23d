"""The common case of HTTP/1.1, written and read without ``h11``: the fast path of
:class:`~surreal_proto._http_connection.HttpConnection`.

A SurrealDB exchange is nearly always the same shape: a ``GET`` or ``POST`` with a few plain
headers, answered by an ``HTTP/1.1`` response with one ``Content-Length`` and a keep-alive
connection. For that shape, going through ``h11`` (its event objects, header validation and
state machine) costs more than the rest of the call. This module writes such a request and
reads such a response head with a few byte operations, and **gives up** on everything else:
chunked or unframed bodies, 1xx, 204 and 304, HTTP/1.0, obsolete line folding, bare ``LF``
line ends, a repeated ``Content-Length``, and anything malformed. The connection then replays
the exchange through ``h11``, which stays the reference for correctness (and for the wording
of every error): what the fast path accepts, it reads exactly as ``h11`` would (the same
status, the same lowercased header names and stripped values, the same keep-alive decision).
A differential test (``tests/proto/test_http_fast.py``) holds the two to that.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from ._http import HttpRequest

__all__ = ["HAND_OVER", "Head", "parse_head", "plain_request_bytes"]

#: ``h11``'s limit on an incomplete response head (``max_incomplete_event_size``): past it,
#: ``h11`` reports an error, so the fast path hands such a head over.
MAX_INCOMPLETE_HEAD: Final = 16 * 1024

# The grammar h11 parses a response head with (its ``_abnf`` module), restricted to HTTP/1.1.
_STATUS_LINE: Final = re.compile(rb"HTTP/1\.1 ([0-9]{3})(?: (?:[ \t]|[^\x00\s])*)?")
# h11's header line is ``token ":" OWS field-value OWS``, field-value holding no NUL and no
# whitespace but spaces and tabs: the same as a value of those bytes, stripped of spaces and tabs.
_HEADER_FIELD: Final = re.compile(rb"([-!#$%&'*+.^_`|~0-9a-zA-Z]+):([^\x00\n\r\x0b\x0c]*)")
_CONTENT_LENGTH: Final = re.compile(rb"[0-9]{1,18}")
_VISIBLE: Final = re.compile(r"[\x21-\x7e]+")  # a request target, a Host value
# Request headers whose meaning h11 acts on (framing, connection handling): a request that
# carries one of them goes through h11 whole.
_H11_REQUEST_HEADERS: Final = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"})


class _HandOver:
    __slots__ = ()

    def __repr__(self) -> str:
        return "HAND_OVER"


#: ``parse_head``'s answer when the response is not the common case: let ``h11`` read it.
HAND_OVER: Final = _HandOver()


class Head(NamedTuple):
    """A response head read by :func:`parse_head`."""

    #: The status code (200 to 999, never 204 or 304).
    status: int
    #: ``(lowercased name, value)`` pairs as ``h11`` gives them.
    headers: list[tuple[bytes, bytes]]
    #: The ``Content-Length``.
    length: int
    #: Where the body starts in the buffer.
    body_start: int
    #: Whether the connection stays open after this response (no ``Connection: close``).
    keep_alive: bool


def plain_request_bytes(host: str, request: HttpRequest) -> bytes | None:
    """The bytes ``h11`` writes for ``request`` with ``Host: host`` and a ``Content-Length``
    (for a body or a ``POST``), or ``None`` when the request is not plain (a header that h11
    acts on, an unusual method or target): send that one through ``h11``."""
    method = request.method
    if method not in {"GET", "POST"}:
        return None
    target = request.target
    if not _VISIBLE.fullmatch(target) or not _VISIBLE.fullmatch(host):
        return None
    parts = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    for name, value in request.headers:
        if name.lower() in _H11_REQUEST_HEADERS:
            return None
        parts.append(f"{name}: {value}\r\n")
    body = request.body
    if body or method == "POST":
        parts.append(f"Content-Length: {len(body)}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("ascii") + body


def parse_head(raw: bytearray) -> Head | _HandOver | None:
    """Read the response head at the start of ``raw``: a :class:`Head`, ``None`` while more
    bytes are needed (``h11`` would wait too), or :data:`HAND_OVER` when the response is not
    the common case (see the module docstring)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        if (raw and raw[0] < 0x21) or b"\n\n" in raw or b"\n\r\n" in raw \
                or len(raw) > MAX_INCOMPLETE_HEAD:
            return HAND_OVER  # an error, or a head h11 would end at a bare LF
        return None
    lines = bytes(raw[:end]).split(b"\r\n")
    status_match = _STATUS_LINE.fullmatch(lines[0])
    if status_match is None:
        return HAND_OVER
    status = int(status_match[1])
    if status < 200 or status in {204, 304}:
        return HAND_OVER  # 1xx, and the statuses without a body
    headers: list[tuple[bytes, bytes]] = []
    length: bytes | None = None
    keep_alive = True
    for line in lines[1:]:
        match = _HEADER_FIELD.fullmatch(line)
        if match is None:
            return HAND_OVER  # a bare LF, obsolete folding, or broken
        name = match[1].lower()
        value = match[2].strip(b" \t")
        if name == b"content-length":
            if length is not None or not _CONTENT_LENGTH.fullmatch(value):
                return HAND_OVER
            length = value
        elif name == b"transfer-encoding":
            return HAND_OVER
        elif name == b"connection" and b"close" in (
                token.strip().lower() for token in value.split(b",")):
            keep_alive = False
        headers.append((name, value))
    if length is None:
        return HAND_OVER  # a body delimited by end of stream
    return Head(status, headers, int(length), end + 4, keep_alive)
