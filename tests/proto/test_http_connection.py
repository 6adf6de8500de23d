"""HttpConnection: real HTTP/1.1 server bytes in (h11 in SERVER mode), events out."""

from __future__ import annotations

import uuid
from typing import Any

import cbor2
import pytest

from surreal_proto import (
    ConnectionClosedError,
    EncodingError,
    HandshakeError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    QueryError,
    RemoteProtocolError,
    TokenExpiredError,
    UnsupportedFeatureError,
    ValidationError,
)
from surreal_proto._codec import encode
from surreal_proto._events import (
    AnyEvent,
    Connected,
    ConnectionClosed,
    ErrorReceived,
    RequestFailed,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._http import BasicAuth
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._state import ConnectionState
from surreal_proto._values import NULL
from surreal_proto._version import ServerVersion

from .http_peer import HttpPeer, ReceivedRequest

TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjF9.c2VjcmV0LXNpZ25hdHVyZQ"
NEW_TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjJ9.bmV3LXNpZ25hdHVyZQ"


class Pair:
    """A client HttpConnection wired to a fake server peer."""

    def __init__(self, bytewise: bool = False, **kwargs: Any) -> None:
        self.bytewise = bytewise
        kwargs.setdefault("context", HttpContext(namespace="ns", database="db"))
        self.client = HttpConnection("db.example:8000", **kwargs)
        self.peer = HttpPeer()
        self.client.connect(0.0)
        assert self.client.events() == [Connected(subprotocol="cbor")]

    def flush(self) -> list[ReceivedRequest]:
        return self.peer.receive(self.client.data_to_send())

    def one(self) -> ReceivedRequest:
        requests = self.flush()
        assert len(requests) == 1
        return requests[0]

    def deliver(self, data: bytes, now: float = 0.0) -> list[AnyEvent]:
        if self.bytewise:
            for i in range(len(data)):
                self.client.receive_data(data[i:i + 1], now)
        else:
            self.client.receive_data(data, now)
        return self.client.events()


@pytest.fixture(params=[False, True], ids=["whole", "bytewise"])
def pair(request: pytest.FixtureRequest) -> Pair:
    return Pair(bytewise=request.param)


# Read properties through functions, so mypy does not keep a narrowed type across calls.
def version_of(client: HttpConnection) -> ServerVersion | None:
    return client.server_version


def state_of(client: HttpConnection) -> ConnectionState:
    return client.state


def token_of(ctx: HttpContext) -> str | None:
    return ctx.token


def only(events: list[AnyEvent]) -> AnyEvent:
    assert len(events) == 1, events
    return events[0]


# --------------------------------------------------------------------------- basics


def test_round_trip_and_wire_shape(pair: Pair) -> None:
    rid = pair.client.query("RETURN $x", {"x": 1}, now=0.0)
    req = pair.one()
    assert (req.method, req.target) == ("POST", "/rpc")
    h = req.headers
    assert h["host"] == "db.example:8000"
    assert h["content-type"] == h["accept"] == "application/cbor"
    assert (h["surreal-ns"], h["surreal-db"]) == ("ns", "db")
    assert "authorization" not in h
    assert h["content-length"] == str(len(req.body))
    envelope = req.envelope()
    assert (envelope["method"], envelope["params"]) == ("query", ["RETURN $x", {"x": 1}])
    event = only(pair.deliver(pair.peer.rpc_result([{"result": 1, "status": "OK"}])))
    assert event == ResponseReceived(request_id=rid, method="query",
                                     result=[{"result": 1, "status": "OK"}])
    assert pair.client.idle
    assert pair.client.pending_count == 0


def test_error_reply_in_200(pair: Pair) -> None:
    rid = pair.client.select("person", now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.rpc_error(
        {"code": -32000, "kind": "NotFound", "message": "The table 'person' does not exist",
         "details": {"kind": "Table"}})))
    assert isinstance(event, ErrorReceived)
    assert event.request_id == rid
    assert event.error.kind == "NotFound"


