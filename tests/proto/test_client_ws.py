"""ClientEngine over WebSocket, driven end to end against the in-memory fake peer: lazy
connect, setup order, shaping, deadlines, cancel, close, link failures (API.md §3-§8)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from cbor2 import CBORTag

from surreal_proto import (
    ConnectionClosedError,
    HandshakeError,
    InvalidAuthError,
    LocalProtocolError,
    NotFoundError,
    ProtocolViolation,
    QueryError,
    RecordID,
    SurrealConnectionError,
    SurrealTimeoutError,
    Table,
    TLSError,
    UnsupportedEngineError,
    UnsupportedFeatureError,
)
from surreal_proto import _calls as c
from surreal_proto._auth import Tokens
from surreal_proto._client import ClientEngine
from surreal_proto._client_events import (
    ClientState,
    InsecureTransportDetected,
    StateChanged,
)
from surreal_proto._client_links import LinkSettings
from surreal_proto._url import parse_url
from tests.proto.auth_helpers import PASSWORD, assert_no_secret
from tests.proto.client_helpers import INVALID_AUTH, NOT_FOUND, Harness, err, ok
from tests.proto.helpers import NONE

ROOT = {"username": "root", "password": PASSWORD}


def states(h: Harness) -> list[ClientState]:
    return [e.new for e in h.of_type(StateChanged)]


# --------------------------------------------------------------------------- connecting


def test_construction_does_no_io() -> None:
    engine = ClientEngine("ws://localhost:8000", namespace="n", database="d")
    assert engine.events() == []
    assert engine.next_deadline() is None
    assert engine.state is ClientState.IDLE
    assert engine.url == "ws://localhost:8000"
    assert engine.endpoint == parse_url("ws://localhost:8000")
    assert engine.namespace == "n"
    assert engine.database == "d"
    assert engine.server_version is None
    assert "IDLE" in repr(engine)


def test_lazy_connect_queues_calls_and_opens_one_link() -> None:
    h = Harness(auto_open=False, namespace="app", database="main", auth=ROOT)
    first = h.start(c.select("person"))
    second = h.start(c.ping())
    assert len(h.opened) == 1  # concurrent first calls: exactly one connection
    event = h.opened[0]
    assert (event.transport, event.host, event.port, event.tls) == ("ws", "localhost", 8000,
                                                                     False)
    assert h.state() is ClientState.CONNECTING
    h.open()
    assert h.state() is ClientState.SETTING_UP
    # Setup order: auth, then use; the version probe goes alongside; user calls wait.
    assert h.methods(pending=False) == ["version", "signin"]
    assert h.request("signin")["params"] == [{"user": "root", "pass": PASSWORD}]
    h.answer("signin", "jwt")
    assert h.methods() == ["use"]
    assert h.request("use")["params"] == ["app", "main"]
    h.answer("use", {"namespace": "app", "database": "main"})
    assert h.state() is ClientState.OPEN
    assert h.methods() == ["select", "ping"]
    h.answer("ping")
    h.answer("select", [{"id": CBORTag(8, ["person", 1])}])
    assert h.result(first) == [{"id": RecordID("person", 1)}]
    assert h.result(second) is None
    assert len(h.opened) == 1
    assert states(h) == [ClientState.CONNECTING, ClientState.SETTING_UP, ClientState.OPEN]
    assert str(h.engine.server_version) == "3.2.4"


def test_connect_completes_when_set_up_and_reentry_keeps_the_session() -> None:
    h = Harness(auth="jwt-token")
    done = h.engine.connect(now=h.now)
    h.flush()
    assert not h.done(done)
    assert h.request("authenticate")["params"] == ["jwt-token"]
    h.answer("authenticate")
    assert h.result(done) is None
    again = h.engine.connect(now=h.now)
    h.flush()
    assert h.result(again) is None
    assert len(h.opened) == 1
    assert h.methods() == []


def test_prepare_runs_after_auth_and_use_with_its_own_calls() -> None:
    h = Harness(namespace="n", database="d", has_prepare=True)
    user = h.start(c.select("a"))
    h.answer("use", {"namespace": "n", "database": "d"})
    (prepare,) = h.prepares
    assert h.state() is ClientState.SETTING_UP
    # The prepare callable's calls go out now; user calls stay queued.
    own = h.start(c.query("DEFINE TABLE a"), setup=True)
    assert h.methods() == ["query"]
    h.answer("query", [ok(1)])
    assert h.result(own) == [1]
    assert not h.done(user)
    h.engine.prepare_done(prepare.ticket, now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN
    h.answer("select", [])
    assert h.result(user) == []
    # A late or repeated answer is ignored.
    h.engine.prepare_done(prepare.ticket, now=h.now)
    h.engine.prepare_failed(prepare.ticket, RuntimeError("late"), now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN


def test_setup_call_outside_prepare_is_an_ordinary_call() -> None:
    h = Harness()
    call = h.start(c.ping(), setup=True)
    h.answer("ping")
    assert h.result(call) is None


@pytest.mark.parametrize("failure", [RuntimeError("boom"), NotFoundError("no table")])
def test_prepare_failure_fails_the_first_connect(failure: Exception) -> None:
    h = Harness(has_prepare=True)
    user = h.start(c.ping())
    h.engine.prepare_failed(h.prepares[0].ticket, failure, now=h.now)
    h.flush()
    error = h.error(user)
    if isinstance(failure, NotFoundError):
        assert isinstance(error, NotFoundError)
    else:
        assert isinstance(error, SurrealConnectionError)
        assert isinstance(error.__cause__, RuntimeError)
    assert h.state() is ClientState.IDLE
    assert h.closed  # the link was closed
    again = h.start(c.ping())  # the next call connects afresh
    assert len(h.opened) == 2
    h.engine.prepare_done(h.prepares[-1].ticket, now=h.now)
    h.flush()
    h.answer("ping")
    assert h.result(again) is None


def test_refused_auth_fails_every_waiting_call() -> None:
    h = Harness(auth=ROOT)
    calls = [h.start(c.ping()), h.engine.connect(now=h.now)]
    h.flush()
    h.refuse("signin", INVALID_AUTH)
    for call in calls:
        assert isinstance(h.error(call), InvalidAuthError)
    assert h.error(calls[0]) is not h.error(calls[1])  # a fresh instance each
    assert h.state() is ClientState.IDLE


def test_failed_use_fails_the_first_connect() -> None:
    h = Harness(namespace="n", database="d")
    call = h.start(c.ping())
    h.refuse("use", NOT_FOUND)
    assert isinstance(h.error(call), NotFoundError)


def test_version_probe_failure_leaves_version_unknown() -> None:
    h = Harness(auto_version=None)
    call = h.start(c.ping())
    h.refuse("version", NOT_FOUND)
    h.answer("ping")
    assert h.result(call) is None
    assert h.engine.server_version is None


# --------------------------------------------------------------------------- calls


def test_each_call_is_shaped() -> None:
    h = Harness()
    h.engine.connect(now=h.now)
    h.flush()
    calls: dict[str, Any] = {
        "create": h.start(c.create("person", {"a": 1})),
        "insert": h.start(c.insert("person", {"a": 1})),
        "version": h.start(c.version()),
        "signin": h.start(c.signin(ROOT)),
        "health": h.start(c.health()),
        "raw": h.start(c.query_raw("RETURN 1; THROW 'x'")),
        "query": h.start(c.query("RETURN 1; THROW 'x'")),
    }
    h.answer("create", [{"a": 1}])
    h.answer("insert", {"a": 1})
    h.answer("signin", {"access": "a", "refresh": "r"})
    h.answer("ping")  # health over WebSocket is a ping
    h.answer("query", [ok(1), err("x")])
    h.answer("query", [ok(1), err("x")])
    assert h.result(calls["create"]) == {"a": 1}
    assert h.result(calls["insert"]) == [{"a": 1}]
    assert h.result(calls["version"]) == "surrealdb-3.2.4"
    assert h.result(calls["signin"]) == Tokens("a", "r")
    assert h.result(calls["health"]) is True
    assert [s.status for s in h.result(calls["raw"])] == ["OK", "ERR"]
    assert isinstance(h.error(calls["query"]), QueryError)


def test_a_server_error_reaches_the_caller_typed() -> None:
    h = Harness()
    call = h.start(c.select("x"))
    h.refuse("select", NOT_FOUND)
    assert isinstance(h.error(call), NotFoundError)
    health = h.start(c.health())
    h.refuse("ping", NOT_FOUND)
    assert h.result(health) is False


def test_targets_are_never_pasted_into_sql() -> None:
    h = Harness()
    h.start(c.select("a; DELETE b"))
    assert h.request("select")["params"] == [Table("a; DELETE b")]


def test_malformed_reply_fails_only_that_call() -> None:
    h = Harness()
    bad = h.start(c.ping())
    good = h.start(c.ping())
    req = h.request("ping")
    h.answered.add((h.link, req["id"]))
    h.feed(h.ws[h.link].message({"id": req["id"]}))  # neither result nor error
    assert isinstance(h.error(bad), Exception)
    h.answer("ping")
    assert h.result(good) is None


def test_protocol_violations_are_reported() -> None:
    h = Harness()
    h.start(c.ping())
    h.feed(h.ws[h.link].raw(b"\xff\xff"))
    assert h.of_type(ProtocolViolation)
    assert h.state() is ClientState.OPEN


# --------------------------------------------------------------------------- deadlines, cancel


def test_call_timeout_abandons_and_drops_the_late_reply() -> None:
    h = Harness(timeout=5.0)
    call = h.start(c.select("a"))
    req = h.request("select")
    assert h.engine.next_deadline() is not None
    h.run_timers(h.now + 5.0)
    error = h.error(call)
    assert isinstance(error, SurrealTimeoutError)
    assert isinstance(error, TimeoutError)
    assert "select" in str(error)
    h.reply(req["id"], [{"late": True}])  # dropped silently
    assert not h.of_type(ProtocolViolation)
    other = h.start(c.ping(), timeout=None)
    h.answer("ping")
    assert h.result(other) is None


def test_calls_wait_for_the_connection_within_their_own_deadline() -> None:
    h = Harness(auto_open=False)
    short = h.start(c.ping(), timeout=1.0)
    long = h.start(c.ping(), timeout=None)
    h.run_timers(h.now + 1.0)
    assert isinstance(h.error(short), SurrealTimeoutError)
    assert "ping() did not complete within 1 s" in str(h.error(short))
    h.open()
    h.answer("ping")
    assert h.result(long) is None
    assert h.methods(pending=False) == ["version", "ping"]  # the timed-out call never went


def test_cancel_abandons_the_request() -> None:
    h = Harness()
    call = h.start(c.select("a"))
    req = h.request("select")
    h.engine.cancel(call, now=h.now)
    h.engine.cancel(call, now=h.now)  # twice: ignored
    h.flush()
    h.reply(req["id"], [])
    assert not h.done(call)
    assert not h.of_type(ProtocolViolation)
    queued = Harness(auto_open=False)
    waiting = queued.start(c.ping())
    queued.engine.cancel(waiting, now=queued.now)
    queued.open()
    assert queued.methods(pending=False) == ["version"]


def test_connect_timeout() -> None:
    h = Harness(auto_accept=False, connect_timeout=2.0)
    call = h.start(c.ping())
    h.run_timers(h.now + 2.0)
    error = h.error(call)
    assert isinstance(error, SurrealTimeoutError)
    assert h.closed == [h.link]
    assert h.state() is ClientState.IDLE


def test_connect_timeout_before_the_tcp_connection() -> None:
    h = Harness(auto_open=False, connect_timeout=2.0)
    call = h.start(c.ping())
    h.run_timers(h.now + 2.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    assert h.closed == [h.link]
    # The adapter's open finishes late: the engine closes it again.
    h.engine.link_opened(h.link, now=h.now)
    h.flush()
    assert h.closed == [h.link, h.link]


# --------------------------------------------------------------------------- link failures


class SSLCertVerificationError(ValueError):
    """Named like ssl's: the core recognises TLS failures by class name."""


