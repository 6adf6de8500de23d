"""The fast path of HttpConnection (``surreal_proto._http_fast``) against h11, the reference.

The differential test feeds the same random responses (well-formed, odd and mutated, split at
random points) to a normal connection and to one that hands every exchange to h11, and
requires the same bytes sent, the same events and errors, and the same state at every step.
The unit tests pin each rule of the fast path: what it reads itself, what it hands to h11.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surreal_proto._codec import encode
from surreal_proto._errors import ConnectionClosedError, RemoteProtocolError
from surreal_proto._events import ConnectionClosed, ResponseReceived
from surreal_proto._http import HttpRequest
from surreal_proto._http_base import _Exchange
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._http_fast import HAND_OVER, Head, parse_head, plain_request_bytes
from surreal_proto._state import ConnectionState

_OK = encode({"result": 1})


class _Recording(HttpConnection):
    """Records every reply as the connection read it (status, headers, body)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replies: list[tuple[int, Any, bytes]] = []

    def _settle(self, exchange: _Exchange, status: int, headers: Any, body: bytes,
                now: float) -> None:
        self.replies.append((status, list(headers), body))
        super()._settle(exchange, status, headers, body, now)


class _H11Only(_Recording):
    """The reference: every exchange is read by h11 from its first byte."""

    def _pump_fast(self, exchange: _Exchange, limit: int | None, now: float) -> bool:
        self._to_h11(exchange)
        return True


def _norm(value: Any) -> Any:
    # Events and errors as comparable values (exceptions compare by identity).
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value), getattr(value, "code", None),
                getattr(value, "reason", None))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, _norm(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _norm(v)) for k, v in value.items()))
    return value


def _snapshot(conn: _Recording) -> Any:
    return (conn.data_to_send(), _norm(conn.events()), conn.state, conn.idle,
            conn.server_version, conn.pending_count, conn.replies)


# ---------------------------------------------------------------------------- response bytes

_HEADER_CHOICES = [
    b"Content-Type: application/cbor", b"content-type: text/plain",
    b"surreal-version: surrealdb-3.0.0", b"Date: Tue, 24 Nov 2026 03:00:00 GMT",
    b"Connection: keep-alive", b"Connection: close", b"connection: Keep-Alive, CLOSE",
    b"X-Pad:  \t spaced  value \t", b"Vary:", b"Keep-Alive: timeout=5",
    b"Transfer-Encoding: gzip", b" folded", b"Bad Header: x", b"X-Nul: a\x00b",
]


@st.composite
def _any_response(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from([b"\r\n"] * 6 + [b"\n"]))
    version = draw(st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/2.0"]))
    status = draw(st.sampled_from([200, 200, 200, 0, 99, 101, 204, 304, 400, 401, 404, 413, 500,
                                   999]))
    reason = draw(st.sampled_from([b" OK", b"", b" ", b" Not\tFound"]))
    body = draw(st.one_of(st.just(_OK), st.binary(max_size=24),
                          st.builds(lambda v: encode({"result": v}), st.text(max_size=30))))
    headers = draw(st.lists(st.sampled_from(_HEADER_CHOICES), max_size=4))
    framing = draw(st.sampled_from(["length"] * 5 + ["chunked", "none", "twice", "comma",
                                                     "padded", "huge", "both"]))
    length = str(len(body)).encode()
    if framing in ("length", "twice", "both"):
        headers.append(b"Content-Length: " + length)
    if framing == "twice":
        headers.append(b"content-length: " + draw(st.sampled_from([length, b"1"])))
    if framing == "comma":
        headers.append(b"Content-Length: " + length + b", " + length)
    if framing == "padded":
        headers.append(b"Content-Length:  " + length + b" ")
    if framing == "huge":
        headers.append(b"Content-Length: 1" + b"0" * 20)
    if framing in ("chunked", "both"):
        headers.append(b"Transfer-Encoding: chunked")
        body = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    headers = draw(st.permutations(headers))
    info = draw(st.sampled_from([b""] * 5 + [b"HTTP/1.1 100 Continue\r\n\r\n"]))
    return (info + version + b" %03d" % status + reason + eol
            + b"".join(h + eol for h in headers) + eol + body)


_INSERTS = [b"\r\n", b"\n", b"\r", b" ", b"\t", b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x85",
            b"x", b":", b"0"]


@st.composite
def _stream(draw: st.DrawFn) -> bytes:
    raw = b"".join(draw(st.lists(_any_response(), min_size=1, max_size=3)))
    mode = draw(st.sampled_from(["as is"] * 4 + ["truncate", "flip", "insert", "prefix"]))
    if mode == "truncate":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif mode == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.sampled_from([1, 0x20, 0x0a ^ 0x0d, 0x80, 0xff]))
        raw = bytes(data)
    elif mode == "insert":
        i = draw(st.integers(0, len(raw)))
        raw = raw[:i] + draw(st.sampled_from(_INSERTS)) + raw[i:]
    elif mode == "prefix":
        raw = draw(st.sampled_from([b"\r\n", b"\n", b" ", b"h"])) + raw
    return raw