def test_queueing_order_and_keep_alive(pair: Pair) -> None:
    ids = [pair.client.ping(now=0.0), pair.client.info(now=0.0), pair.client.version(now=0.0)]
    assert pair.client.pending_count == 3
    for i, rid in enumerate(ids):
        req = pair.one()  # exactly one request on the wire at a time
        assert req.envelope()["method"] == ["ping", "info", "version"][i]
        assert pair.flush() == []
        event = only(pair.deliver(pair.peer.rpc_result(f"r{i}")))
        assert isinstance(event, ResponseReceived)
        assert (event.request_id, event.result) == (rid, f"r{i}")
    assert pair.client.state is ConnectionState.OPEN
    assert pair.client.idle


def test_two_responses_in_one_read() -> None:
    pair = Pair()
    a = pair.client.ping(now=0.0)
    b = pair.client.ping(now=0.0)
    pair.flush()
    first = pair.peer.rpc_result(1)
    pair.client.receive_data(first, 0.0)
    pair.flush()
    second = pair.peer.rpc_result(2)
    # a late second response glued to nothing in flight is a protocol error; glued to an
    # exchange in progress it is read normally
    events = pair.client.events()
    pair.client.receive_data(second, 0.0)
    events += pair.client.events()
    assert [e.request_id for e in events if isinstance(e, ResponseReceived)] == [a, b]


def test_informational_response_is_skipped(pair: Pair) -> None:
    rid = pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(b"HTTP/1.1 100 Continue\r\n\r\n" + pair.peer.rpc_result(None))
    assert only(events) == ResponseReceived(request_id=rid, method="ping", result=None)


def test_chunked_response(pair: Pair) -> None:
    rid = pair.client.ping(now=0.0)
    pair.flush()
    body = cbor2.dumps({"result": "x" * 50})
    raw = pair.peer.respond(200, body, content_type="application/cbor", chunked=True)
    assert only(pair.deliver(raw)) == ResponseReceived(request_id=rid, method="ping",
                                                       result="x" * 50)


def test_server_version_from_header_and_rpc(pair: Pair) -> None:
    assert version_of(pair.client) is None
    pair.client.ping(now=0.0)
    pair.flush()
    pair.deliver(pair.peer.rpc_result(None))
    assert pair.client.server_version == (3, 2, 4)  # the surreal-version header
    pair.client.version(now=0.0)
    pair.flush()
    pair.deliver(pair.peer.rpc_result("surrealdb-3.2.5"))
    assert pair.client.server_version == (3, 2, 5)


def test_server_version_header_garbage_is_ignored() -> None:
    pair = Pair()
    pair.client.ping(now=0.0)
    pair.flush()
    pair.deliver(pair.peer.respond(200, cbor2.dumps({"result": None}),
                                   headers=[("surreal-version", "nope")]))
    assert pair.client.server_version == (3, 2, 4)  # the peer's own header came first


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(("status", "body", "cls"), [
    (401, b"The token has expired", TokenExpiredError),
    (401, b"There was a problem with the database: The token has expired", TokenExpiredError),
    (401, b"There was a problem with authentication", InvalidAuthError),
    (403, b'{"code":403,"details":"Forbidden"}', NotAllowedError),
    (413, b"length limit exceeded", ValidationError),
    (415, b"", ValidationError),
    (400, b'{"information":"Parse error"}', ValidationError),
])
def test_status_errors_are_error_events(pair: Pair, status: int, body: bytes,
                                        cls: type[Exception]) -> None:
    rid = pair.client.ping(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.respond(status, body)))
    assert isinstance(event, ErrorReceived)
    assert event.request_id == rid
    assert type(event.error) is cls
    assert pair.client.idle  # the connection stays usable


def test_non_surrealdb_status_is_request_failed(pair: Pair) -> None:
    rid = pair.client.ping(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.plain(404, "Not Found")))
    assert isinstance(event, RequestFailed)
    assert event.request_id == rid
    assert isinstance(event.error, HandshakeError)
    assert event.error.status == 404


def test_token_is_scrubbed_from_401_text() -> None:
    pair = Pair(context=HttpContext(token=TOKEN))
    pair.client.info(now=0.0)
    assert pair.one().headers["authorization"] == f"Bearer {TOKEN}"
    event = only(pair.deliver(pair.peer.plain(401, f"bad token {TOKEN}")))
    assert isinstance(event, ErrorReceived)
    assert TOKEN not in str(event.error)