class SSLError(OSError):
    pass


class gaierror(OSError):
    pass


@pytest.mark.parametrize(("exc", "cls", "text"), [
    (ConnectionRefusedError(111, "refused"), SurrealConnectionError, "refused"),
    (gaierror(-2, "Name or service not known"), SurrealConnectionError, "resolve"),
    (SSLCertVerificationError("certificate verify failed"), TLSError, "verification"),
    (SSLError("wrong version number"), TLSError, "TLS handshake"),
    (TimeoutError(), SurrealTimeoutError, "timed out"),
    (OSError(113, "No route to host"), SurrealConnectionError, "No route"),
    (RuntimeError("x" * 500), SurrealConnectionError, "RuntimeError"),
])
def test_link_failures_map_to_api_errors(exc: BaseException, cls: type[Exception],
                                         text: str) -> None:
    h = Harness(auto_open=False)
    call = h.start(c.ping())
    h.fail_link(exc)
    error = h.error(call)
    assert type(error) is cls
    assert text in str(error)
    assert error.__cause__ is exc
    assert h.state() is ClientState.IDLE
    h.fail_link(exc)  # a repeated report is ignored


def test_handshake_refused() -> None:
    h = Harness(auto_accept=False)
    call = h.start(c.ping())
    h.feed(h.ws[h.link].reject(401, b"There was a problem with authentication"))
    error = h.error(call)
    assert isinstance(error, HandshakeError)
    assert error.status == 401


