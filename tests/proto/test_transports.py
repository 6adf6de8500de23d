"""The contract the three transports share (``_connection.BaseConnection``): the same names, the
same events for the same situations, and support checks applied before anything is sent.

Each test runs against WebSocketConnection, HttpConnection and EmbeddedConnection. A driver per
transport plays the peer with real bytes: the fake WebSocket server, the h11 HTTP peer, and
CBOR replies as the embedded engine's ``execute()`` returns them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from surreal_proto._codec import encode
from surreal_proto._connection import BaseConnection
from surreal_proto._embedded import EmbeddedConnection, EmbeddedMessage
from surreal_proto._errors import LocalProtocolError, NotFoundError, UnsupportedFeatureError
from surreal_proto._events import (
    AnyEvent,
    Connected,
    ConnectionClosed,
    ErrorReceived,
    RequestFailed,
    RequestId,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._state import ConnectionState
from surreal_proto._version import ServerVersion, Transport

from .helpers import ClientServerPair, server_map
from .http_peer import HttpPeer

SESSION = UUID("5b4b5a36-1c39-4ff1-a0a3-000000000001")
TXN = UUID("018e3e5c-0000-7000-8000-000000000000")
LIVE = UUID("018e3e5c-0000-7000-8000-00000000000a")
TOKENS = {"access": "a.b.c", "refresh": "surreal-refresh-x"}
NOT_FOUND = {"code": -32000, "kind": "NotFound", "message": "The table 'person' does not exist",
             "details": {"kind": "Table"}}

#: The public names every transport has (``_connection`` module docstring).
SHARED_NAMES = ("state", "server_version", "pending_count", "pending_requests", "send_request",
                "abandon", "connect", "close", "events", "next_deadline", "handle_timeout")


class Driver(ABC):
    """One transport's connection plus the peer at the other end."""

    transport: Transport
    conn: BaseConnection

    @abstractmethod
    def open(self) -> list[AnyEvent]:
        """Connect and complete whatever handshake there is; return the events."""

    @abstractmethod
    def sent(self) -> int:
        """Move the client's output to the peer; return how many requests went out."""

    @abstractmethod
    def answer(self, request_id: RequestId, body: dict[str, Any]) -> list[AnyEvent]:
        """The peer answers ``request_id`` with ``{result}`` or ``{error}``; return events."""

    @abstractmethod
    def close(self, now: float) -> list[AnyEvent]:
        """Close, complete any closing handshake, and return all the events."""


class WsDriver(Driver):
    transport = "ws"

    def __init__(self, **options: Any) -> None:
        options.setdefault("keepalive_interval", None)
        self.pair = ClientServerPair(**options)
        self.conn = self.pair.client

    def open(self) -> list[AnyEvent]:
        return self.pair.open()

    def sent(self) -> int:
        before = len(self.pair.server.requests)
        self.pair.flush()
        return len(self.pair.server.requests) - before

    def answer(self, request_id: RequestId, body: dict[str, Any]) -> list[AnyEvent]:
        self.pair.flush()
        return self.pair.deliver(self.pair.server.message(server_map({"id": request_id,
                                                                      **body})))

    def close(self, now: float) -> list[AnyEvent]:
        self.pair.client.close(now)
        self.pair.flush()  # the server answers our Close with its own
        return self.pair.client.events() + self.pair.deliver(self.pair.server.take(), now)


class HttpDriver(Driver):
    transport = "http"

    def __init__(self, **options: Any) -> None:
        self.conn = self.client = HttpConnection("db.example:8000",
                                                 context=HttpContext(namespace="n"), **options)
        self.peer = HttpPeer()

    def open(self) -> list[AnyEvent]:
        self.client.connect(0.0)
        return self.client.events()

    def sent(self) -> int:
        return len(self.peer.receive(self.client.data_to_send()))

    def answer(self, request_id: RequestId, body: dict[str, Any]) -> list[AnyEvent]:
        # One exchange at a time: the tests answer requests in the order they were started.
        self.sent()
        self.client.receive_data(self.peer.respond(200, encode(body),
                                                   content_type="application/cbor"), 0.0)
        return self.client.events()

    def close(self, now: float) -> list[AnyEvent]:
        self.client.close(now)
        return self.client.events()