@pytest.mark.parametrize("body", [b"\xff\xfe", cbor2.dumps([1]), cbor2.dumps({"id": 1})])
def test_malformed_200_fails_only_that_request(pair: Pair, body: bytes) -> None:
    rid = pair.client.ping(now=0.0)
    nxt = pair.client.ping(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.respond(200, body, content_type="application/cbor")))
    assert isinstance(event, RequestFailed)
    assert event.request_id == rid
    assert isinstance(event.error, RemoteProtocolError)
    pair.flush()
    assert only(pair.deliver(pair.peer.rpc_result(1))) == ResponseReceived(
        request_id=nxt, method="ping", result=1)


def test_json_200_fails_the_request(pair: Pair) -> None:
    pair.client.ping(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.respond(200, b'{"result":1}',
                                                content_type="application/json")))
    assert isinstance(event, RequestFailed)
    assert "application/json" in str(event.error)


# --------------------------------------------------------------------------- connection end


def test_server_closes_keep_alive_after_reply(pair: Pair) -> None:
    first = pair.client.ping(now=0.0)
    queued = pair.client.create("t", {"a": 1}, now=0.0)
    pair.flush()
    events = pair.deliver(pair.peer.rpc_result(None, close=True))
    assert events[0] == ResponseReceived(request_id=first, method="ping", result=None)
    failed, closed = events[1:]
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == queued
    assert isinstance(failed.error, ConnectionClosedError)
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1000
    assert isinstance(closed.error, ConnectionClosedError)
    assert [(u.request_id, u.sent) for u in closed.unanswered] == [(queued, False)]
    assert pair.client.state is ConnectionState.CLOSED
    assert pair.client.data_to_send() == b""  # the queued request never went out


def test_eof_while_idle() -> None:
    pair = Pair()
    pair.client.receive_eof()
    closed = only(pair.client.events())
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.unanswered) == (1000, ())
    pair.client.receive_eof()  # idempotent
    assert pair.client.events() == []
    with pytest.raises(LocalProtocolError):
        pair.client.receive_data(b"x", 0.0)


def test_eof_mid_exchange() -> None:
    pair = Pair()
    rid = pair.client.create("t", now=0.0)
    pair.flush()
    pair.client.receive_data(pair.peer.head_only(200, content_length=10), 0.0)
    pair.client.receive_eof()
    failed, closed = pair.client.events()
    assert isinstance(failed, RequestFailed)
    assert isinstance(failed.error, ConnectionClosedError)
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1006
    assert [(u.request_id, u.method, u.sent) for u in closed.unanswered] == [
        (rid, "create", True)]


def test_eof_before_any_response_byte() -> None:
    pair = Pair()
    pair.client.ping(now=0.0)
    pair.flush()
    pair.client.receive_eof()
    events = pair.client.events()
    assert isinstance(events[-1], ConnectionClosed)
    assert events[-1].code == 1006


def test_reply_delimited_by_eof() -> None:
    pair = Pair()
    rid = pair.client.ping(now=0.0)
    queued = pair.client.ping(now=0.0)
    pair.flush()
    body = cbor2.dumps({"result": 7})
    pair.client.receive_data(b"HTTP/1.1 200 OK\r\ncontent-type: application/cbor\r\n\r\n" + body,
                             0.0)
    assert pair.client.events() == []
    pair.client.receive_eof()
    done, failed, closed = pair.client.events()
    assert done == ResponseReceived(request_id=rid, method="ping", result=7)
    assert isinstance(failed, RequestFailed)
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1000
    # the queued request was never written
    assert pair.client.data_to_send() == b""
    assert [(u.request_id, u.sent) for u in closed.unanswered] == [(queued, False)]