def test_dropped_link_without_reconnect_fails_everything() -> None:
    h = Harness(reconnect=False)
    call = h.start(c.select("a"))
    h.eof()
    error = h.error(call)
    assert isinstance(error, ConnectionClosedError)
    assert isinstance(error.__cause__, ConnectionClosedError)
    assert h.state() is ClientState.IDLE
    again = h.start(c.ping())  # a fresh connection
    assert len(h.opened) == 2
    h.answer("ping")
    assert h.result(again) is None


def test_server_close_frame_without_reconnect() -> None:
    h = Harness(reconnect=False)
    call = h.start(c.ping())
    h.feed(h.ws[h.link].close(1013, "overloaded"))
    error = h.error(call)
    assert isinstance(error, ConnectionClosedError)
    assert h.closed == [h.opened[0].link_id]


def test_keepalive_failure_ends_the_link() -> None:
    h = Harness(reconnect=False, keepalive_interval=10.0, keepalive_timeout=5.0,
                timeout=None)
    call = h.start(c.ping())
    h.run_timers(h.now + 10.0)  # we ping; the fake peer answers with a pong ...
    assert not h.done(call)
    h.ws[h.link].receive = lambda data: None  # type: ignore[method-assign]
    h.run_timers(h.now + 20.0)  # ... now it is gone
    assert isinstance(h.error(call), ConnectionClosedError)