@given(data=_stream(), splits=st.lists(st.integers(1, 80), max_size=12),
       requests=st.lists(st.sampled_from(["rpc", "health"]), min_size=1, max_size=3),
       odd_request=st.booleans(), max_size=st.sampled_from([None, 16, 10_000]),
       eof=st.booleans())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_matches_h11(data: bytes, splits: list[int], requests: list[str],
                               odd_request: bool, max_size: int | None, eof: bool) -> None:
    # A request with a header that h11 acts on goes through h11 whole, on both sides.
    extra = [("Connection", "keep-alive")] if odd_request else []
    conns = [cls("db:8000", context=HttpContext(namespace="n", headers=extra),
                 max_response_size=max_size) for cls in (_Recording, _H11Only)]
    for conn in conns:
        conn.connect(0.0)
        for kind in requests:
            if kind == "rpc":
                conn.ping(now=0.0)
            else:
                conn.send_health(now=0.0)
    fast, ref = conns
    assert _snapshot(fast) == _snapshot(ref)
    pos = 0
    for size in [*splits, len(data)]:
        chunk = data[pos:pos + size]
        pos += size
        for conn in conns:
            conn.receive_data(chunk, 1.0)
        assert _snapshot(fast) == _snapshot(ref)
    if eof:
        for conn in conns:
            conn.receive_eof()
        assert _snapshot(fast) == _snapshot(ref)


# ---------------------------------------------------------------------------- requests