def test_http10_reply_ends_the_connection() -> None:
    pair = Pair()
    pair.client.ping(now=0.0)
    pair.flush()
    body = cbor2.dumps({"result": 1})
    events = pair.deliver(b"HTTP/1.0 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
    assert isinstance(events[0], ResponseReceived)
    assert isinstance(events[1], ConnectionClosed)


def test_broken_framing_fails_the_connection(pair: Pair) -> None:
    rid = pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(b"HTTP/1.1 2x0 what\r\n\r\n")
    failed, closed = events
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == rid
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1002
    assert isinstance(closed.error, RemoteProtocolError)
    assert pair.client.state is ConnectionState.CLOSED
    pair.client.receive_data(b"more", 0.0)  # discarded
    assert pair.client.events() == []


def test_bytes_with_nothing_outstanding() -> None:
    pair = Pair()
    pair.client.receive_data(b"", 0.0)  # nothing: not EOF
    assert pair.client.events() == []
    pair.client.receive_data(b"HTTP/1.1 200 OK\r\n", 0.0)
    closed = only(pair.client.events())
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1002


def test_response_too_large_by_content_length() -> None:
    pair = Pair(max_response_size=100)
    pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(pair.peer.head_only(200, content_length=101))
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1009
    assert "max_response_size" in str(closed.error)


def test_response_too_large_while_streaming(pair: Pair) -> None:
    pair.client.close(0.0)
    pair = Pair(bytewise=pair.bytewise, max_response_size=100)
    pair.client.ping(now=0.0)
    pair.flush()
    events = pair.deliver(pair.peer.respond(200, b"\x00" * 300, chunked=True))
    assert isinstance(events[-1], ConnectionClosed)
    assert events[-1].code == 1009


def test_unlimited_response_size() -> None:
    pair = Pair(max_response_size=None)
    rid = pair.client.ping(now=0.0)
    pair.flush()
    assert only(pair.deliver(pair.peer.rpc_result("y" * 1000))) == ResponseReceived(
        request_id=rid, method="ping", result="y" * 1000)


def test_close() -> None:
    pair = Pair()
    a = pair.client.ping(now=0.0)
    b = pair.client.ping(now=0.0)
    pair.flush()
    pair.client.close(1.0)
    fa, fb, closed = pair.client.events()
    assert isinstance(fa, RequestFailed)
    assert isinstance(fb, RequestFailed)
    assert (fa.request_id, fb.request_id) == (a, b)
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.error) == (1000, None)
    assert [u.sent for u in closed.unanswered] == [True, False]
    pair.client.close(2.0)  # idempotent
    assert pair.client.events() == []
    with pytest.raises(LocalProtocolError):
        pair.client.ping(now=3.0)
    with pytest.raises(LocalProtocolError):
        pair.client.connect(3.0)


def test_lifecycle_misuse() -> None:
    client = HttpConnection("h")
    assert state_of(client) is ConnectionState.IDLE
    with pytest.raises(LocalProtocolError):
        client.ping(now=0.0)
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"x", 0.0)
    with pytest.raises(LocalProtocolError):
        client.receive_eof()
    with pytest.raises(LocalProtocolError):
        client.send_health(now=0.0)
    client.close(0.0)
    closed = only(client.events())
    assert isinstance(closed, ConnectionClosed)
    assert client.state is ConnectionState.CLOSED
    assert not client.idle


@pytest.mark.parametrize("host", ["", "a b", "h/x", "h\r\n"])
def test_bad_host(host: str) -> None:
    with pytest.raises(LocalProtocolError):
        HttpConnection(host)


def test_base_path() -> None:
    with pytest.raises(LocalProtocolError):
        HttpConnection("h", base_path="db")
    pair = Pair(base_path="/db/")
    pair.client.ping(now=0.0)
    pair.client.close(0.0)
    assert pair.flush()[0].target == "/db/rpc"


# --------------------------------------------------------------------------- deadlines


def test_in_flight_timeout_closes_the_connection(pair: Pair) -> None:
    rid = pair.client.ping(timeout=5.0, now=10.0)
    queued = pair.client.ping(timeout=None, now=10.0)
    pair.flush()
    assert pair.client.next_deadline() == 15.0
    pair.client.handle_timeout(14.9)
    assert pair.client.events() == []
    pair.client.handle_timeout(15.0)
    timed_out, failed, closed = pair.client.events()
    assert timed_out == RequestTimedOut(request_id=rid, method="ping")
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == queued
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.error) == (1000, None)
    assert [(u.request_id, u.sent) for u in closed.unanswered] == [(queued, False)]
    assert pair.client.next_deadline() is None