# --------------------------------------------------------------------------- close


def test_close_fails_waiting_calls_and_is_idempotent() -> None:
    h = Harness()
    call = h.start(c.select("a"))
    closing = h.engine.close(now=h.now)
    h.flush()
    error = h.error(call)
    assert isinstance(error, ConnectionClosedError)
    assert h.state() is ClientState.CLOSED  # the fake peer echoed the Close
    assert h.result(closing) is None
    again = h.engine.close(now=h.now)
    h.flush()
    assert h.result(again) is None


def test_close_waits_for_the_close_handshake_with_a_bound() -> None:
    h = Harness(close_timeout=3.0)
    h.start(c.ping())
    h.ws[h.link].receive = lambda data: None  # type: ignore[method-assign]
    first = h.engine.close(now=h.now)
    h.flush()
    second = h.engine.close(now=h.now)
    h.flush()
    assert h.state() is ClientState.CLOSING
    late = h.start(c.ping())  # made while closing: waits for a fresh connection
    h.run_timers(h.now + 3.0)
    assert h.result(first) is None
    assert h.result(second) is None
    assert len(h.opened) == 2
    assert h.state() is ClientState.OPEN
    h.answer("ping")
    assert h.result(late) is None


def test_close_before_connecting_and_connect_after_close() -> None:
    h = Harness()
    closed = h.engine.close(now=h.now)
    h.flush()
    assert h.result(closed) is None
    assert h.state() is ClientState.CLOSED
    assert not h.opened
    call = h.start(c.ping())
    h.answer("ping")
    assert h.result(call) is None
    h.engine.close(now=h.now)
    h.flush()
    h.start(c.ping())
    assert len(h.opened) == 2  # a fresh connection after close()


def test_close_while_the_link_is_opening() -> None:
    h = Harness(auto_open=False)
    call = h.start(c.ping())
    done = h.engine.close(now=h.now)
    h.flush()
    assert isinstance(h.error(call), ConnectionClosedError)
    assert h.result(done) is None
    assert h.closed == [h.link]


def test_close_forgets_the_session() -> None:
    h = Harness(namespace="n", database="d")
    h.engine.connect(now=h.now)
    h.flush()
    h.answer("use", {"namespace": "n", "database": "d"})
    h.start(c.signin(ROOT))
    h.answer("signin", "jwt")
    h.engine.close(now=h.now)
    h.flush()
    assert h.engine.server_version is None
    h.start(c.ping())
    assert h.methods() == ["use"]  # the options again, not the signin


# --------------------------------------------------------------------------- misc


def test_insecure_transport_is_reported_once() -> None:
    h = Harness("ws://db.example.com:8000", reconnect=False)
    h.start(c.ping())
    h.eof()
    h.start(c.ping())
    (warning,) = h.of_type(InsecureTransportDetected)
    assert warning.host == "db.example.com"
    for url in ("wss://db.example.com", "ws://127.0.0.1:8000"):
        safe = Harness(url)
        safe.start(c.ping())
        assert not safe.of_type(InsecureTransportDetected)
    assert Harness("wss://db.example.com").opened == []
    tls = Harness("wss://db.example.com", auto_open=False)
    tls.start(c.ping())
    assert tls.opened[0].tls
    assert tls.opened[0].server_hostname == "db.example.com"
    assert tls.opened[0].port == 443


