"""ClientEngine with ``http_client=True``: one ``httpx`` link (HttpRequestConnection) carries
every call, any number in flight (API.md §3 ``http_client``).

The harness plays the HTTP client: it takes ``http_requests_to_send``, and tests answer with
the fake HTTP peer's replies parsed into ``(status, headers, body)`` or with the exception a
client raises.
"""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import (
    ConnectionClosedError,
    OutcomeUnknownError,
    QueryError,
    SurrealConnectionError,
    SurrealTimeoutError,
    TLSError,
    TokenExpiredError,
    UnsupportedFeatureError,
)
from surreal_proto import _calls as c
from surreal_proto._client import ClientEngine
from surreal_proto._client_events import CancelHttpRequest, ClientState, OpenLink
from tests.proto.auth_helpers import PASSWORD, make_jwt
from tests.proto.client_helpers import NOW, Harness, http_reply, rpc_ok

URL = "http://localhost:8000"
ROOT = {"username": "root", "password": PASSWORD}


class ConnectError(Exception):
    """Named like ``httpx.ConnectError`` (the core recognises exceptions by class name)."""


class ReadError(Exception):
    """Named like ``httpx.ReadError``: the request may have been sent."""


class SSLCertVerificationError(Exception):
    """Named like ``ssl.SSLCertVerificationError``."""


def jwt(exp: float = NOW + 3600) -> str:
    return make_jwt({"exp": exp})


def httpx(url: str = URL, **options: Any) -> Harness:
    return Harness(url, http_client=True, **options)