def test_queued_timeout_is_never_sent(pair: Pair) -> None:
    first = pair.client.ping(timeout=None, now=0.0)
    late = pair.client.ping(timeout=1.0, now=0.0)
    third = pair.client.info(now=0.0)
    pair.flush()
    pair.client.handle_timeout(2.0)
    assert pair.client.events() == [RequestTimedOut(request_id=late, method="ping")]
    assert pair.client.state is ConnectionState.OPEN
    assert only(pair.deliver(pair.peer.rpc_result(1))) == ResponseReceived(
        request_id=first, method="ping", result=1)
    req = pair.one()
    assert req.envelope()["method"] == "info"
    assert only(pair.deliver(pair.peer.rpc_result(3))) == ResponseReceived(
        request_id=third, method="info", result=3)


def test_default_timeout() -> None:
    pair = Pair(default_timeout=30.0)
    assert pair.client.next_deadline() is None
    pair.client.handle_timeout(100.0)  # nothing to do while idle
    pair.client.ping(now=1.0)
    assert pair.client.next_deadline() == 31.0
    assert pair.client.events() == []


def test_abandon_queued_and_in_flight(pair: Pair) -> None:
    first = pair.client.ping(now=0.0)
    second = pair.client.ping(now=0.0)
    third = pair.client.ping(now=0.0)
    pair.flush()
    pair.client.abandon(second)  # queued: silently never sent
    pair.client.abandon(12345)  # unknown: ignored
    assert pair.client.events() == []
    assert pair.client.pending_count == 2
    assert [p.request_id for p in pair.client.pending_requests()] == [first, third]
    pair.client.abandon(first)  # in flight: the connection closes
    failed, closed = pair.client.events()
    assert isinstance(failed, RequestFailed)
    assert failed.request_id == third
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.error) == (1000, None)
    pair.client.abandon(third)  # after the end: ignored
    assert pair.client.events() == []


# --------------------------------------------------------------------------- local answers


def test_use_is_local_and_changes_later_headers(pair: Pair) -> None:
    rid = pair.client.use("other", "base", now=0.0)
    assert pair.client.data_to_send() == b""
    assert only(pair.client.events()) == ResponseReceived(
        request_id=rid, method="use", result={"namespace": "other", "database": "base"})
    assert pair.client.pending_count == 0
    pair.client.ping(now=0.0)
    h = pair.one().headers
    assert (h["surreal-ns"], h["surreal-db"]) == ("other", "base")


@pytest.mark.parametrize(("params", "expect"), [
    ((None, "db2"), ("ns", "db2")),  # NONE leaves the namespace unchanged
    (("ns2", None), ("ns2", "db")),
    ((NULL, None), (None, None)),  # unsetting the namespace clears the database
    ((NULL, NULL), (None, None)),
    (("a", NULL), ("a", None)),
])
def test_use_none_and_null(params: tuple[Any, Any], expect: tuple[Any, Any]) -> None:
    pair = Pair()
    pair.client.send_request("use", params, now=0.0)
    event = only(pair.client.events())
    assert isinstance(event, ResponseReceived)
    ctx = pair.client.context
    assert (ctx.namespace, ctx.database) == expect


@pytest.mark.parametrize("params", [
    ("a",), ("a", "b", "c"), (1, "b"), (NULL, "db"),
])
def test_use_invalid_answers_with_error(params: tuple[Any, ...]) -> None:
    pair = Pair()
    rid = pair.client.send_request("use", params, now=0.0)
    event = only(pair.client.events())
    assert isinstance(event, ErrorReceived)
    assert event.request_id == rid
    assert isinstance(event.error, ValidationError)
    assert (pair.client.context.namespace, pair.client.context.database) == ("ns", "db")


def test_use_with_no_namespace_and_a_database() -> None:
    pair = Pair(context=HttpContext())
    pair.client.use(None, "db", now=0.0)
    event = only(pair.client.events())
    assert isinstance(event, ErrorReceived)
    assert "without first selecting a namespace" in str(event.error)


def test_use_with_a_name_http_cannot_carry() -> None:
    pair = Pair()
    with pytest.raises(LocalProtocolError):
        pair.client.use("ns\r\nX: y", "db", now=0.0)
    assert pair.client.events() == []
    assert pair.client.context.namespace == "ns"