class EmbeddedDriver(Driver):
    transport = "embedded"

    def __init__(self, **options: Any) -> None:
        self.conn = self.client = EmbeddedConnection(**options)
        self.taken: list[EmbeddedMessage] = []

    def open(self) -> list[AnyEvent]:
        self.client.connect(0.0)
        return self.client.events()

    def sent(self) -> int:
        taken = self.client.messages_to_send()
        self.taken += taken
        return len(taken)

    def answer(self, request_id: RequestId, body: dict[str, Any]) -> list[AnyEvent]:
        # What execute() returns: the reply envelope, id included (protocol.md §9.4).
        self.sent()
        self.client.receive_message(encode({"id": request_id, **body}), 0.0,
                                    request_id=request_id)
        return self.client.events()

    def close(self, now: float) -> list[AnyEvent]:
        self.client.close(now)
        return self.client.events()


DRIVERS: dict[Transport, Callable[..., Driver]] = {
    "ws": WsDriver, "http": HttpDriver, "embedded": EmbeddedDriver}


@pytest.fixture(params=list(DRIVERS))
def make(request: pytest.FixtureRequest) -> Callable[..., Driver]:
    """Builds a driver for the transport under test (``make(**options)``)."""
    factory: Callable[..., Driver] = DRIVERS[request.param]
    return factory


@pytest.fixture
def opened(make: Callable[..., Driver]) -> Driver:
    driver = make()
    driver.open()
    return driver


def state_of(conn: BaseConnection) -> ConnectionState:
    return conn.state  # read through a call, so mypy does not keep a narrowed type


# --------------------------------------------------------------------------- names


def test_same_public_names(make: Callable[..., Driver]) -> None:
    conn = make().conn
    assert isinstance(conn, BaseConnection)
    for name in SHARED_NAMES:
        assert hasattr(conn, name), name
    # One send_request for all: the support checks live in exactly one place.
    assert type(conn).send_request is BaseConnection.send_request
    assert conn.server_version is None
    assert conn.pending_requests() == []
    assert conn.next_deadline() is None


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle(make: Callable[..., Driver]) -> None:
    driver = make()
    conn = driver.conn
    assert conn.state is ConnectionState.IDLE
    with pytest.raises(LocalProtocolError):
        conn.ping(now=0.0)
    assert state_of(conn) is ConnectionState.IDLE
    events = driver.open()
    assert isinstance(events[-1], Connected)
    assert events[-1].subprotocol == "cbor"
    assert state_of(conn) is ConnectionState.OPEN
    events = driver.close(1.0)
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed)
    assert (closed.error, closed.unanswered) == (None, ())
    assert state_of(conn) is ConnectionState.CLOSED
    assert driver.close(2.0) == []  # idempotent
    with pytest.raises(LocalProtocolError):
        conn.ping(now=3.0)
    with pytest.raises(LocalProtocolError):
        conn.connect(3.0)


def test_close_before_connect(make: Callable[..., Driver]) -> None:
    driver = make()
    (closed,) = driver.close(0.0)
    assert isinstance(closed, ConnectionClosed)
    assert closed.error is None
    assert driver.conn.state is ConnectionState.CLOSED


def test_close_fails_every_pending_request(opened: Driver) -> None:
    conn = opened.conn
    a = conn.ping(now=0.0)
    b = conn.info(now=0.0)
    opened.sent()
    *failed, closed = opened.close(1.0)
    assert [(type(e), e.request_id) for e in failed] == [  # type: ignore[union-attr]
        (RequestFailed, a), (RequestFailed, b)]
    assert isinstance(closed, ConnectionClosed)
    assert closed.error is None
    assert [u.request_id for u in closed.unanswered] == [a, b]
    assert conn.pending_count == 0


# --------------------------------------------------------------------------- outcomes


def test_reply_and_error_reply(opened: Driver) -> None:
    conn = opened.conn
    rid = conn.ping(now=0.0)
    assert conn.pending_count == 1
    assert [p.request_id for p in conn.pending_requests()] == [rid]
    assert opened.answer(rid, {"result": "pong"}) == [
        ResponseReceived(request_id=rid, method="ping", result="pong")]
    rid = conn.select("person", now=0.0)
    (event,) = opened.answer(rid, {"error": NOT_FOUND})
    assert isinstance(event, ErrorReceived)
    assert (event.request_id, event.method) == (rid, "select")
    assert isinstance(event.error, NotFoundError)
    assert conn.pending_count == 0


