"""The WebSocket upgrade: what we send, what we accept, and every way it can fail."""

from __future__ import annotations

from uuid import UUID

import pytest

from surreal_proto._errors import ConnectionClosedError, HandshakeError, LocalProtocolError
from surreal_proto._events import Connected, RequestFailed, RequestTimedOut, ResponseReceived
from surreal_proto._state import ConnectionState
from surreal_proto._ws import WebSocketConnection

from .helpers import FEED, ClientServerPair, only_closed, state_of

pytestmark = FEED

REQUEST_ID = "9f0e3a52-36f3-4f43-9a4c-0bd1b51f4c21"


def test_upgrade_request_offers_cbor_only(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise, headers=[
        ("Authorization", "Bearer abc"), (b"Surreal-NS", b"test"), ("X-Request-Id", REQUEST_ID)])
    assert pair.client.state is ConnectionState.IDLE
    pair.client.connect(0.0)
    assert state_of(pair.client) is ConnectionState.CONNECTING
    raw = pair.flush()
    assert raw.startswith(b"GET /rpc HTTP/1.1\r\n")
    assert b"permessage-deflate" not in raw
    assert b"Sec-WebSocket-Extensions" not in raw
    request = pair.server.handshake
    assert request is not None
    assert request.subprotocols == ["cbor"]
    assert request.extensions == []
    assert request.host == "localhost:8000"
    headers = dict(request.extra_headers)
    assert headers[b"authorization"] == b"Bearer abc"
    assert headers[b"surreal-ns"] == b"test"
    assert headers[b"x-request-id"] == REQUEST_ID.encode()