def test_let_merges_into_query_vars(pair: Pair) -> None:
    pair.client.let("x", 5, now=0.0)
    pair.client.send_request("set", ("y", "why"), now=0.0)
    events = pair.client.events()
    assert [type(e) for e in events] == [ResponseReceived, ResponseReceived]
    assert pair.client.context.variables == {"x": 5, "y": "why"}
    pair.client.query("RETURN $x", {"x": 9}, now=0.0)
    # 3.x precedence: the call's vars override session variables (§4.4)
    assert pair.one().envelope()["params"] == ["RETURN $x", {"x": 9, "y": "why"}]
    pair.deliver(pair.peer.rpc_result([]))
    pair.client.query("RETURN $x", now=0.0)
    assert pair.one().envelope()["params"] == ["RETURN $x", {"x": 5, "y": "why"}]
    pair.deliver(pair.peer.rpc_result([]))
    pair.client.send_request("query", ("RETURN 1", NULL), now=0.0)
    assert pair.one().envelope()["params"] == ["RETURN 1", {"x": 5, "y": "why"}]
    pair.deliver(pair.peer.rpc_result([]))
    # not a map: sent as given for the server to refuse
    pair.client.send_request("query", ("RETURN 1", [1]), now=0.0)
    assert pair.one().envelope()["params"] == ["RETURN 1", [1]]
    pair.deliver(pair.peer.rpc_result([]))
    pair.client.send_request("query", (), now=0.0)
    assert pair.one().envelope()["params"] == []


def test_let_none_and_unset_remove(pair: Pair) -> None:
    pair.client.let("x", 1, now=0.0)
    pair.client.let("y", 2, now=0.0)
    pair.client.let("x", None, now=0.0)  # NONE removes (§4.2)
    pair.client.send_request("let", ("z",), now=0.0)  # no value: removes (absent anyway)
    pair.client.unset("y", now=0.0)
    pair.client.unset("never", now=0.0)  # no KeyError
    assert all(isinstance(e, ResponseReceived) for e in pair.client.events())
    assert pair.client.context.variables == {}
    pair.client.query("RETURN 1", now=0.0)
    assert pair.one().envelope()["params"] == ["RETURN 1"]


@pytest.mark.parametrize(("method", "params", "text"), [
    ("let", ("auth", 1), "protected"),
    ("let", (), "Invalid params"),
    ("let", (1, 2), "Invalid params"),
    ("let", ("a", 1, 2), "Invalid params"),
    ("unset", ("a", 1), "Invalid params"),
    ("unset", ("token",), "protected"),
])
def test_let_unset_validation(method: str, params: tuple[Any, ...], text: str) -> None:
    pair = Pair()
    pair.client.send_request(method, params, now=0.0)
    event = only(pair.client.events())
    assert isinstance(event, ErrorReceived)
    assert text in str(event.error)
    assert pair.client.context.variables == {}


def test_let_unencodable_value_raises_and_changes_nothing() -> None:
    pair = Pair()
    with pytest.raises((EncodingError, TypeError)):
        pair.client.let("x", object(), now=0.0)
    assert pair.client.context.variables == {}
    assert pair.client.pending_count == 0


def test_invalidate_and_reset(pair: Pair) -> None:
    ctx = pair.client.context
    ctx.set_token(TOKEN)
    pair.client.let("v", 1, now=0.0)
    pair.client.invalidate(now=0.0)
    assert (ctx.token, ctx.namespace, ctx.variables) == (None, "ns", {"v": 1})
    ctx.set_token(TOKEN)
    pair.client.reset(now=0.0)
    assert (ctx.token, ctx.namespace, ctx.database, ctx.variables) == (None, None, None, {})
    assert [type(e) for e in pair.client.events()] == [ResponseReceived] * 3
    assert pair.client.data_to_send() == b""


def test_context_shared_by_a_pool() -> None:
    ctx = HttpContext()
    a = Pair(context=ctx)
    b = Pair(context=ctx)
    a.client.use("shared", "db", now=0.0)
    b.client.ping(now=0.0)
    assert b.one().headers["surreal-ns"] == "shared"


# --------------------------------------------------------------------------- auth


def test_signin_goes_without_auth_and_its_token_is_adopted(pair: Pair) -> None:
    ctx = pair.client.context
    ctx.set_token("expired.token.value")
    rid = pair.client.signin({"user": "root", "pass": "hunter2"}, now=0.0)
    req = pair.one()
    assert "authorization" not in req.headers
    assert req.envelope()["params"] == [{"user": "root", "pass": "hunter2"}]
    event = only(pair.deliver(pair.peer.rpc_result(TOKEN)))
    assert event == ResponseReceived(request_id=rid, method="signin", result=TOKEN)
    assert ctx.token == TOKEN
    pair.client.info(now=0.0)
    assert pair.one().headers["authorization"] == f"Bearer {TOKEN}"


