"""EmbeddedConnection against the REAL in-process engine (``surrealdb-embedded``).

The core stays pure; the test itself plays the adapter: it takes ``messages_to_send()``, runs
each through ``SyncEmbeddedDB.execute`` and feeds the reply back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from surreal_proto import (
    InternalError,
    LocalProtocolError,
    NotAllowedError,
    RemoteProtocolError,
    UnsupportedFeatureError,
    ValidationError,
)
from surreal_proto._codec import encode
from surreal_proto._embedded import EmbeddedConnection, EmbeddedMessage
from surreal_proto._events import (
    AnyEvent,
    Connected,
    ConnectionClosed,
    ErrorReceived,
    ProtocolViolation,
    RequestFailed,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._recordid import RecordID
from surreal_proto._state import ConnectionState

embedded = pytest.importorskip("surrealdb_embedded")


class Driver:
    """What an adapter does, in a few lines."""

    def __init__(self) -> None:
        self.engine = embedded.SyncEmbeddedDB("mem://")
        self.conn = EmbeddedConnection()
        self.conn.connect(0.0)
        assert self.conn.events() == [Connected(subprotocol="cbor")]

    def pump(self, now: float = 0.0) -> list[AnyEvent]:
        for message in self.conn.messages_to_send():
            try:
                reply = self.engine.execute(message.data)
            except Exception as exc:
                self.conn.receive_failure(message.request_id, exc)
            else:
                self.conn.receive_message(reply, now, request_id=message.request_id)
        return self.conn.events()

    def call(self, method: str, *params: Any, **kwargs: Any) -> AnyEvent:
        rid = self.conn.send_request(method, params, now=0.0, **kwargs)
        events = self.pump()
        assert len(events) == 1, events
        assert getattr(events[0], "request_id", None) == rid
        return events[0]

    def result(self, method: str, *params: Any, **kwargs: Any) -> Any:
        event = self.call(method, *params, **kwargs)
        assert isinstance(event, ResponseReceived), event
        return event.result


@pytest.fixture
def db() -> Iterator[Driver]:
    driver = Driver()
    yield driver
    driver.conn.close(0.0)
    driver.engine.close()


def test_version(db: Driver) -> None:
    assert db.result("version").startswith("surrealdb-3.")
    version = db.conn.server_version
    assert version is not None
    assert version.major == 3
    assert version >= (3, 0, 0)


def test_signin_and_use(db: Driver) -> None:
    assert db.result("use", "test", "test") == {"namespace": "test", "database": "test"}
    db.result("query", "DEFINE USER admin ON ROOT PASSWORD 'pw' ROLES OWNER")
    token = db.result("signin", {"user": "admin", "pass": "pw"})
    assert isinstance(token, str)
    assert token.count(".") == 2  # a JWT
    wrong = db.call("signin", {"user": "admin", "pass": "nope"})
    assert isinstance(wrong, ErrorReceived)
    assert isinstance(wrong.error, NotAllowedError)


def test_query_and_bound_variables(db: Driver) -> None:
    db.result("use", "test", "test")
    rid = RecordID("person", 1)
    [statement] = db.result("query", "CREATE $id SET name = $name RETURN id, name",
                            {"id": rid, "name": "Ada"})
    assert statement["status"] == "OK"
    assert statement["result"] == [{"id": rid, "name": "Ada"}]
    assert db.result("select", rid) == {"id": rid, "name": "Ada"}
    db.result("let", "who", "Ada")
    [found] = db.result("query", "SELECT VALUE id FROM person WHERE name = $who")
    assert found["result"] == [rid]


def test_error_reply(db: Driver) -> None:
    db.result("use", "test", "test")
    event = db.call("query", "SELEC nonsense FROM")
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, ValidationError)
    assert "Parse error" in event.error.message


def test_sessions_are_allowed(db: Driver) -> None:
    session = uuid.uuid4()
    assert db.result("attach", session=session) is None
    assert db.result("use", "s", "s", session=session) == {"namespace": "s", "database": "s"}
    assert session in db.result("sessions")


@pytest.mark.parametrize(("method", "params", "kwargs"), [
    ("live", ("person",), {}),
    ("kill", (uuid.UUID(int=1),), {}),
    ("begin", (), {}),
    ("commit", (uuid.UUID(int=1),), {}),
    ("cancel", (uuid.UUID(int=1),), {}),
    ("query", ("RETURN 1",), {"txn": uuid.UUID(int=1)}),
])
def test_unsupported_features(db: Driver, method: str, params: tuple[Any, ...],
                              kwargs: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedFeatureError):
        db.conn.send_request(method, params, now=0.0, **kwargs)
    assert db.conn.messages_to_send() == []
    assert db.conn.pending_count == 0


def test_engine_value_error_becomes_an_error_event(db: Driver) -> None:
    rid = db.conn.ping(now=0.0)
    [message] = db.conn.messages_to_send()
    with pytest.raises(ValueError, match="decode CBOR") as info:
        db.engine.execute(message.data[:3])  # a truncated request: the wrapper raises
    db.conn.receive_failure(rid, info.value)
    [event] = db.conn.events()
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, ValidationError)
    assert event.error.__cause__ is info.value
    assert db.conn.pending_count == 0
    db.conn.receive_failure(rid, info.value)  # already settled: ignored
    assert db.conn.events() == []


def test_other_engine_exceptions_are_internal() -> None:
    conn = _open()
    rid = conn.ping(now=0.0)
    conn.messages_to_send()
    conn.receive_failure(rid, RuntimeError("x" * 1000))
    [event] = conn.events()
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, InternalError)
    assert len(str(event.error)) < 400


# --------------------------------------------------------------------------- pure behaviour


def _open() -> EmbeddedConnection:
    conn = EmbeddedConnection()
    conn.connect(0.0)
    conn.events()
    return conn


def test_message_repr_hides_the_payload() -> None:
    conn = _open()
    conn.signin({"user": "root", "pass": "hunter2"}, now=0.0)
    [message] = conn.messages_to_send()
    assert isinstance(message, EmbeddedMessage)
    assert b"hunter2" in message.data
    assert "hunter2" not in repr(message)


def test_replies_in_any_order_and_by_own_id() -> None:
    conn = _open()
    a = conn.ping(now=0.0)
    b = conn.info(now=0.0)
    first, second = conn.messages_to_send()
    assert (first.request_id, second.request_id) == (a, b)
    conn.receive_message(encode({"id": b, "result": "B"}), 0.0)
    conn.receive_message(encode({"id": a, "result": None}), 0.0, request_id=a)
    assert conn.events() == [ResponseReceived(request_id=b, method="info", result="B"),
                             ResponseReceived(request_id=a, method="ping", result=None)]


def test_bad_reply_fails_that_request() -> None:
    conn = _open()
    rid = conn.ping(now=0.0)
    conn.messages_to_send()
    conn.receive_message(b"\xff", 0.0, request_id=rid)
    [event] = conn.events()
    assert isinstance(event, RequestFailed)
    assert isinstance(event.error, RemoteProtocolError)
    other = conn.ping(now=0.0)
    conn.messages_to_send()
    conn.receive_message(b"\xff", 0.0)  # without the id: only a violation
    [violation] = conn.events()
    assert isinstance(violation, ProtocolViolation)
    assert conn.pending_count == 1
    conn.abandon(other)


def test_abandon_and_timeouts() -> None:
    conn = EmbeddedConnection(default_timeout=5.0)
    conn.connect(0.0)
    conn.events()
    gone = conn.ping(now=0.0)
    conn.abandon(gone)
    assert conn.messages_to_send() == []  # never executed
    late = conn.ping(now=0.0)
    assert conn.next_deadline() == 5.0
    [message] = conn.messages_to_send()
    conn.handle_timeout(5.0)
    assert conn.events() == [RequestTimedOut(request_id=late, method="ping")]
    conn.receive_message(encode({"id": late, "result": None}), 6.0, request_id=late)
    conn.receive_failure(message.request_id, ValueError("late"))
    assert conn.events() == []  # late outcomes are dropped
    queued = conn.ping(timeout=1.0, now=10.0)
    conn.handle_timeout(11.0)
    assert conn.events() == [RequestTimedOut(request_id=queued, method="ping")]
    assert conn.messages_to_send() == []


def test_close_and_lifecycle() -> None:
    conn = EmbeddedConnection()
    assert conn.state is ConnectionState.IDLE
    with pytest.raises(LocalProtocolError):
        conn.ping(now=0.0)
    with pytest.raises(LocalProtocolError):
        conn.receive_message(b"", 0.0)
    conn.connect(0.0)
    conn.events()
    sent = conn.ping(now=0.0)
    conn.messages_to_send()
    unsent = conn.ping(now=0.0)
    conn.close(1.0)
    f1, f2, closed = conn.events()
    assert isinstance(f1, RequestFailed)
    assert isinstance(f2, RequestFailed)
    assert (f1.request_id, f2.request_id) == (sent, unsent)
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.error) == (1000, None)
    assert [(u.request_id, u.sent) for u in closed.unanswered] == [(sent, True),
                                                                     (unsent, False)]
    assert conn.messages_to_send() == []
    conn.close(2.0)  # idempotent
    conn.receive_message(encode({"id": sent, "result": 1}), 2.0, request_id=sent)
    conn.receive_failure(sent, ValueError("x"))
    assert conn.events() == []
    with pytest.raises(LocalProtocolError):
        conn.ping(now=3.0)


def test_close_before_connect() -> None:
    conn = EmbeddedConnection()
    conn.close(0.0)
    [closed] = conn.events()
    assert isinstance(closed, ConnectionClosed)
    assert conn.pending_requests() == []