def test_timeout(opened: Driver) -> None:
    conn = opened.conn
    rid = conn.ping(timeout=1.0, now=0.0)
    opened.sent()
    assert conn.next_deadline() == 1.0
    conn.handle_timeout(0.5)
    assert conn.events() == []
    conn.handle_timeout(1.0)
    # (HTTP then closes the connection: h11 cannot cancel the exchange in progress.)
    assert conn.events()[0] == RequestTimedOut(request_id=rid, method="ping")
    assert conn.pending_count == 0


def test_abandon_emits_nothing_for_that_request(opened: Driver) -> None:
    conn = opened.conn
    rid = conn.ping(now=0.0)
    opened.sent()
    conn.abandon(rid)
    conn.abandon(12345)  # unknown: ignored
    events = conn.events() + opened.answer(rid, {"result": "late"})
    assert not [e for e in events if getattr(e, "request_id", None) == rid]
    assert conn.pending_count == 0


def test_default_timeout(make: Callable[..., Driver]) -> None:
    driver = make(default_timeout=30.0)
    driver.open()
    driver.conn.ping(now=1.0)
    assert driver.conn.next_deadline() == 31.0


# --------------------------------------------------------------------------- support checks

CALLS: dict[str, Callable[[BaseConnection], RequestId]] = {
    "live": lambda c: c.live("person", now=0.0),
    "kill": lambda c: c.kill(LIVE, now=0.0),
    "begin": lambda c: c.begin(now=0.0),
    "commit": lambda c: c.commit(TXN, now=0.0),
    "cancel": lambda c: c.cancel(TXN, now=0.0),
    "attach": lambda c: c.attach(SESSION, now=0.0),
    "detach": lambda c: c.detach(SESSION, now=0.0),
    "sessions": lambda c: c.sessions(now=0.0),
    "txn field": lambda c: c.query("RETURN 1", txn=TXN, now=0.0),
    "session field": lambda c: c.query("RETURN 1", session=SESSION, now=0.0),
    "raw live": lambda c: c.send_request("live", ["person"], now=0.0),
}
REFUSED: dict[Transport, set[str]] = {
    "ws": set(),
    "http": set(CALLS),
    "embedded": {"live", "kill", "begin", "commit", "cancel", "txn field", "raw live"},
}


@pytest.mark.parametrize("call", list(CALLS))
def test_transport_support(opened: Driver, call: str) -> None:
    conn = opened.conn
    if call in REFUSED[opened.transport]:
        with pytest.raises(UnsupportedFeatureError):
            CALLS[call](conn)
        assert opened.sent() == 0
        assert conn.pending_count == 0
        assert conn.events() == []
    else:
        CALLS[call](conn)
        assert opened.sent() == 1
        assert conn.pending_count == 1
    assert state_of(conn) is ConnectionState.OPEN


#: What a 2.1 server lacks (protocol.md §4.1); a 2.x server would ignore the session and txn
#: fields (§2.4) and run the call elsewhere, so those are refused too.
TOO_NEW: dict[str, Callable[[BaseConnection], RequestId]] = {
    "refresh": lambda c: c.refresh(TOKENS, now=0.0),
    "reset": lambda c: c.send_request("reset", now=0.0),
    **{name: CALLS[name] for name in ("attach", "begin", "session field", "txn field")},
}


@pytest.mark.parametrize("call", list(TOO_NEW))
def test_too_old_server(opened: Driver, call: str) -> None:
    conn = opened.conn
    rid = conn.version(now=0.0)
    opened.answer(rid, {"result": "surrealdb-2.1.0"})
    version = conn.server_version
    assert isinstance(version, ServerVersion)
    assert version == (2, 1, 0)
    assert version >= (2, 0, 0)
    with pytest.raises(UnsupportedFeatureError):
        TOO_NEW[call](conn)
    assert opened.sent() == 0
    assert conn.pending_count == 0
    # What the server has still goes out.
    conn.upsert("person:1", {"a": 1}, now=0.0)
    assert conn.pending_count == 1
