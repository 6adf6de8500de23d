"""Ending a connection: our close handshake, the server's, end of stream, and misuse after."""

from __future__ import annotations

from uuid import UUID

import pytest
from wsproto.events import CloseConnection

from surreal_proto._errors import ConnectionClosedError, LocalProtocolError
from surreal_proto._events import (
    ConnectionClosed,
    LiveQueryEnded,
    PendingRequest,
    RequestFailed,
    ResponseReceived,
)
from surreal_proto._state import ConnectionState

from .helpers import FEED, NONE, ClientServerPair, only_closed, state_of

pytestmark = FEED

LIVE = UUID("018e3e5c-0000-7000-8000-00000000000a")


def opened(bytewise: bool) -> ClientServerPair:
    pair = ClientServerPair(bytewise=bytewise, close_timeout=3.0, keepalive_interval=None)
    pair.open()
    return pair


def test_clean_close_handshake(bytewise: bool) -> None:
    pair = opened(bytewise)
    answered = pair.call("ping")
    unanswered = pair.call("query", "SLEEP 1s")
    late_reply = pair.server.reply(answered, NONE)  # written before the server saw our Close
    pair.client.close(1.0)
    assert pair.client.state is ConnectionState.CLOSING
    pair.client.close(1.5)  # idempotent
    pair.flush()
    assert pair.server.control == [CloseConnection(code=1000, reason="")]
    assert pair.client.next_deadline() == 4.0
    with pytest.raises(LocalProtocolError, match="closing"):
        pair.call("ping")
    # a reply that arrives while closing is still delivered
    events = pair.deliver(late_reply)
    assert events == [ResponseReceived(request_id=answered, method="ping", result=None)]
    # the fake server already answered our Close with a Close without status code (§2.3)
    events = pair.deliver(pair.server.take())
    failed = events[0]
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == unanswered
    assert isinstance(failed.error, ConnectionClosedError)
    assert failed.error.code == 1005
    assert failed.error.__cause__ is None
    closed = only_closed(events)
    assert closed == ConnectionClosed(code=1005, reason="", error=None, unanswered=(
        PendingRequest(request_id=unanswered, method="query", params=("SLEEP 1s",)),))
    assert state_of(pair.client) is ConnectionState.CLOSED
    assert pair.client.next_deadline() is None
    pair.client.close(9.0)
    assert pair.client.events() == []


def test_close_timeout(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.close(1.0)
    pair.client.handle_timeout(3.9)
    assert pair.client.events() == []
    pair.client.handle_timeout(4.0)
    closed = only_closed(pair.client.events())
    assert closed.code == 1006
    assert closed.error is None
    assert pair.client.state is ConnectionState.CLOSED


def test_server_initiated_close_is_echoed(bytewise: bool) -> None:
    pair = opened(bytewise)
    pending = pair.call("ping")
    events = pair.deliver(pair.server.close(1013, "The server is unable to handle the request"))
    # our echo reached the server
    assert pair.server.control[-1] == CloseConnection(
        code=1013, reason="The server is unable to handle the request")
    closed = only_closed(events)
    assert closed.code == 1013
    assert isinstance(closed.error, ConnectionClosedError)
    assert closed.error.code == 1013
    assert "code 1013: The server is unable" in str(closed.error)
    assert [p.request_id for p in closed.unanswered] == [pending]
    assert isinstance(events[0], RequestFailed)
    assert events[0].error.__cause__ is closed.error


def test_server_close_without_status(bytewise: bool) -> None:
    pair = opened(bytewise)
    closed = only_closed(pair.deliver(pair.server.close()))
    assert closed.code == 1005
    assert str(closed.error) == "the server closed the connection (code 1005)"


def test_end_of_stream_while_open(bytewise: bool) -> None:
    pair = opened(bytewise)
    live = pair.call("live", "t")
    pair.deliver(pair.server.reply(live, LIVE))
    pending = pair.call("ping")
    pair.client.receive_eof()
    events = pair.client.events()
    assert [type(e) for e in events] == [RequestFailed, LiveQueryEnded, ConnectionClosed]
    assert events[0].request_id == pending  # type: ignore[union-attr]
    assert events[1] == LiveQueryEnded(live_id=LIVE, reason="closed")
    closed = only_closed(events)
    assert closed.code == 1006
    assert isinstance(closed.error, ConnectionClosedError)
    assert closed.error.code == 1006
    pair.client.receive_eof()  # idempotent
    assert pair.client.events() == []
    with pytest.raises(LocalProtocolError, match="after receive_eof"):
        pair.client.receive_data(b"x", 0.0)


def test_end_of_stream_while_closing_is_not_an_error(bytewise: bool) -> None:
    # graceful server shutdown drops the socket without a Close frame (§2.9)
    pair = opened(bytewise)
    pair.client.close(0.0)
    pair.client.receive_eof()
    closed = only_closed(pair.client.events())
    assert closed.code == 1006
    assert closed.error is None


def test_bytes_after_the_end_are_discarded(bytewise: bool) -> None:
    pair = opened(bytewise)
    pending = pair.call("ping")
    reply = pair.server.reply(pending, 1)
    pair.deliver(pair.server.close(1001))
    assert pair.deliver(reply) == []
    assert pair.client.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        pair.call("ping")
    pair.client.handle_timeout(1e9)
    assert pair.client.events() == []
    assert pair.client.next_deadline() is None


def test_events_and_output_drain(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.close(0.0)
    assert pair.client.data_to_send() != b""
    assert pair.client.data_to_send() == b""
    pair.client.receive_eof()
    assert len(pair.client.events()) == 1
    assert pair.client.events() == []


def test_server_ping_while_closing_gets_no_pong(bytewise: bool) -> None:
    pair = opened(bytewise)
    ping = pair.server.ping(b"late")
    pair.client.close(0.0)
    pair.client.data_to_send()  # the Close frame; keep it from the fake server
    assert pair.deliver(ping) == []
    assert pair.client.data_to_send() == b""  # wsproto cannot pong while closing


def test_empty_reads_are_ignored(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.receive_data(b"", 5.0)
    assert pair.client.events() == []
    assert pair.client.data_to_send() == b""