def test_sessions_need_3x() -> None:
    h = Harness(auto_version="surrealdb-2.1.0")
    h.engine.connect(now=h.now)
    h.flush()
    with pytest.raises(UnsupportedFeatureError):
        h.engine.new_session(now=h.now)
    with pytest.raises(UnsupportedFeatureError):
        h.start(c.begin())


def test_version_dependent_calls_queued_before_the_version_is_known() -> None:
    h = Harness(auto_version=None, auto_open=False)
    call = h.start(c.refresh({"access": "a", "refresh": "r"}))
    h.open()
    h.answer("version", "surrealdb-2.6.0")
    assert isinstance(h.error(call), UnsupportedFeatureError)
    assert "refresh" not in h.methods(pending=False)


def test_refresh_uses_the_remembered_pair() -> None:
    h = Harness()
    h.start(c.signin({"namespace": "n", "database": "d", "access": "user", "email": "e",
                      "password": PASSWORD}))
    h.answer("signin", {"access": "a1", "refresh": "r1"})
    call = h.start(c.refresh())
    assert h.request("refresh")["params"] == [{"access": "a1", "refresh": "r1"}]
    h.answer("refresh", {"access": "a2", "refresh": "r2"})
    assert h.result(call) == Tokens("a2", "r2")
    fresh = Harness()
    with pytest.raises(Exception, match="refresh"):
        fresh.start(c.refresh())


def test_bad_options() -> None:
    with pytest.raises(UnsupportedEngineError):
        ClientEngine("ftp://x")
    with pytest.raises(LocalProtocolError):
        ClientEngine("ws://localhost:8000", live_queue_size=0)
    with pytest.raises(LocalProtocolError):
        ClientEngine("ws://localhost:8000", auth={"bogus": 1})
    engine = ClientEngine("ws://localhost:8000", headers={"X-Trace": "1"}, reconnect=False)
    assert engine.state is ClientState.IDLE
    with pytest.raises(LocalProtocolError):  # refused at once, not when the link opens
        ClientEngine("ws://localhost:8000", headers={"Upgrade": "h2c"})
    with pytest.raises(LocalProtocolError):
        ClientEngine("http://localhost:8000", headers={"X-Bad": "a\r\nb"})


def test_headers_go_on_the_upgrade() -> None:
    h = Harness(headers=[("X-Trace", "abc")])
    h.start(c.ping())
    handshake = h.ws[h.link].handshake
    assert handshake is not None
    assert (b"X-Trace", b"abc") in handshake.extra_headers or \
        (b"x-trace", b"abc") in handshake.extra_headers


def test_no_secret_in_reprs() -> None:
    h = Harness(auth=ROOT)
    h.start(c.ping())
    assert_no_secret(repr(h.engine))
    assert_no_secret(repr(h.opened) + repr(h.events))
    settings = LinkSettings(endpoint=parse_url("ws://x:1"), headers=(), max_message_size=None,
                            keepalive_interval=None, keepalive_timeout=1.0, close_timeout=1.0)
    assert settings.endpoint.port == 1


def test_unknown_link_ids_are_ignored() -> None:
    h = Harness()
    h.start(c.ping())
    engine = h.engine
    engine.receive_data(999, b"x", now=h.now)
    engine.receive_eof(999, now=h.now)
    engine.link_failed(999, OSError(), now=h.now)
    assert engine.data_to_send(999) == b""
    assert engine.messages_to_send(999) == []
    assert engine.messages_to_send(h.link) == []
    engine.receive_message(999, b"", now=h.now)
    engine.receive_failure(999, 1, ValueError(), now=h.now)
    with pytest.raises(LocalProtocolError):
        engine.link_opened(h.link, now=h.now)


def test_uuid_session_helpers_are_deterministic() -> None:
    sid = UUID("11111111-1111-4111-8111-111111111111")
    h = Harness(session_id_factory=lambda: sid)
    session, call = h.engine.new_session(now=h.now)
    h.flush()
    assert session == sid
    assert h.request("attach")["session"] == sid
    h.answer("attach", NONE)
    assert h.result(call) is None


# --------------------------------------------------------------------------- edges