def _h11_bytes(host: str, request: HttpRequest) -> bytes:
    conn = h11.Connection(h11.CLIENT)
    headers = [("Host", host), *request.headers]
    if request.body or request.method == "POST":
        headers.append(("Content-Length", str(len(request.body))))
    out = conn.send(h11.Request(method=request.method, target=request.target, headers=headers))
    assert out is not None
    if request.body:
        out += conn.send(h11.Data(data=request.body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


@pytest.mark.parametrize("request_", [
    HttpRequest(method="POST", target="/rpc", headers=(("Accept", "application/cbor"),
                                                      ("Authorization", "Bearer a.b\tc")),
                body=b"\x00\xff\r\n"),
    HttpRequest(method="POST", target="/db/rpc", headers=()),
    HttpRequest(method="GET", target="/health", headers=(("X-Trace", ""),)),
    HttpRequest(method="GET", target="/export?a=1", headers=(), body=b"x"),
])
def test_plain_request_bytes_are_h11s(request_: HttpRequest) -> None:
    assert plain_request_bytes("db:8000", request_) == _h11_bytes("db:8000", request_)


@pytest.mark.parametrize(("host", "request_"), [
    ("db", HttpRequest(method="PUT", target="/rpc", headers=())),
    ("db", HttpRequest(method="GET", target="/a b", headers=())),
    ("db\t1", HttpRequest(method="GET", target="/health", headers=())),
    ("db", HttpRequest(method="POST", target="/rpc", headers=(("connection", "close"),))),
    ("db", HttpRequest(method="POST", target="/rpc", headers=(("Content-Length", "0"),))),
])
def test_requests_h11_acts_on_are_not_plain(host: str, request_: HttpRequest) -> None:
    assert plain_request_bytes(host, request_) is None


# ---------------------------------------------------------------------------- response heads

def test_parse_head_reads_the_common_response() -> None:
    raw = bytearray(b"HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\n"
                    b"X-Pad: \t a  b \t\r\nVary:\r\nCONTENT-LENGTH: 3\r\n"
                    b"Connection: keep-alive\r\n\r\nabc")
    head = parse_head(raw)
    assert head == Head(200, [(b"content-type", b"application/cbor"), (b"x-pad", b"a  b"),
                              (b"vary", b""), (b"content-length", b"3"),
                              (b"connection", b"keep-alive")], 3, len(raw) - 3, True)


@pytest.mark.parametrize("connection", [b"close", b"Keep-Alive, CLOSE", b" upgrade ,close"])
def test_parse_head_sees_connection_close(connection: bytes) -> None:
    head = parse_head(bytearray(b"HTTP/1.1 500\r\nContent-Length: 0\r\nConnection: "
                                + connection + b"\r\n\r\n"))
    assert isinstance(head, Head)
    assert (head.status, head.keep_alive) == (500, False)


@pytest.mark.parametrize("raw", [
    b"", b"H", b"HTTP/1.1 200 OK\r\nContent-Len", b"HTTP/1.1 200\r\n\r"])
def test_parse_head_waits_for_an_incomplete_head(raw: bytes) -> None:
    assert parse_head(bytearray(raw)) is None


@pytest.mark.parametrize("raw", [
    b" HTTP/1.1 200 OK\r\n",                                    # h11: illegal line
    b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",         # h11: no response line
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",                   # bare LF line ends
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"x" * 17000,                    # h11: buffer too long
    b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n folded\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Name: 1\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0, 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 19 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
])
def test_parse_head_hands_the_rest_to_h11(raw: bytes) -> None:
    assert parse_head(bytearray(raw)) is HAND_OVER
    assert repr(HAND_OVER) == "HAND_OVER"


# ---------------------------------------------------------------------------- the connection

def _client(**kwargs: Any) -> HttpConnection:
    client = HttpConnection("db", **kwargs)
    client.connect(0.0)
    client.events()
    return client


def _response(status: int = 200, body: bytes = _OK, *extra: bytes) -> bytes:
    return (b"HTTP/1.1 %d OK\r\nContent-Type: application/cbor\r\n" % status
            + b"".join(h + b"\r\n" for h in extra)
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def test_replies_in_one_read_complete_queued_requests() -> None:
    # Two replies in one read: the second is read as soon as its request is sent.
    client = _client()
    first, second = client.ping(now=0.0), client.ping(now=0.0)
    assert client.data_to_send().count(b"POST /rpc HTTP/1.1\r\n") == 1  # one at a time
    client.receive_data(_response() + _response(body=encode({"result": 2})), 1.0)
    assert client.data_to_send().startswith(b"POST /rpc HTTP/1.1\r\n")
    events = client.events()
    assert [(e.request_id, e.result) for e in events if isinstance(e, ResponseReceived)] == [
        (first, 1), (second, 2)]
    assert client.idle


def test_a_reply_in_pieces_and_the_size_limit_on_its_head() -> None:
    client = _client(max_response_size=len(_OK))
    request_id = client.ping(now=0.0)
    client.data_to_send()
    reply = _response()
    for i in range(len(reply)):
        client.receive_data(reply[i:i + 1], 1.0)
    assert [e.request_id for e in client.events() if isinstance(e, ResponseReceived)] == [
        request_id]
    client.ping(now=0.0)
    client.receive_data(_response(200, _OK + b"x")[:-10], 1.0)  # the head alone ends it
    closed = client.events()[-1]
    assert isinstance(closed, ConnectionClosed)
    assert isinstance(closed.error, ConnectionClosedError)
    assert closed.code == 1009


def test_an_unlimited_connection_takes_any_length() -> None:
    client = _client(max_response_size=None)
    client.ping(now=0.0)
    client.receive_data(_response(200, encode({"result": "x" * 100_000})), 1.0)
    assert [e.result for e in client.events() if isinstance(e, ResponseReceived)] == [
        "x" * 100_000]


def test_connection_close_ends_after_the_reply() -> None:
    client = _client()
    request_id = client.ping(now=0.0)
    client.ping(now=0.0)
    client.receive_data(_response(200, _OK, b"Connection: close"), 1.0)
    events = client.events()
    assert isinstance(events[0], ResponseReceived)
    assert events[0].request_id == request_id
    assert isinstance(events[-1], ConnectionClosed)
    assert events[-1].code == 1000
    assert client.state is ConnectionState.CLOSED


def test_end_of_stream_mid_body_is_1006_on_the_fast_path() -> None:
    client = _client()
    client.ping(now=0.0)
    client.receive_data(_response()[:-1], 1.0)
    client.receive_eof()
    closed = client.events()[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1006


def test_after_an_h11_reply_the_connection_reuses_the_rest() -> None:
    # A chunked reply goes through h11; the bytes after it (the next reply) are read after.
    client = _client()
    client.ping(now=0.0)
    client.ping(now=0.0)
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(_OK), _OK))
    client.receive_data(chunked + _response(body=encode({"result": 2}))[:10], 1.0)
    client.receive_data(_response(body=encode({"result": 2}))[10:], 1.0)
    assert [e.result for e in client.events() if isinstance(e, ResponseReceived)] == [1, 2]
    assert client.idle


def test_a_request_h11_must_send_takes_the_leftover_bytes() -> None:
    # Bytes after a reply, then a request that goes through h11 whole: h11 reads them as
    # the start of its reply, as one h11 connection would have.
    context = HttpContext()
    client = _client(context=context)
    client.ping(now=0.0)
    client.receive_data(_response() + b"HTTP/1.1 200 OK\r\n", 1.0)
    client.events()
    odd = HttpConnection("db", context=HttpContext(headers=[("Connection", "keep-alive")]))
    client.context = odd.context
    request_id = client.ping(now=0.0)
    assert b"Connection: keep-alive" in client.data_to_send()
    client.receive_data(b"Content-Type: application/cbor\r\nContent-Length: %d\r\n\r\n"
                        % len(_OK) + _OK, 1.0)
    assert [e.request_id for e in client.events() if isinstance(e, ResponseReceived)] == [
        request_id]


def test_broken_heads_are_h11s_errors() -> None:
    client = _client()
    client.ping(now=0.0)
    client.receive_data(b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", 1.0)
    closed = client.events()[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1002
    assert isinstance(closed.error, RemoteProtocolError)
    assert "illegal header line" in str(closed.error)


def test_h11_keeps_the_rules_for_what_it_reads() -> None:
    # A GET that h11 sends whole, an HTTP/1.0 head too large for the limit, and end of
    # stream in the middle of an h11 reply: the same outcomes as on the fast path.
    odd = HttpContext(headers=[("Connection", "keep-alive")])
    client = _client(context=odd, max_response_size=4)
    client.send_health(now=0.0)
    assert client.data_to_send().startswith(b"GET /health HTTP/1.1\r\nHost: db\r\n")
    client.receive_data(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", 1.0)
    closed = client.events()[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1009

    client = _client(context=odd)
    client.ping(now=0.0)
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 1.0)
    client.receive_eof()
    closed = client.events()[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1006