def opened(h: Harness) -> int:
    h.engine.connect(now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN
    return h.link


def cancels(h: Harness) -> list[CancelHttpRequest]:
    return h.of_type(CancelHttpRequest)


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("url", ["ws://localhost:8000", "wss://db.example.com", "mem://"])
def test_http_client_needs_an_http_url(url: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match="http_client"):
        ClientEngine(url, http_client=True)


def test_open_link_needs_no_io_and_names_the_base_url() -> None:
    h = httpx("https://db.example.com/surreal", auto_open=False)
    h.start(c.ping())
    (event,) = h.opened
    assert event == OpenLink(link_id=event.link_id, transport="httpx", host="db.example.com",
                             port=443, tls=True, server_hostname="db.example.com",
                             base_url="https://db.example.com/surreal")
    h.open()
    _, _, req = h.httpx_find("ping")
    assert (req.method, req.target) == ("POST", "/rpc")  # relative to base_url
    assert f"{event.base_url}{req.target}" == "https://db.example.com/surreal/rpc"


def test_other_links_have_no_base_url() -> None:
    h = Harness(URL, auto_open=False)
    h.start(c.ping())
    assert h.opened[0].transport == "http"
    assert h.opened[0].base_url is None


# --------------------------------------------------------------------------- calls


def test_lazy_connect_auth_and_local_use() -> None:
    h = httpx(namespace="app", database="main", auth=ROOT)
    call = h.start(c.select("person"))
    assert len(h.opened) == 1
    # Setup: the version probe and the signin go out together on the one link.
    assert sorted(h.httpx_methods()) == ["signin"]  # the harness answered the version
    req = h.httpx_answer("signin", jwt())
    assert cbor_params(req) == [{"user": "root", "pass": PASSWORD}]
    assert req.header("authorization") is None  # signin carries its own credentials
    _, _, select = h.httpx_find("select")
    assert select.header("surreal-ns") == "app"
    assert select.header("surreal-db") == "main"
    assert (select.header("authorization") or "").startswith("Bearer ")
    h.httpx_answer("select", [{"a": 1}])
    assert h.result(call) == [{"a": 1}]
    assert h.state() is ClientState.OPEN
    assert str(h.engine.server_version) == "3.2.4"
    assert h.engine.data_to_send(h.link) == b""  # nothing for sockets


def cbor_params(req: Any) -> Any:
    import cbor2

    return cbor2.loads(req.body)["params"]


def test_many_in_flight_on_one_link_answered_in_any_order() -> None:
    h = httpx()
    link = opened(h)
    calls = [h.start(c.select(name)) for name in ("a", "b", "c", "d", "e", "f")]
    assert len(h.opened) == 1  # no pool: the HTTP client pools itself
    assert h.httpx_methods() == ["select"] * 6
    for name in ("f", "c", "a", "e", "b", "d"):
        request_id = next(rid for rid, req in h.httpx_pending[link].items()
                          if cbor_params(req)[0].value == name)
        del h.httpx_pending[link][request_id]
        status, headers, body = rpc_ok([name])
        h.engine.receive_http_response(link, request_id, status, headers, body, now=h.now)
        h.flush()
    assert [h.result(x) for x in calls] == [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]
    assert h.state() is ClientState.OPEN


def test_local_answers_send_nothing() -> None:
    h = httpx()
    opened(h)
    calls = [h.start(c.use("n", "d")), h.start(c.let("x", 1)), h.start(c.unset("x"))]
    assert [h.result(call) for call in calls] == [None, None, None]
    assert h.httpx_methods() == []


def test_health_import_export_go_through_the_same_link() -> None:
    h = httpx(namespace="app", database="main")
    link = opened(h)
    healthy = h.start(c.health())
    sick = h.start(c.health())
    exported = h.start(c.export())
    imported = h.start(c.import_("CREATE a;"))
    assert h.httpx_methods() == ["/health", "/health", "/export", "/import"]
    assert {r.link_id for r in h.opened} == {link}
    h.httpx_respond("/health", http_reply(lambda peer: peer.respond(200)))
    h.httpx_respond("/health", http_reply(lambda peer: peer.respond(500)))
    export = h.httpx_respond("/export", http_reply(
        lambda peer: peer.respond(200, b"-- dump", content_type="text/plain")))
    assert export.header("surreal-ns") == "app"
    imp = h.httpx_respond("/import", http_reply(
        lambda peer: peer.respond(200, b"[]", content_type="application/json")))
    assert imp.body == b"CREATE a;"
    assert (h.result(healthy), h.result(sick)) == (True, False)
    assert h.result(exported) == "-- dump"
    assert h.result(imported) is None
    failing = h.start(c.import_("THROW 'x';"))
    h.httpx_respond("/import", http_reply(lambda peer: peer.respond(
        200, b'[{"status":"ERR","result":"x","time":"1ms"}]', content_type="application/json")))
    assert isinstance(h.error(failing), QueryError)


def test_unsupported_over_httpx() -> None:
    h = httpx()
    for call in (c.live("a"), c.begin()):
        with pytest.raises(UnsupportedFeatureError):
            h.start(call)
    assert h.opened == []


def test_expired_token_401_reauth_and_retry_once() -> None:
    h = httpx()
    opened(h)
    h.start(c.signin(ROOT))
    h.httpx_answer("signin", jwt())
    call = h.start(c.select("a"))
    expired = http_reply(lambda peer: peer.plain(401, "The token has expired"))
    h.httpx_respond("select", expired)
    h.httpx_answer("signin", jwt())
    h.httpx_answer("select", [1])
    assert h.result(call) == [1]
    again = h.start(c.select("a"))
    h.httpx_respond("select", expired)
    h.httpx_answer("signin", jwt())
    h.httpx_respond("select", expired)
    assert isinstance(h.error(again), TokenExpiredError)


def test_token_renewed_ahead_of_expiry() -> None:
    h = httpx()
    opened(h)
    h.start(c.signin(ROOT))
    h.httpx_answer("signin", jwt(NOW + 3600))
    h.now = NOW + 3550  # within the 60 s margin of the token's exp
    call = h.start(c.select("a"))
    assert h.httpx_methods() == ["signin"]  # renewal first
    h.httpx_answer("signin", jwt())
    h.httpx_answer("select", [])
    assert h.result(call) == []


# --------------------------------------------------------------------------- failures


def test_client_exceptions_fail_only_their_call() -> None:
    h = httpx()
    link = opened(h)
    refused = h.start(c.create("a"))
    h.httpx_fail("create", ConnectError("connection refused"))
    error = h.error(refused)
    assert type(error) is SurrealConnectionError  # not sent: safe to send again
    assert isinstance(error.__cause__, ConnectError)
    cut = h.start(c.create("a"))
    h.httpx_fail("create", ReadError("peer closed"))
    assert isinstance(h.error(cut), OutcomeUnknownError)  # it may have run
    read = h.start(c.select("a"))
    h.httpx_fail("select", ReadError("peer closed"))
    assert type(h.error(read)) is SurrealConnectionError  # a read: safe to run again
    tls = h.start(c.ping())
    h.httpx_fail("ping", SSLCertVerificationError("self-signed"))
    assert isinstance(h.error(tls), TLSError)
    # The adapter may pass an API.md §7 error of its own, even a ConnectionClosedError:
    # no ConnectionClosed follows for an httpx link, so the call fails with it at once.
    gone = h.start(c.ping())
    h.httpx_fail("ping", ConnectionClosedError("the HTTP client was closed"))
    assert str(h.error(gone)) == "the HTTP client was closed"
    assert h.state() is ClientState.OPEN
    assert [e.link_id for e in h.opened] == [link]
    again = h.start(c.ping())
    h.httpx_answer("ping")
    assert h.result(again) is None


def test_connect_fails_when_the_version_probe_cannot_reach_the_server() -> None:
    h = httpx(auto_version=None)
    call = h.engine.connect(now=h.now)
    h.flush()
    assert h.httpx_methods() == ["version"]  # the only exchange: connect waits for it
    h.httpx_fail("version", ConnectError("connection refused"))
    assert type(h.error(call)) is SurrealConnectionError
    assert h.state() is ClientState.IDLE
    assert h.closed == [h.link]
    # Not SurrealDB (404): a HandshakeError, also a connection error.
    call = h.engine.connect(now=h.now)
    h.flush()
    h.httpx_respond("version", http_reply(lambda peer: peer.plain(404, "Not Found")))
    assert type(h.error(call)).__name__ == "HandshakeError"
    # A server error from the probe (an old server without it) does not stop the connect.
    call = h.engine.connect(now=h.now)
    h.flush()
    h.httpx_respond("version", http_reply(lambda peer: peer.rpc_error(
        {"code": -32601, "message": "Method not found"})))
    assert h.result(call) is None
    assert h.state() is ClientState.OPEN


def test_first_setup_failure_leaves_the_client_idle() -> None:
    h = httpx(auth=ROOT)
    call = h.start(c.ping())
    h.httpx_fail("signin", ConnectError("refused"))
    assert isinstance(h.error(call), SurrealConnectionError)
    assert h.state() is ClientState.IDLE
    assert h.closed == [h.link]
    # The next call opens a fresh httpx link.
    retry = h.start(c.ping())
    assert len(h.opened) == 2
    h.httpx_answer("signin", jwt())
    h.httpx_answer("ping")
    assert h.result(retry) is None


def test_link_failed_by_the_adapter() -> None:
    h = httpx()
    link = opened(h)
    write = h.start(c.create("a"))
    read = h.start(c.select("a"))
    h.fail_link(RuntimeError("the HTTP client is gone"), link=link)
    assert isinstance(h.error(write), OutcomeUnknownError)
    assert link in h.closed
    # The read was re-sent on a new httpx link.
    assert len(h.opened) == 2
    h.httpx_answer("select", [])
    assert h.result(read) == []


def test_not_opened_refused() -> None:
    h = httpx(auto_open=False)
    call = h.start(c.ping())
    h.fail_link(RuntimeError("no client"))
    assert isinstance(h.error(call), SurrealConnectionError)
    assert h.state() is ClientState.IDLE


# --------------------------------------------------------------------------- cancel, timeout


def test_cancel_in_flight_tells_the_adapter_and_drops_the_late_reply() -> None:
    h = httpx()
    link = opened(h)
    call = h.start(c.select("a"))
    _, request_id, _ = h.httpx_find("select")
    h.engine.cancel(call, now=h.now)
    h.flush()
    assert cancels(h) == [CancelHttpRequest(link_id=link, request_id=request_id)]
    status, headers, body = rpc_ok(["late"])
    h.engine.receive_http_response(link, request_id, status, headers, body, now=h.now)
    h.engine.receive_http_failure(link, request_id, ReadError("late"), now=h.now)
    h.flush()
    assert not h.done(call)
    assert h.state() is ClientState.OPEN


def test_cancel_before_it_was_handed_out_sends_nothing() -> None:
    h = httpx()
    link = opened(h)
    call = h.engine.start(c.select("a"), now=h.now)  # not flushed: not handed out yet
    h.engine.cancel(call, now=h.now)
    h.flush()
    assert cancels(h) == []
    assert h.httpx_pending[link] == {}
    assert not h.done(call)


def test_timeout_abandons_and_cancels_the_request() -> None:
    h = httpx(timeout=2.0)
    link = opened(h)
    call = h.start(c.select("a"))
    _, request_id, _ = h.httpx_find("select")
    h.run_timers(h.now + 2.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    assert cancels(h) == [CancelHttpRequest(link_id=link, request_id=request_id)]
    assert link not in h.closed  # unlike h11, the link goes on
    again = h.start(c.ping())
    h.httpx_answer("ping")
    assert h.result(again) is None


# --------------------------------------------------------------------------- close


def test_close_then_reopen() -> None:
    h = httpx()
    link = opened(h)
    call = h.start(c.select("a"))
    _, request_id, _ = h.httpx_find("select")
    done = h.engine.close(now=h.now)
    h.flush()
    assert isinstance(h.error(call), ConnectionClosedError)
    assert h.result(done) is None
    assert link in h.closed  # CloseLink: cancel what is in flight
    assert h.state() is ClientState.CLOSED
    # Late outcomes for a closed link, and requests for it, are ignored.
    status, headers, body = rpc_ok(["late"])
    h.engine.receive_http_response(link, request_id, status, headers, body, now=h.now)
    h.engine.receive_http_failure(link, request_id, ReadError("late"), now=h.now)
    assert h.engine.http_requests_to_send(link) == []
    assert h.engine.data_to_send(link) == b""
    h.flush()
    again = h.start(c.ping())
    assert len(h.opened) == 2
    h.httpx_answer("ping")
    assert h.result(again) is None


def test_close_while_the_link_is_opening() -> None:
    h = httpx(auto_open=False)
    h.start(c.ping())
    done = h.engine.close(now=h.now)
    h.flush()
    assert h.result(done) is None
    assert h.closed == [h.link]


def test_httpx_methods_ignore_other_links() -> None:
    h = Harness(URL)
    h.engine.connect(now=h.now)
    h.flush()
    link = h.link
    assert h.engine.http_requests_to_send(link) == []
    call = h.start(c.ping())
    status, headers, body = rpc_ok(None)
    h.engine.receive_http_response(link, 1, status, headers, body, now=h.now)
    h.engine.receive_http_failure(link, 1, ReadError("x"), now=h.now)
    h.flush()
    assert not h.done(call)  # the h11 link only takes bytes