def test_signup_and_refresh_pairs(pair: Pair) -> None:
    ctx = pair.client.context
    pair.client.signup({"NS": "n", "DB": "d", "AC": "user", "email": "e"}, now=0.0)
    pair.flush()
    pair.deliver(pair.peer.rpc_result({"access": TOKEN, "refresh": "surreal-refresh-x"}))
    assert ctx.token == TOKEN
    pair.client.refresh({"access": TOKEN, "refresh": "surreal-refresh-x"}, now=0.0)
    assert "authorization" not in pair.one().headers
    pair.deliver(pair.peer.rpc_result({"access": NEW_TOKEN, "refresh": "surreal-refresh-y"}))
    assert ctx.token == NEW_TOKEN


@pytest.mark.parametrize("result", [None, 5, {"access": 1}, "bad\ntoken"])
def test_unusable_token_results_leave_auth_alone(result: Any) -> None:
    pair = Pair(context=HttpContext(token=TOKEN))
    pair.client.signup({"NS": "n", "DB": "d", "AC": "user"}, now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.rpc_result(result)))
    assert isinstance(event, ResponseReceived)
    assert pair.client.context.token == TOKEN


def test_authenticate_is_validated_by_the_server(pair: Pair) -> None:
    ctx = pair.client.context
    ctx.set_token(TOKEN)
    pair.client.authenticate(NEW_TOKEN, now=0.0)
    req = pair.one()
    assert req.headers["authorization"] == f"Bearer {NEW_TOKEN}"
    assert req.envelope()["params"] == [NEW_TOKEN]
    event = only(pair.deliver(pair.peer.plain(401, "The token has expired")))
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, TokenExpiredError)
    assert NEW_TOKEN not in str(event.error)
    assert ctx.token == TOKEN  # a refused token never replaces the current one
    pair.client.authenticate(NEW_TOKEN, now=0.0)
    pair.flush()
    pair.deliver(pair.peer.rpc_result(None))
    assert ctx.token == NEW_TOKEN


def test_authenticate_with_a_non_string_is_left_to_the_server(pair: Pair) -> None:
    pair.client.send_request("authenticate", ({"access": "x"},), now=0.0)
    assert "authorization" not in pair.one().headers
    pair.deliver(pair.peer.rpc_error({"code": -32602, "message": "Invalid params"}))
    assert pair.client.context.token is None


def test_basic_auth_on_every_request() -> None:
    basic = BasicAuth(username="root", password="hunter2", namespace="n")
    pair = Pair(context=HttpContext(basic=basic))
    pair.client.info(now=0.0)
    h = pair.one().headers
    assert h["authorization"].startswith("Basic ")
    assert h["surreal-auth-ns"] == "n"
    event = only(pair.deliver(pair.peer.plain(401, "bad hunter2")))
    assert isinstance(event, ErrorReceived)
    assert "hunter2" not in str(event.error)


# --------------------------------------------------------------------------- unsupported


@pytest.mark.parametrize(("method", "kwargs"), [
    ("live", {}), ("kill", {}), ("begin", {}), ("commit", {}), ("cancel", {}),
    ("attach", {}), ("detach", {}), ("sessions", {}),
    ("query", {"txn": uuid.UUID(int=1)}), ("query", {"session": uuid.UUID(int=2)}),
])
def test_unsupported_raise_before_sending(method: str, kwargs: dict[str, Any]) -> None:
    pair = Pair()
    with pytest.raises(UnsupportedFeatureError):
        pair.client.send_request(method, (), now=0.0, **kwargs)
    assert pair.client.data_to_send() == b""
    assert pair.client.events() == []
    assert pair.client.pending_count == 0


def test_version_gated_method_once_version_known() -> None:
    pair = Pair()
    pair.client.version(now=0.0)
    pair.flush()
    pair.deliver(pair.peer.respond(200, cbor2.dumps({"result": "surrealdb-2.1.0"}),
                                   content_type="application/cbor"))
    with pytest.raises(UnsupportedFeatureError):
        pair.client.send_request("reset", (), now=0.0)


