"""Real server bytes, replayed into the core: the test vectors of the fuzz tests.

``tests/security/vectors/`` holds bytes a real engine sent (the reference server, captured
once by ``fuzz/capture_vectors.py``) for a fixed sequence of calls:

* ``ws_frames.bin``: every byte after the WebSocket handshake for :data:`WS_CALLS` (replies,
  errors, live notifications), with the access token in the ``signin`` reply overwritten by
  ``x`` of the same length; ``ws_handshake.bin``: the server's ``101`` answer.
* ``http_responses.bin``: the HTTP/1.1 responses, back to back on one keep-alive connection,
  for :data:`HTTP_CALLS` (the last one with a wrong password: a ``401`` with a plain-text
  body; each response captured on a connection of its own, then concatenated).

:func:`ws_replay` makes a :class:`WebSocketConnection` that issued the same calls, and the
server bytes for it: the real ``101`` answer with ``Sec-WebSocket-Accept`` computed for this
client's key (the one thing that differs per connection), then the real frames. The request
ids are the same as at capture time (the default id factory counts from 1).

The invariants every fed sequence must keep (:func:`check_events`, :func:`one_outcome_each`)
are here too, shared by ``test_fuzz.py`` and ``fuzz/fuzz_core.py``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from pathlib import Path
from typing import Any, Final, get_args

import h11

from surreal_proto._errors import RemoteProtocolError, SurrealError
from surreal_proto._events import (
    AnyEvent,
    ConnectionClosed,
    ErrorReceived,
    ProtocolViolation,
    RequestFailed,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._state import ConnectionState
from surreal_proto._ws import WebSocketConnection

VECTORS = Path(__file__).parent / "vectors"
NS, DB = "fuzz", "fuzz"

#: The calls of the WebSocket capture, in order (after a root ``signin``, not listed).
WS_CALLS: list[tuple[str, list[Any]]] = [
    ("use", [NS, DB]),
    ("version", []),
    ("query", ["DEFINE TABLE t SCHEMALESS; CREATE t:1 SET n = 1, s = 'é', f = 1.5, "
               "d = d'2024-01-02T03:04:05.123456789Z', "
               "u = u'018e3e5c-0000-7000-8000-0000000000aa', dur = 1h30m, dec = 1.25dec, "
               "g = (1.5, 2.5), b = <bytes>'ab', a = [1, [2], {x: NONE, y: NULL}]"]),
    ("live", ["t"]),
    ("query", ["CREATE t:2 SET n = 2; UPDATE t:1 SET n = 3; DELETE t:2"]),
    ("select", ["missing_table"]),
    ("query", ["THROW 'boom'"]),
    ("query", ["SELECT * FROM"]),  # a parse error: an RPC-level error
    ("nosuchmethod", []),
    ("select", ["t"]),
]
#: The calls of the HTTP capture, in order; the last with a wrong password.
HTTP_CALLS: list[tuple[str, list[Any]]] = [
    ("version", []),
    ("query", ["RETURN [1, 'two', 3.5, NONE, NULL, true, <datetime>'2024-01-01T00:00:00Z']"]),
    ("query", ["THROW 'boom'"]),
    ("select", ["missing_table"]),
    ("query", ["SELECT * FROM"]),
    ("query", ["INFO FOR ROOT"]),
]


def _accept_for(key: bytes) -> bytes:
    digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    return base64.b64encode(digest)


def ws_client(**options: Any) -> WebSocketConnection:
    """A connection that sent the upgrade, a ``signin`` and :data:`WS_CALLS` (not flushed)."""
    client = WebSocketConnection("127.0.0.1:8000", **options)
    client.connect(0.0)
    client.send_request("signin", [{"user": "root", "pass": "root"}], now=0.0, timeout=None)
    for method, params in WS_CALLS:
        client.send_request(method, params, now=0.0, timeout=None)
    return client


def ws_replay(**options: Any) -> tuple[WebSocketConnection, bytes]:
    """A fresh :func:`ws_client` (its output drained) and the real server bytes for it."""
    client = ws_client(**options)
    upgrade = client.data_to_send()
    key = re.search(rb"(?i)sec-websocket-key: *([^\r\n]+)", upgrade)
    assert key is not None
    handshake = (VECTORS / "ws_handshake.bin").read_bytes()
    handshake = re.sub(rb"(?i)(sec-websocket-accept: *)[^\r\n]+",
                       lambda m: m.group(1) + _accept_for(key.group(1).strip()), handshake)
    return client, handshake + (VECTORS / "ws_frames.bin").read_bytes()


def http_client(**options: Any) -> HttpConnection:
    """A connection with :data:`HTTP_CALLS` queued, as at capture time."""
    client = HttpConnection("127.0.0.1:8000",
                            context=HttpContext(namespace=NS, database=DB, basic=("root", "root")),
                            **options)
    client.connect(0.0)
    for method, params in HTTP_CALLS:
        client.send_request(method, params, now=0.0, timeout=None)
    return client


def http_responses() -> bytes:
    return (VECTORS / "http_responses.bin").read_bytes()


# --------------------------------------------------------------------------- invariants

EVENT_TYPES: Final = get_args(AnyEvent)
OUTCOMES: Final = (ResponseReceived, ErrorReceived, RequestFailed, RequestTimedOut)


def check_events(client: Any, events: list[AnyEvent]) -> None:
    """The invariants of any event sequence, and of the state it leaves."""
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    for event in events:
        if isinstance(event, ProtocolViolation):
            assert isinstance(event.error, RemoteProtocolError)
        if isinstance(event, RequestFailed | ConnectionClosed) and event.error is not None:
            assert isinstance(event.error, SurrealError)
    closed = [i for i, e in enumerate(events) if isinstance(e, ConnectionClosed)]
    assert len(closed) <= 1
    assert not closed or closed[0] == len(events) - 1
    assert isinstance(client.state, ConnectionState)
    assert (client.state is ConnectionState.CLOSED) == bool(closed)
    if closed:
        assert client.pending_count == 0
        assert client.next_deadline() is None


def one_outcome_each(events: list[AnyEvent], expected: int) -> None:
    """After EOF: every request had exactly one outcome (an answer, or its failure)."""
    seen: dict[Any, int] = {}
    for event in events:
        if isinstance(event, OUTCOMES):
            seen[event.request_id] = seen.get(event.request_id, 0) + 1
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed)
    assert all(n == 1 for n in seen.values())
    assert len(seen) == expected
    # The close lists the requests it failed (each also had its RequestFailed).
    failed = {e.request_id for e in events if isinstance(e, RequestFailed)}
    assert {p.request_id for p in closed.unanswered} <= failed


def feed(client: Any, data: bytes, cuts: list[int]) -> list[AnyEvent]:
    events: list[AnyEvent] = []
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        client.receive_data(data[start:end], 1.0)  # must never raise
        client.data_to_send()
        events += client.events()
    return events


def _parse_responses(data: bytes) -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
    """The real responses as (status, headers, body), as an httpx client hands them over."""
    parser = h11.Connection(h11.CLIENT)
    out: list[tuple[int, list[tuple[bytes, bytes]], bytes]] = []
    parser.send(h11.Request(method="POST", target="/rpc", headers=[("Host", "x"),
                                                                     ("Content-Length", "0")]))
    parser.send(h11.EndOfMessage())
    parser.receive_data(data)
    status, headers, body = 0, [], b""
    while True:
        event = parser.next_event()
        if isinstance(event, h11.Response):
            status, headers, body = event.status_code, list(event.headers), b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            out.append((status, headers, body))
            parser.start_next_cycle()
            parser.send(h11.Request(method="POST", target="/rpc",
                                    headers=[("Host", "x"), ("Content-Length", "0")]))
            parser.send(h11.EndOfMessage())
        else:
            return out


def _payloads() -> list[bytes]:
    """The CBOR payloads of the real WebSocket frames (all unmasked, unfragmented)."""
    out, pos, data = [], WS_BODY_START, WS_BYTES
    while pos < len(data):
        length = data[pos + 1] & 0x7F
        pos += 2
        if length == 126:
            length, pos = int.from_bytes(data[pos:pos + 2]), pos + 2
        elif length == 127:
            length, pos = int.from_bytes(data[pos:pos + 8]), pos + 8
        out.append(data[pos:pos + length])
        pos += length
    return out


_, WS_BYTES = ws_replay()
WS_BODY_START: Final = WS_BYTES.index(b"\r\n\r\n") + 4
HTTP_BYTES: Final = http_responses()
#: The real HTTP responses as ``(status, headers, body)``.
HTTP_REPLIES: Final = _parse_responses(HTTP_BYTES)
#: The CBOR payloads of the real WebSocket frames.
PAYLOADS: Final = _payloads()