def test_accept_emits_connected(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    events = pair.open(headers=[(b"Surreal-Version", b"surrealdb-3.2.4")])
    assert events == [Connected(subprotocol="cbor", extensions=(),
                                headers=((b"surreal-version", b"surrealdb-3.2.4"),))]
    assert pair.client.state is ConnectionState.OPEN


def test_frames_right_after_the_101_are_read(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    request_id = pair.client.ping(now=0.0)
    pair.flush()
    data = pair.server.accept()
    events = pair.deliver(data)
    assert [type(e) for e in events] == [Connected]
    events = pair.deliver(pair.server.reply(request_id, 1) + pair.server.reply(request_id, 2))
    assert isinstance(events[0], ResponseReceived)


def test_same_chunk_101_and_reply(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    accept = pair.server.accept()
    pair.client.ping(now=0.0)  # queued; not yet sent, the server does not know it
    events = pair.deliver(accept + pair.server.reply(1, "early"))
    assert [type(e) for e in events] == [Connected, ResponseReceived]


def test_requests_started_while_connecting_are_queued_then_sent(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    first = pair.client.use("ns", "db", now=0.0)
    second = pair.client.version(now=0.0)
    assert [p.sent for p in pair.client.pending_requests()] == [False, False]
    pair.flush()
    assert pair.server.requests == []
    pair.deliver(pair.server.accept())
    assert [r["id"] for r in pair.server.requests] == [first, second]
    assert [p.sent for p in pair.client.pending_requests()] == [True, True]


def test_abandoned_or_timed_out_queued_requests_are_never_sent(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    dropped = pair.client.ping(now=0.0)
    timed = pair.client.ping(now=0.0, timeout=1.0)
    kept = pair.client.ping(now=0.0)
    pair.client.abandon(dropped)
    assert pair.client.next_deadline() == 1.0
    pair.client.handle_timeout(1.0)
    assert pair.client.events() == [RequestTimedOut(request_id=timed, method="ping")]
    pair.flush()
    pair.deliver(pair.server.accept())
    assert [r["id"] for r in pair.server.requests] == [kept]
    # the abandoned id was never sent, so a reply for it is not a "late reply" but unknown
    assert pair.client.pending_count == 1


def test_server_without_cbor_fails_the_handshake(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    queued = pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(pair.server.accept(subprotocol=None))
    failed, closed = events
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == queued
    assert isinstance(failed.error, ConnectionClosedError)
    assert isinstance(failed.error.__cause__, HandshakeError)
    closed = only_closed(events)
    assert closed.code == 1006
    assert isinstance(closed.error, HandshakeError)
    assert "cbor" in str(closed.error)
    assert [p.sent for p in closed.unanswered] == [False]
    assert pair.client.state is ConnectionState.CLOSED
    assert pair.client.data_to_send() == b""  # no Close frame on a failed handshake


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, b"The token has expired", "HTTP 401: The token has expired"),
    (401, b"There was a problem with the database: The token has expired\n",
     "HTTP 401: There was a problem with the database: The token has expired"),
    (403, b"", "HTTP 403"),
    (400, b"\xff\xfebad", "HTTP 400: \ufffd\ufffdbad"),
])
def test_refused_upgrade(bytewise: bool, status: int, body: bytes, expected: str) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(pair.server.reject(status, body))
    closed = only_closed(events)
    assert isinstance(closed.error, HandshakeError)
    assert closed.error.status == status
    assert str(closed.error).endswith(expected)
    assert isinstance(events[0], RequestFailed)
    assert pair.client.state is ConnectionState.CLOSED


def test_refusal_body_is_capped(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    closed = only_closed(pair.deliver(pair.server.reject(500, b"x" * 10_000)))
    assert str(closed.error).count("x") == 4096


def test_refusal_body_delimited_by_eof(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    assert pair.deliver(b"HTTP/1.1 401 Unauthorized\r\n\r\nThe token has ") == []
    assert pair.deliver(b"expired") == []
    pair.client.receive_eof()
    closed = only_closed(pair.client.events())
    assert isinstance(closed.error, HandshakeError)
    assert str(closed.error).endswith("HTTP 401: The token has expired")


def test_refusal_cut_short_by_eof(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    pair.deliver(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 100\r\n\r\nThe token")
    pair.client.receive_eof()
    closed = only_closed(pair.client.events())
    assert isinstance(closed.error, HandshakeError)
    assert closed.error.status == 401
    assert str(closed.error).endswith("HTTP 401: The token")


def test_refusal_with_broken_chunked_body(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    events = pair.deliver(b"HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\n\r\n"
                          b"4\r\nnope\r\nzz\r\n")
    closed = only_closed(events)
    assert isinstance(closed.error, HandshakeError)
    assert str(closed.error).endswith("HTTP 502: nope")


def test_informational_answer_is_a_refusal(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    closed = only_closed(pair.deliver(b"HTTP/1.1 100 Continue\r\n\r\n"))
    assert isinstance(closed.error, HandshakeError)
    assert closed.error.status == 100


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: wrong\r\nSec-WebSocket-Protocol: cbor\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Protocol: \xe9\r\n\r\n",
], ids=["not-http", "bad-accept", "non-ascii-protocol"])
def test_invalid_upgrade_answer(bytewise: bool, answer: bytes) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    closed = only_closed(pair.deliver(answer))
    assert isinstance(closed.error, HandshakeError)
    assert closed.error.status is None
    assert "invalid answer to the WebSocket upgrade" in str(closed.error)
    # the rest of the stream is discarded
    assert pair.deliver(b"more garbage") == []


def test_extension_the_client_never_offered(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    answer = pair.server.accept()
    extension = b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    answer = answer.replace(b"\r\n\r\n", extension)
    closed = only_closed(pair.deliver(answer))
    assert "unrecognized extension" in str(closed.error)


def test_eof_during_handshake(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    pair.flush()
    pair.deliver(b"HTTP/1.1 101 Swi")
    pair.client.receive_eof()
    closed = only_closed(pair.client.events())
    assert isinstance(closed.error, HandshakeError)
    assert closed.code == 1006


def test_close_while_connecting_ends_at_once(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    queued = pair.client.ping(now=0.0)
    pair.client.close(0.0)
    events = pair.client.events()
    assert isinstance(events[0], RequestFailed)
    assert events[0].request_id == queued
    closed = only_closed(events)
    assert closed.error is None
    assert closed.code == 1006
    assert pair.client.state is ConnectionState.CLOSED
    # the server's late answer is discarded
    pair.flush()
    assert pair.deliver(pair.server.accept()) == []


def test_close_before_connect(bytewise: bool) -> None:
    client = WebSocketConnection("localhost")
    client.close(0.0)
    assert only_closed(client.events()).error is None
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        client.connect(0.0)


def test_misuse_before_connect(bytewise: bool) -> None:
    client = WebSocketConnection("localhost")
    with pytest.raises(LocalProtocolError, match=r"connect\(now\) first"):
        client.receive_data(b"x", 0.0)
    with pytest.raises(LocalProtocolError):
        client.send_request("ping", now=0.0)
    with pytest.raises(LocalProtocolError):
        client.receive_eof()
    assert client.state is ConnectionState.IDLE
    assert client.events() == []
    assert client.data_to_send() == b""
    client.connect(0.0)
    with pytest.raises(LocalProtocolError):
        client.connect(0.0)
    assert state_of(client) is ConnectionState.CONNECTING


@pytest.mark.parametrize("headers", [
    [("Sec-WebSocket-Protocol", "json")],
    [("Host", "evil")],
    [("X-Request-Id", "not-a-uuid")],
    [("Surreal-Id", "12")],
    [("Surreal-Id", b"\xff")],
    [("X-Bad", "line\r\nbreak")],
    [("Bad Name", "x")],
])
def test_bad_headers_are_refused_at_construction(bytewise: bool,
                                                 headers: list[tuple[str, str]]) -> None:
    with pytest.raises(LocalProtocolError):
        WebSocketConnection("localhost", headers=headers)


def test_bad_host_is_refused(bytewise: bool) -> None:
    with pytest.raises(LocalProtocolError):
        WebSocketConnection("a" * 300 + ".example")


def test_uuid_id_headers_are_accepted(bytewise: bool) -> None:
    conn = WebSocketConnection("localhost", headers=[
        ("Surreal-Id", str(UUID(int=1))), ("x-request-id", REQUEST_ID)])
    conn.connect(0.0)
    assert b"x-request-id: " + REQUEST_ID.encode() in conn.data_to_send()