# --------------------------------------------------------------------------- other endpoints


def test_health(pair: Pair) -> None:
    ok = pair.client.send_health(now=0.0)
    req = pair.one()
    assert (req.method, req.target, req.body) == ("GET", "/health", b"")
    assert "content-length" not in req.headers
    assert only(pair.deliver(pair.peer.respond(200))) == ResponseReceived(
        request_id=ok, method="/health", result=True)
    bad = pair.client.send_health(now=0.0)
    pair.flush()
    assert only(pair.deliver(pair.peer.error_message(500, "Health check failed", ""))) == (
        ResponseReceived(request_id=bad, method="/health", result=False))
    odd = pair.client.send_health(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.plain(404, "nope")))
    assert isinstance(event, RequestFailed)
    assert event.request_id == odd


def test_http_version(pair: Pair) -> None:
    rid = pair.client.send_http_version(now=0.0)
    assert pair.one().target == "/version"
    assert only(pair.deliver(pair.peer.plain(200, "surrealdb-3.2.4"))) == ResponseReceived(
        request_id=rid, method="/version", result="surrealdb-3.2.4")
    bad = pair.client.send_http_version(now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.plain(200, "")))
    assert isinstance(event, RequestFailed)
    assert event.request_id == bad


def test_import(pair: Pair) -> None:
    pair.client.context.set_token(TOKEN)
    rid = pair.client.send_import("CREATE a;", now=0.0)
    req = pair.one()
    assert (req.method, req.target, req.body) == ("POST", "/import", b"CREATE a;")
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert (req.headers["surreal-ns"], req.headers["accept"]) == ("ns", "application/cbor")
    results = [{"result": None, "status": "OK", "time": "1µs"}]
    assert only(pair.deliver(pair.peer.respond(200, encode(results),
                                               content_type="application/cbor"))) == (
        ResponseReceived(request_id=rid, method="/import", result=results))
    pair.client.send_import(b"THROW 'x';", now=0.0)
    pair.flush()
    bad = [{"result": "An error occurred: x", "status": "ERR", "time": ""}]
    event = only(pair.deliver(pair.peer.respond(200, cbor2.dumps(bad))))
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, QueryError)
    pair.client.send_import("x", now=0.0)
    pair.flush()
    event = only(pair.deliver(pair.peer.plain(401, "The token has expired")))
    assert isinstance(event, ErrorReceived)
    assert isinstance(event.error, TokenExpiredError)


def test_export(pair: Pair) -> None:
    rid = pair.client.send_export(now=0.0)
    req = pair.one()
    assert (req.method, req.target) == ("GET", "/export")
    assert only(pair.deliver(pair.peer.plain(200, "DEFINE TABLE t;"))) == ResponseReceived(
        request_id=rid, method="/export", result="DEFINE TABLE t;")
    pair.client.send_export({"records": False}, now=0.0)
    req = pair.one()
    assert (req.method, req.headers["content-type"], req.body) == (
        "POST", "application/json", b'{"records": false}')


# --------------------------------------------------------------------------- context


def test_context_repr_and_validation() -> None:
    ctx = HttpContext(namespace="n", token=TOKEN, variables={"secret": "v4lue"})
    shown = repr(ctx)
    assert TOKEN not in shown
    assert "v4lue" not in shown
    assert "bearer" in shown
    basic = HttpContext(basic=("root", "hunter2"))
    assert basic.basic == BasicAuth(username="root", password="hunter2")
    assert "hunter2" not in repr(basic)
    assert "root" in repr(basic)
    assert basic.secrets() == ("hunter2",)
    assert "auth=None" in repr(HttpContext())
    with pytest.raises(LocalProtocolError):
        HttpContext(token=TOKEN, basic=("a", "b"))
    with pytest.raises(LocalProtocolError):
        HttpContext(namespace="bad\n")
    with pytest.raises(LocalProtocolError):
        ctx.set_token("bad\ntoken")
    assert token_of(ctx) == TOKEN
    ctx.set_token(None)
    assert token_of(ctx) is None
    extra = HttpContext(headers=[("X-Trace", "1")])
    assert ("X-Trace", "1") in extra.headers()