def test_health_does_not_hide_protocol_errors() -> None:
    h = Harness()
    call = h.start(c.health())
    req = h.request("ping")
    h.answered.add((h.link, req["id"]))
    h.feed(h.ws[h.link].message({"id": req["id"]}))  # neither result nor error
    assert h.error(call).__class__.__name__ == "RemoteProtocolError"


def test_kill_of_an_unknown_id_is_sent_as_given() -> None:
    h = Harness()
    unknown = UUID("aaaaaaaa-0000-4000-8000-0000000000ff")
    h.start(c.kill(unknown))
    assert h.request("kill")["params"] == [unknown]


def test_replies_after_close_are_dropped() -> None:
    h = Harness(close_timeout=3.0)
    calls = [h.start(c.select("a")), h.start(c.select("b")), h.start(c.select("c"))]
    reqs = h.requests()
    peer = h.ws[h.link]
    peer.receive = lambda data: None  # type: ignore[method-assign]  # deaf to our Close
    h.engine.close(now=h.now)
    h.flush()
    assert all(isinstance(h.error(call), ConnectionClosedError) for call in calls)
    # The server still answers before its Close: nothing is delivered twice.
    h.feed(peer.reply(reqs[0]["id"], []))
    h.feed(peer.error(reqs[1]["id"], NOT_FOUND))
    h.feed(peer.message({"id": reqs[2]["id"]}))
    assert all(isinstance(h.error(call), ConnectionClosedError) for call in calls)
    h.feed(peer.close())
    assert h.state() is ClientState.CLOSED


def test_close_during_setup() -> None:
    h = Harness(auth=ROOT)
    call = h.start(c.ping())
    assert h.methods() == ["signin"]
    done = h.engine.close(now=h.now)
    h.flush()
    assert isinstance(h.error(call), ConnectionClosedError)
    assert h.result(done) is None


def test_close_after_a_failed_connect_waits_for_its_link() -> None:
    h = Harness(auth=ROOT, close_timeout=2.0)
    call = h.start(c.ping())
    h.ws[h.link].receive = lambda data: None  # type: ignore[method-assign]
    h.refuse("signin", INVALID_AUTH)  # the link is being closed (no echo from the server)
    assert isinstance(h.error(call), InvalidAuthError)
    assert h.state() is ClientState.IDLE
    done = h.engine.close(now=h.now)
    h.flush()
    assert h.state() is ClientState.CLOSING
    h.run_timers(h.now + 2.0)
    assert h.result(done) is None
    assert h.state() is ClientState.CLOSED


def test_adapter_may_report_a_surreal_error() -> None:
    h = Harness(auto_open=False)
    call = h.start(c.ping())
    failure = TLSError("custom")
    h.fail_link(failure)
    assert h.error(call) is not failure
    assert str(h.error(call)) == "custom"


def test_data_to_send_for_links_without_bytes() -> None:
    h = Harness(auto_open=False)
    h.start(c.ping())
    assert h.engine.data_to_send(h.link) == b""  # still opening
    embedded = Harness("mem://")
    embedded.engine.connect(now=embedded.now)
    embedded.flush()
    assert embedded.engine.data_to_send(embedded.link) == b""


def test_unfetched_last_bytes_are_kept_boundedly(monkeypatch: pytest.MonkeyPatch) -> None:
    from surreal_proto import _client_base
    from surreal_proto._client_events import OpenLink
    from tests.proto.helpers import FakeSurrealPeer

    monkeypatch.setattr(_client_base, "_FINAL_OUT_MEMORY", 1)
    engine = ClientEngine("ws://localhost:8000", close_timeout=1.0, keepalive_interval=None,
                          learn_session_expiry=False)
    links = []
    now = 0.0
    for _ in range(2):
        engine.connect(now=now)
        link = [e for e in engine.events() if isinstance(e, OpenLink)][-1].link_id
        links.append(link)
        engine.link_opened(link, now=now)
        peer = FakeSurrealPeer()
        peer.receive(engine.data_to_send(link))
        engine.receive_data(link, peer.accept(), now=now)
        peer.receive(engine.data_to_send(link))
        engine.receive_data(link, peer.reply(peer.requests[-1]["id"], "surrealdb-3.2.4"),
                            now=now)
        engine.close(now=now)  # the Close frame is queued; this adapter never takes it
        engine.handle_timeout(now + 1.0)
        now += 2.0
    assert engine.data_to_send(links[0]) == b""  # forgotten
    assert engine.data_to_send(links[1]) != b""
