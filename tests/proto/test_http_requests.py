"""HttpRequestConnection: whole HttpRequest objects out, replies and client exceptions in.

The test plays the adapter and the server: it takes ``requests_to_send()``, checks what a real
client would put on the wire, and feeds back replies shaped like SurrealDB's (CBOR bodies, the
statuses of protocol.md §3.5) or the exceptions ``httpx`` raises. One test drives a real
``httpx.Client`` over ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import cbor2
import httpx
import pytest

from surreal_proto import (
    ConnectionClosedError,
    HandshakeError,
    InternalError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    OutcomeUnknownError,
    QueryError,
    RemoteProtocolError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
    TLSError,
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
    RequestId,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._http import BasicAuth, HttpRequest
from surreal_proto._http_base import EXPORT, HEALTH, IMPORT, VERSION
from surreal_proto._http_context import HttpContext
from surreal_proto._http_requests import HttpRequestConnection, transport_error
from surreal_proto._replay import SESSION_EXPIRY_SQL
from surreal_proto._state import ConnectionState
from surreal_proto._values import NULL
from surreal_proto._version import ServerVersion

TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjF9.c2VjcmV0LXNpZ25hdHVyZQ"
NEW_TOKEN = "eyJhbGciOiJIUzUxMiJ9.eyJleHAiOjJ9.bmV3LXNpZ25hdHVyZQ"
CBOR = {"Content-Type": "application/cbor"}


def make(**kwargs: Any) -> HttpRequestConnection:
    kwargs.setdefault("context", HttpContext(namespace="ns", database="db"))
    conn = HttpRequestConnection(**kwargs)
    conn.connect(0.0)
    assert conn.events() == [Connected(subprotocol="cbor")]
    return conn


def take(conn: HttpRequestConnection) -> dict[RequestId, HttpRequest]:
    return dict(conn.requests_to_send())


def only(conn: HttpRequestConnection) -> tuple[RequestId, HttpRequest]:
    sent = conn.requests_to_send()
    assert len(sent) == 1
    return sent[0]


def envelope(request: HttpRequest) -> dict[str, Any]:
    decoded: dict[str, Any] = cbor2.loads(request.body)
    return decoded


def ok(conn: HttpRequestConnection, request_id: RequestId, result: Any, now: float = 0.0,
       headers: dict[str, str] | None = None) -> list[AnyEvent]:
    conn.receive_response(request_id, 200, {**CBOR, **(headers or {})},
                          encode({"result": result}), now)
    return conn.events()


def state(conn: HttpRequestConnection) -> ConnectionState:
    # Through a function, so mypy does not keep a narrowed type across calls.
    return conn.state


def one_event(events: list[AnyEvent]) -> AnyEvent:
    assert len(events) == 1, events
    return events[0]


def result_of(events: list[AnyEvent]) -> Any:
    event = one_event(events)
    assert isinstance(event, ResponseReceived), event
    return event.result


def error_of(events: list[AnyEvent]) -> SurrealError:
    event = one_event(events)
    assert isinstance(event, ErrorReceived | RequestFailed), event
    return event.error


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_and_misuse() -> None:
    conn = HttpRequestConnection()
    assert state(conn) is ConnectionState.IDLE
    with pytest.raises(LocalProtocolError):
        conn.query("RETURN 1", now=0.0)
    with pytest.raises(LocalProtocolError):
        conn.receive_response(1, 200, {}, b"", 0.0)
    with pytest.raises(LocalProtocolError):
        conn.receive_failure(1, OSError("x"), 0.0)
    conn.connect(0.0)
    assert state(conn) is ConnectionState.OPEN
    assert conn.events() == [Connected(subprotocol="cbor")]
    assert conn.requests_to_send() == []
    assert conn.server_version is None
    with pytest.raises(LocalProtocolError, match="base_path"):
        HttpRequestConnection(base_path="db")


def test_rpc_request_on_the_wire() -> None:
    conn = make(base_path="/db/", context=HttpContext(
        namespace="ns", database="db", token=TOKEN, headers=[("Origin", "https://app")]))
    rid = conn.query("RETURN $x", {"x": 1}, now=0.0)
    assert conn.events() == []
    assert [p.sent for p in conn.pending_requests()] == [False]
    request_id, request = only(conn)
    assert request_id == rid
    assert [p.sent for p in conn.pending_requests()] == [True]
    assert conn.in_flight == 1
    assert (request.method, request.target) == ("POST", "/db/rpc")
    assert request.header("content-type") == request.header("accept") == "application/cbor"
    assert request.header("surreal-ns") == "ns"
    assert request.header("surreal-db") == "db"
    assert request.header("authorization") == f"Bearer {TOKEN}"
    assert request.header("origin") == "https://app"
    assert request.header("host") is None  # the HTTP client adds Host and Content-Length
    assert envelope(request) == {"id": rid, "method": "query", "params": ["RETURN $x", {"x": 1}]}
    assert TOKEN not in repr(request)
    assert conn.requests_to_send() == []  # taken once
    event = one_event(ok(conn, rid, [{"status": "OK", "result": 1}]))
    assert event == ResponseReceived(request_id=rid, method="query",
                                     result=[{"status": "OK", "result": 1}])
    assert conn.in_flight == 0
    assert conn.pending_count == 0


def test_unsupported_methods_are_refused_before_anything_is_queued() -> None:
    conn = make()
    with pytest.raises(UnsupportedFeatureError):
        conn.send_request("live", ["person"], now=0.0)
    with pytest.raises(UnsupportedFeatureError):
        conn.send_request("begin", now=0.0)
    assert conn.requests_to_send() == []
    assert conn.pending_count == 0


# --------------------------------------------------------------------------- local answers


def test_local_use_let_unset_answer_at_once_and_shape_later_requests() -> None:
    conn = make(context=HttpContext())
    rid = conn.use("app", "main", now=0.0)
    assert result_of(conn.events()) == {"namespace": "app", "database": "main"}
    assert rid not in take(conn)
    conn.let("name", "Ada", now=0.0)
    conn.let("n", 6, now=0.0)
    conn.unset("n", now=0.0)
    assert [type(e) for e in conn.events()] == [ResponseReceived] * 3
    assert conn.requests_to_send() == []
    qid = conn.query("RETURN $name", {"extra": True}, now=0.0)
    request = take(conn)[qid]
    assert request.header("surreal-ns") == "app"
    assert request.header("surreal-db") == "main"
    assert envelope(request)["params"] == ["RETURN $name", {"name": "Ada", "extra": True}]
    conn.use(NULL, NULL, now=0.0)
    assert result_of(conn.events()) == {"namespace": None, "database": None}


def test_invalid_local_call_is_an_error_reply() -> None:
    conn = make()
    conn.send_request("let", ["auth", 1], now=0.0)
    error = error_of(conn.events())
    assert isinstance(error, ValidationError)
    assert "protected" in str(error)
    conn.send_request("use", ["only-one-param"], now=0.0)
    assert isinstance(error_of(conn.events()), ValidationError)


def test_invalidate_and_reset_clear_the_context() -> None:
    ctx = HttpContext(namespace="ns", database="db", token=TOKEN, variables={"a": 1})
    conn = make(context=ctx)
    conn.invalidate(now=0.0)
    assert ctx.token is None
    conn.reset(now=0.0)
    assert (ctx.namespace, ctx.database, ctx.variables) == (None, None, {})
    assert [type(e) for e in conn.events()] == [ResponseReceived] * 2


# --------------------------------------------------------------------------- auth


def test_signin_goes_without_auth_and_its_token_is_adopted() -> None:
    ctx = HttpContext(namespace="ns", database="db", basic=BasicAuth(username="root",
                                                                     password="hunter2"))
    conn = make(context=ctx)
    before = conn.query("RETURN 1", now=0.0)
    rid = conn.signin({"user": "root", "pass": "hunter2"}, now=0.0)
    sent = take(conn)
    assert (sent[before].header("authorization") or "").startswith("Basic ")
    assert sent[rid].header("authorization") is None
    assert "hunter2" not in repr(sent[rid])
    assert result_of(ok(conn, rid, {"access": TOKEN, "refresh": "r"})) == {"access": TOKEN,
                                                                          "refresh": "r"}
    assert ctx.token == TOKEN
    assert ctx.basic is None
    later = conn.query("RETURN 2", now=0.0)
    assert take(conn)[later].header("authorization") == f"Bearer {TOKEN}"
    ok(conn, before, [])


@pytest.mark.parametrize("result", [42, {"unexpected": 1}, "bad token\r\nX: y"])
def test_signin_result_that_http_cannot_use_leaves_auth_unchanged(result: Any) -> None:
    ctx = HttpContext(token=TOKEN)
    conn = make(context=ctx)
    rid = conn.signup({"access": "user", "email": "a@b"}, now=0.0)
    only(conn)
    assert result_of(ok(conn, rid, result)) == result
    assert ctx.token == TOKEN


def test_authenticate_is_checked_by_the_server_before_it_is_adopted() -> None:
    ctx = HttpContext(token=TOKEN)
    conn = make(context=ctx)
    bad = conn.authenticate("not-a-valid-token", now=0.0)
    _, request = only(conn)
    assert request.header("authorization") == "Bearer not-a-valid-token"
    conn.receive_response(bad, 401, {"content-type": "text/plain"},
                          b"There was a problem with authentication: not-a-valid-token", 0.0)
    error = error_of(conn.events())
    assert isinstance(error, InvalidAuthError)
    assert "not-a-valid-token" not in str(error)  # the rejected token is a secret too
    assert ctx.token == TOKEN  # a rejected token never poisons later calls
    good = conn.authenticate(NEW_TOKEN, now=0.0)
    only(conn)
    ok(conn, good, None)
    assert ctx.token == NEW_TOKEN


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(("status", "headers", "body", "event_type", "error_type"), [
    (401, {}, b"The token has expired", ErrorReceived, TokenExpiredError),
    (401, {}, b"", ErrorReceived, InvalidAuthError),
    (403, {"content-type": "application/json"},
     json.dumps({"code": 403, "details": "Forbidden"}).encode(), ErrorReceived,
     NotAllowedError),
    (400, {}, json.dumps({"code": 400, "information": "Parse error"}).encode(), ErrorReceived,
     ValidationError),
    (413, {}, b"", ErrorReceived, ValidationError),
    (415, {}, b"", ErrorReceived, ValidationError),
    (503, {}, b"upstream down", ErrorReceived, InternalError),
    (404, {"content-type": "text/html"}, b"<h1>Not Found</h1>", RequestFailed, HandshakeError),
    (200, {"content-type": "text/html"}, b"<html>", RequestFailed, RemoteProtocolError),
    (200, CBOR, b"\xff\xff", RequestFailed, RemoteProtocolError),
    (200, CBOR, encode([1, 2]), RequestFailed, RemoteProtocolError),
])
def test_status_mapping(status: int, headers: dict[str, str], body: bytes,
                        event_type: type[AnyEvent], error_type: type[SurrealError]) -> None:
    conn = make()
    rid = conn.select("person", now=0.0)
    only(conn)
    conn.receive_response(rid, status, headers, body, 0.0)
    event = one_event(conn.events())
    assert isinstance(event, event_type)
    assert isinstance(event, ErrorReceived | RequestFailed)
    assert type(event.error) is error_type
    assert event.request_id == rid
    assert state(conn) is ConnectionState.OPEN  # a bad reply fails one request only


def test_rpc_error_reply_and_secret_scrubbing() -> None:
    conn = make(context=HttpContext(basic=("root", "s3cret-pass")))
    rid = conn.query("SELEC", now=0.0)
    only(conn)
    conn.receive_response(rid, 200, CBOR, encode({"error": {
        "code": -32000, "kind": "Validation", "message": "Parse error: SELEC"}}), 0.0)
    assert isinstance(error_of(conn.events()), ValidationError)
    rid = conn.query("RETURN 1", now=0.0)
    only(conn)
    conn.receive_response(rid, 500, [(b"content-type", b"text/plain")],
                          b"crashed while checking s3cret-pass", 0.0)
    error = error_of(conn.events())
    assert isinstance(error, InternalError)
    assert "s3cret-pass" not in str(error)
    assert "***" in str(error)


# --------------------------------------------------------------------------- concurrency


def test_many_requests_in_flight_answered_in_any_order() -> None:
    conn = make()
    ids = [conn.query(f"RETURN {i}", now=0.0) for i in range(3)]
    sent = conn.requests_to_send()
    assert [rid for rid, _ in sent] == ids
    assert conn.in_flight == 3
    # Header shapes differ per client: httpx.Headers, a dict, h11-style byte pairs.
    ok(conn, ids[2], 2)
    conn.receive_response(ids[0], 200, httpx.Headers(CBOR), encode({"result": 0}), 0.0)
    conn.receive_response(ids[1], 200, [(b"Content-Type", b"application/cbor")],
                          encode({"result": 1}), 0.0)
    events = conn.events()
    assert [(e.request_id, e.result) for e in events  # type: ignore[union-attr]
            ] == [(ids[0], 0), (ids[1], 1)]
    # A second reply to the same request, or one never handed out, is dropped.
    ok(conn, ids[0], "again")
    assert conn.events() == []
    ok(conn, 999, "unknown")
    assert conn.events() == []
    queued = conn.query("RETURN 3", now=0.0)
    assert ok(conn, queued, "not handed out yet") == []
    assert conn.pending_count == 1
    assert take(conn).keys() == {queued}


def test_requests_started_between_takes_are_independent() -> None:
    conn = make()
    first = conn.ping(now=0.0)
    assert take(conn).keys() == {first}
    second = conn.ping(now=0.0)
    assert take(conn).keys() == {second}
    conn.receive_failure(first, httpx.ReadError("reset by peer"), 0.0)
    assert isinstance(error_of(conn.events()), SurrealConnectionError)
    assert result_of(ok(conn, second, None)) is None
    assert state(conn) is ConnectionState.OPEN


# --------------------------------------------------------------------------- deadlines, abandon


def test_deadlines_time_out_queued_and_in_flight_requests() -> None:
    conn = make(default_timeout=5.0)
    in_flight = conn.query("SLEEP 10s", now=0.0)
    only(conn)
    queued = conn.query("RETURN 1", now=1.0)
    no_deadline = conn.query("RETURN 2", timeout=None, now=0.0)
    assert conn.next_deadline() == 5.0
    conn.handle_timeout(4.9)
    assert conn.events() == []
    conn.handle_timeout(5.0)
    assert conn.events() == [RequestTimedOut(request_id=in_flight, method="query")]
    assert conn.in_flight == 0
    assert conn.next_deadline() == 6.0
    conn.handle_timeout(7.0)
    assert conn.events() == [RequestTimedOut(request_id=queued, method="query")]
    assert conn.next_deadline() is None
    # The queued one is never handed out; the late reply of the other is dropped.
    assert take(conn).keys() == {no_deadline}
    assert ok(conn, in_flight, "late", now=8.0) == []
    conn.receive_failure(in_flight, httpx.ReadTimeout("late"), 8.0)
    assert conn.events() == []
    assert state(conn) is ConnectionState.OPEN


def test_abandon_never_ends_the_connection() -> None:
    conn = make()
    in_flight = conn.query("RETURN 1", now=0.0)
    other = conn.query("RETURN 2", now=0.0)
    only_ids = take(conn).keys()
    assert only_ids == {in_flight, other}
    queued = conn.query("RETURN 3", now=0.0)
    conn.abandon(in_flight)
    conn.abandon(queued)
    conn.abandon(12345)  # unknown: ignored
    assert conn.events() == []
    assert state(conn) is ConnectionState.OPEN
    assert conn.requests_to_send() == []  # the abandoned queued request is never sent
    assert conn.in_flight == 1
    assert ok(conn, in_flight, "late") == []
    assert result_of(ok(conn, other, 2)) == 2


# --------------------------------------------------------------------------- transport failures


def _raised(exc: BaseException, cause: BaseException) -> BaseException:
    # `raise exc from cause`, as httpx wraps httpcore, which wraps ssl.
    try:
        raise exc from cause
    except BaseException as caught:
        return caught


_VERIFY = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")


@pytest.mark.parametrize(("exc", "method", "error_type", "text"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "create", SurrealConnectionError,
     "was not sent"),
    (ConnectionRefusedError(111, "refused"), "query", SurrealConnectionError, "was not sent"),
    (socket.gaierror(-2, "Name or service not known"), "query", SurrealConnectionError,
     "was not sent"),
    (httpx.ProxyError("tunnel refused"), "query", SurrealConnectionError, "was not sent"),
    (httpx.ConnectTimeout("timed out"), "create", SurrealTimeoutError, "before sending"),
    (httpx.PoolTimeout("no connection free"), "query", SurrealTimeoutError, "before sending"),
    (httpx.ReadTimeout("timed out"), "create", SurrealTimeoutError, "may have run"),
    (TimeoutError(), "select", SurrealTimeoutError, "may have run"),
    (_raised(httpx.ConnectError("verify failed"), _VERIFY), "query", TLSError,
     "verification failed"),
    (_VERIFY, "query", TLSError, "verification failed"),
    (_raised(httpx.ConnectError("handshake"), ssl.SSLError(1, "[SSL] wrong version number")),
     "query", TLSError, "handshake failed"),
    (_raised(httpx.ReadError("eof"), ssl.SSLEOFError(8, "EOF")), "select",
     SurrealConnectionError, "may be sent again"),
    (httpx.ReadError("connection reset"), "select", SurrealConnectionError, "may be sent again"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "create",
     OutcomeUnknownError, "may or may not have run"),
    (httpx.WriteError("broken pipe"), "query", OutcomeUnknownError, "may or may not have run"),
    (OSError(), "query", OutcomeUnknownError, "(OSError)"),
    (RuntimeError("adapter bug"), "signin", SurrealConnectionError, "RuntimeError: adapter bug"),
])
def test_transport_failures(exc: Exception, method: str, error_type: type[SurrealError],
                            text: str) -> None:
    conn = make()
    params: dict[str, list[Any]] = {"create": ["person", {"name": "Ada"}],
                                    "query": ["CREATE person"], "select": ["person"],
                                    "signin": [{"user": "root", "pass": "root"}]}
    rid = conn.send_request(method, params[method], now=0.0)
    only(conn)
    conn.receive_failure(rid, exc, 0.0)
    event = one_event(conn.events())
    assert isinstance(event, RequestFailed)
    assert (event.request_id, event.method) == (rid, method)
    assert type(event.error) is error_type
    assert text in str(event.error)
    assert event.error.__cause__ is exc
    assert state(conn) is ConnectionState.OPEN


def test_transport_failure_helper() -> None:
    # The session-expiry probe is a read-only query; a refresh-key signin is single use.
    assert isinstance(transport_error(OSError("x"), "query", (SESSION_EXPIRY_SQL,)),
                      SurrealConnectionError)
    assert isinstance(transport_error(OSError("x"), "signin", ({"refresh": "r"},)),
                      OutcomeUnknownError)
    for endpoint in (HEALTH, VERSION, EXPORT):
        assert type(transport_error(OSError("x"), endpoint)) is SurrealConnectionError
    assert isinstance(transport_error(OSError("x"), IMPORT), OutcomeUnknownError)
    own = SurrealTimeoutError("the adapter's own verdict")
    assert transport_error(own, "query") is own
    secret = transport_error(OSError("proxy said hunter2"), "ping", secrets=("hunter2",))
    assert "hunter2" not in str(secret)
    # A context cycle, and a chain longer than is worth reading, are both fine.
    a, b = OSError("a"), OSError("b")
    a.__context__, b.__context__ = b, a
    assert isinstance(transport_error(a, "ping"), SurrealConnectionError)
    deep: BaseException = _VERIFY
    for _ in range(20):
        deep = _raised(OSError("wrapper"), deep)
    assert isinstance(deep, Exception)
    assert not isinstance(transport_error(deep, "ping"), TLSError)


def test_failure_secrets_are_scrubbed() -> None:
    conn = make(context=HttpContext(token=TOKEN))
    rid = conn.query("RETURN 1", now=0.0)
    only(conn)
    conn.receive_failure(rid, httpx.ReadError(f"oops Bearer {TOKEN}"), 0.0)
    error = error_of(conn.events())
    assert TOKEN not in str(error)


# --------------------------------------------------------------------------- endpoints


def test_health_and_version_endpoints() -> None:
    conn = make(context=HttpContext(namespace="ns", token=TOKEN, headers=[("X-Trace", "1")]))
    health = conn.send_health(now=0.0)
    version = conn.send_http_version(now=0.0)
    sick = conn.send_health(now=0.0)
    sent = take(conn)
    assert (sent[health].method, sent[health].target) == ("GET", "/health")
    assert sent[health].header("authorization") is None  # no auth needed, none sent
    assert sent[health].header("x-trace") == "1"
    assert (sent[version].method, sent[version].target) == ("GET", "/version")
    conn.receive_response(health, 200, {}, b"", 0.0)
    assert conn.events() == [ResponseReceived(request_id=health, method=HEALTH, result=True)]
    conn.receive_response(sick, 500, {}, b'{"details":"Health check failed"}', 0.0)
    assert result_of(conn.events()) is False
    conn.receive_response(version, 200, {"surreal-version": "surrealdb-3.0.1"},
                          b"surrealdb-3.0.1", 0.0)
    assert result_of(conn.events()) == "surrealdb-3.0.1"
    assert conn.server_version == ServerVersion(3, 0, 1)


def test_server_version_from_version_rpc_wins_over_header() -> None:
    conn = make()
    rid = conn.version(now=0.0)
    only(conn)
    ok(conn, rid, "surrealdb-2.3.4", headers={"surreal-version": "surrealdb-3.0.0"})
    assert conn.server_version == ServerVersion(2, 3, 4)
    other = conn.ping(now=0.0)
    only(conn)
    ok(conn, other, None, headers={"surreal-version": "garbage"})
    assert conn.server_version == ServerVersion(2, 3, 4)


def test_import_and_export_endpoints() -> None:
    ctx = HttpContext(namespace="ns", database="db", token=TOKEN)
    conn = make(context=ctx)
    imp = conn.send_import("OPTION IMPORT; CREATE person:1;", now=0.0)
    exp = conn.send_export({"tables": ["person"]}, now=0.0)
    bad = conn.send_import(b"THROW 'x';", now=0.0)
    sent = take(conn)
    assert (sent[imp].method, sent[imp].target) == ("POST", "/import")
    assert sent[imp].header("authorization") == f"Bearer {TOKEN}"
    assert sent[imp].header("surreal-db") == "db"
    assert (sent[exp].method, sent[exp].target) == ("POST", "/export")
    assert json.loads(sent[exp].body) == {"tables": ["person"]}
    results = [{"status": "OK", "result": None, "time": "1ms"}]
    conn.receive_response(imp, 200, CBOR, encode(results), 0.0)
    assert result_of(conn.events()) == results
    conn.receive_response(exp, 200, {"content-type": "text/plain"}, b"DEFINE TABLE person;",
                          0.0)
    assert result_of(conn.events()) == "DEFINE TABLE person;"
    conn.receive_response(bad, 200, CBOR, encode([{"status": "ERR", "result": "x"}]), 0.0)
    event = one_event(conn.events())
    assert isinstance(event, ErrorReceived)
    assert (event.method, type(event.error)) == (IMPORT, QueryError)


def test_endpoint_status_errors_and_failures() -> None:
    conn = make(context=HttpContext(basic=("root", "pw-123")))
    exp = conn.send_export(now=0.0)
    imp = conn.send_import("CREATE x", now=0.0)
    version = conn.send_http_version(now=0.0)
    sent = take(conn)
    assert sent[exp].method == "GET"
    conn.receive_response(exp, 403, {}, b'{"details":"Forbidden"}', 0.0)
    assert isinstance(error_of(conn.events()), NotAllowedError)
    conn.receive_failure(imp, httpx.ReadError("reset"), 0.0)
    assert isinstance(error_of(conn.events()), OutcomeUnknownError)
    conn.receive_response(version, 404, {}, b"nope", 0.0)
    event = one_event(conn.events())
    assert isinstance(event, RequestFailed)
    assert isinstance(event.error, HandshakeError)


# --------------------------------------------------------------------------- close


def test_close_fails_pending_and_drops_late_outcomes() -> None:
    conn = make()
    in_flight = conn.query("RETURN 1", now=0.0)
    only(conn)
    queued = conn.query("RETURN 2", now=0.0)
    conn.close(1.0)
    events = conn.events()
    assert [type(e) for e in events] == [RequestFailed, RequestFailed, ConnectionClosed]
    for event in events[:2]:
        assert isinstance(event, RequestFailed)
        assert isinstance(event.error, ConnectionClosedError)
    closed = events[2]
    assert isinstance(closed, ConnectionClosed)
    assert (closed.code, closed.error) == (1000, None)
    assert [(p.request_id, p.sent) for p in closed.unanswered] == [(in_flight, True),
                                                                   (queued, False)]
    assert state(conn) is ConnectionState.CLOSED
    assert conn.requests_to_send() == []
    assert conn.in_flight == 0
    assert ok(conn, in_flight, "late") == []
    conn.receive_failure(in_flight, httpx.ReadError("closed"), 2.0)
    conn.close(2.0)
    assert conn.events() == []
    with pytest.raises(LocalProtocolError):
        conn.ping(now=2.0)


# --------------------------------------------------------------------------- a real httpx client


def test_driven_by_httpx_over_a_mock_transport() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/version":
            return httpx.Response(200, text="surrealdb-3.0.0")
        body = cbor2.loads(request.content)
        if body["method"] == "signin":
            return httpx.Response(200, headers=CBOR, content=encode({"result": TOKEN}))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, text="There was a problem with authentication")
        if body["method"] == "create":
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(200, headers=CBOR, content=encode({"result": body["params"]}))

    conn = HttpRequestConnection(context=HttpContext(namespace="ns", database="db"))
    conn.connect(0.0)

    def pump(client: httpx.Client) -> list[AnyEvent]:
        for request_id, request in conn.requests_to_send():  # the whole adapter
            try:
                reply = client.request(request.method, request.target,
                                       headers=list(request.headers), content=request.body)
            except httpx.HTTPError as exc:
                conn.receive_failure(request_id, exc, 0.0)
            else:
                conn.receive_response(request_id, reply.status_code, reply.headers,
                                      reply.content, 0.0)
        return conn.events()

    with httpx.Client(base_url="http://db.example:8000",
                      transport=httpx.MockTransport(server)) as client:
        pump(client)  # Connected
        early = conn.query("RETURN 1", now=0.0)  # started before signin: no token
        conn.signin({"user": "root", "pass": "root"}, now=0.0)
        events = pump(client)
        assert isinstance(events[0], ErrorReceived)
        assert events[0].request_id == early
        assert isinstance(events[0].error, InvalidAuthError)
        assert isinstance(events[1], ResponseReceived)
        assert events[1].result == TOKEN
        conn.let("x", 42, now=0.0)
        conn.query("RETURN $x", now=0.0)
        conn.create("person", {"name": "Ada"}, now=0.0)
        conn.send_http_version(now=0.0)
        events = pump(client)
    assert isinstance(events[0], ResponseReceived)  # let, answered locally
    assert isinstance(events[1], ResponseReceived)
    assert events[1].result == ["RETURN $x", {"x": 42}]
    assert isinstance(events[2], RequestFailed)
    assert isinstance(events[2].error, OutcomeUnknownError)
    assert isinstance(events[2].error.__cause__, httpx.ReadError)
    assert isinstance(events[3], ResponseReceived)
    assert events[3].result == "surrealdb-3.0.0"
    rpc = seen[1]
    assert rpc.headers["accept"] == rpc.headers["content-type"] == "application/cbor"
    assert rpc.headers["surreal-ns"] == "ns"
    assert rpc.headers["content-length"] == str(len(rpc.content))
