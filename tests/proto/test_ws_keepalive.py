"""Keepalive: ping after silence, give up when nothing answers. All times are explicit."""

from __future__ import annotations

from wsproto.events import CloseConnection, Ping

from surreal_proto._errors import ConnectionClosedError
from surreal_proto._events import RequestFailed
from surreal_proto._state import ConnectionState

from .helpers import FEED, ClientServerPair, only_closed

pytestmark = FEED


def opened(bytewise: bool) -> ClientServerPair:
    pair = ClientServerPair(bytewise=bytewise, keepalive_interval=30.0, keepalive_timeout=20.0)
    pair.now = 100.0
    pair.open()
    return pair


def test_ping_after_silence_and_pong_clears_it(bytewise: bool) -> None:
    pair = opened(bytewise)
    assert pair.client.next_deadline() == 130.0
    pair.client.handle_timeout(129.9)  # early: nothing
    assert pair.client.data_to_send() == b""
    pair.client.handle_timeout(130.0)
    pair.flush()
    assert pair.server.control == [Ping(payload=b"surreal-py keepalive 1")]
    assert pair.client.next_deadline() == 150.0
    pair.client.handle_timeout(140.0)  # still waiting: nothing new
    assert pair.client.data_to_send() == b""
    # the fake server answered with a Pong
    assert pair.deliver(pair.server.take(), now=141.0) == []
    assert pair.client.next_deadline() == 171.0
    pair.client.handle_timeout(171.0)
    pair.flush()
    assert pair.server.control[-1] == Ping(payload=b"surreal-py keepalive 2")


def test_any_data_counts_as_an_answer(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("ping", now=100.0)
    pair.client.handle_timeout(130.0)
    pair.flush()
    pair.server.take()  # drop the Pong: the peer's reply alone proves it alive
    pair.deliver(pair.server.reply(request_id, 1), now=145.0)
    assert pair.client.next_deadline() == 175.0


def test_server_pings_keep_the_connection_quiet(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.deliver(pair.server.ping(b"x"), now=125.0)  # SurrealDB pings every 5 s (§2.8)
    assert pair.client.next_deadline() == 155.0


def test_no_answer_ends_the_connection(bytewise: bool) -> None:
    pair = opened(bytewise)
    pending = pair.call("ping", now=100.0)
    pair.client.handle_timeout(130.0)
    pair.flush()
    pair.server.take()
    pair.client.handle_timeout(150.0)
    events = pair.client.events()
    pair.flush()
    assert pair.server.control[-1] == CloseConnection(code=1011, reason="keepalive ping timeout")
    assert isinstance(events[0], RequestFailed)
    assert events[0].request_id == pending
    closed = only_closed(events)
    assert closed.code == 1011
    assert isinstance(closed.error, ConnectionClosedError)
    assert str(closed.error) == "no answer to keepalive ping within 20s"
    assert pair.client.state is ConnectionState.CLOSED


def test_keepalive_can_be_disabled(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise, keepalive_interval=None)
    pair.open()
    assert pair.client.next_deadline() is None
    pair.client.handle_timeout(1e9)
    assert pair.client.data_to_send() == b""
    assert pair.client.events() == []


def test_no_keepalive_before_open_or_while_closing(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise)
    pair.client.connect(0.0)
    assert pair.client.next_deadline() is None
    pair.client.handle_timeout(1e9)
    assert pair.flush().startswith(b"GET /rpc")  # only the upgrade request
    pair.deliver(pair.server.accept())
    pair.client.close(0.0)
    assert pair.client.next_deadline() == 10.0  # the default close_timeout, not keepalive
