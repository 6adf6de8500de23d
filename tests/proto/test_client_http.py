"""ClientEngine over HTTP (the keep-alive pool, client-side session, 401 renewal) and the
short-lived HTTP links for import_/export on a ws(s) URL (API.md §5, protocol.md §3, §7.6)."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import (
    ConnectionClosedError,
    OutcomeUnknownError,
    QueryError,
    SurrealConnectionError,
    SurrealTimeoutError,
    TokenExpiredError,
    UnsupportedFeatureError,
)
from surreal_proto import _calls as c
from surreal_proto._client_events import ClientState
from tests.proto.auth_helpers import PASSWORD, make_jwt
from tests.proto.client_helpers import NOW, Harness

URL = "http://localhost:8000"
ROOT = {"username": "root", "password": PASSWORD}


def jwt(exp: float = NOW + 3600) -> str:
    return make_jwt({"exp": exp})


def http(**options: Any) -> Harness:
    return Harness(URL, **options)


def opened(h: Harness) -> None:
    h.engine.connect(now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN


def test_lazy_connect_auth_and_local_use() -> None:
    h = http(namespace="app", database="main", auth=ROOT)
    call = h.start(c.select("person"))
    assert h.opened[0].transport == "http"
    req = h.http_answer("signin", jwt())
    assert req.envelope()["params"] == [{"user": "root", "pass": PASSWORD}]
    assert "authorization" not in req.headers  # signin carries its own credentials
    # use was answered client-side: the select carries the context as headers.
    _, select = h.http_find("select")
    assert select.headers["surreal-ns"] == "app"
    assert select.headers["surreal-db"] == "main"
    assert select.headers["authorization"].startswith("Bearer ")
    h.http_answer("select", [{"a": 1}])
    assert h.result(call) == [{"a": 1}]
    assert h.engine.namespace == "app"
    assert str(h.engine.server_version) == "3.2.4"


def test_local_answers_send_nothing() -> None:
    h = http()
    opened(h)
    calls = [h.start(c.use("n", "d")), h.start(c.let("x", 1)), h.start(c.unset("x"))]
    assert [h.result(call) for call in calls] == [None, None, None]
    assert h.http_methods() == []


def test_pool_grows_only_when_every_link_is_busy() -> None:
    h = http(http_pool_size=2)
    opened(h)
    assert len(h.opened) == 1
    first = h.start(c.select("a"))
    second = h.start(c.select("b"))
    third = h.start(c.select("c"))
    assert len(h.opened) == 2  # the bound
    assert h.http_methods() == ["select", "select"]
    link_a, _ = h.http_find("select")
    h.http_reply(["a"], link=link_a)
    assert h.http_methods() == ["select", "select"]  # the freed link took the third call
    assert h.http_pending(link_a)[0].envelope()["params"][0].value == "c"
    h.http_reply(["c"], link=link_a)
    h.http_answer("select", ["b"])
    assert [h.result(x) for x in (first, second, third)] == [["a"], ["b"], ["c"]]
    again = h.start(c.ping())
    h.http_answer("ping")
    assert h.result(again) is None
    assert len(h.opened) == 2


def test_expired_token_401_reauth_and_retry_once() -> None:
    h = http()
    opened(h)
    h.start(c.signin(ROOT))
    h.http_answer("signin", jwt())
    call = h.start(c.select("a"))
    link, _ = h.http_find("select")
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"), link=link)
    h.http_answer("signin", jwt())
    h.http_answer("select", [1])
    assert h.result(call) == [1]
    # Only once: a second 401 on the retry is final.
    again = h.start(c.select("a"))
    link, _ = h.http_find("select")
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"), link=link)
    h.http_answer("signin", jwt())
    link, _ = h.http_find("select")
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"), link=link)
    assert isinstance(h.error(again), TokenExpiredError)


def test_token_renewed_ahead_of_expiry() -> None:
    h = http()
    opened(h)
    h.start(c.signin(ROOT))
    h.http_answer("signin", jwt(NOW + 3600))
    h.now = NOW + 3550  # within the 60 s margin of the token's exp
    call = h.start(c.select("a"))
    assert h.http_methods() == ["signin"]  # renewal first
    h.http_answer("signin", jwt())
    _, req = h.http_find("select")
    h.http_answer("select", [])
    assert h.result(call) == []
    assert req.headers["authorization"].startswith("Bearer ")


def test_renewal_failure_still_sends_the_call() -> None:
    h = http()
    opened(h)
    h.start(c.signin(ROOT))
    h.http_answer("signin", jwt(NOW + 3600))
    h.now = NOW + 3550
    call = h.start(c.select("a"))
    link, _ = h.http_find("signin")
    h.http_raw(lambda peer: peer.plain(401, "There was a problem with authentication"),
               link=link)
    h.http_answer("select", [])
    assert h.result(call) == []


def test_first_link_refused() -> None:
    h = http(auto_open=False)
    call = h.start(c.ping())
    h.fail_link(ConnectionRefusedError())
    assert isinstance(h.error(call), SurrealConnectionError)
    assert h.state() is ClientState.IDLE


def test_a_second_link_failing_is_harmless_the_last_is_not() -> None:
    h = http(http_pool_size=2, auto_open=False)
    h.engine.connect(now=h.now)
    h.flush()
    h.open(h.link)
    first = h.start(c.select("a"))
    second = h.start(c.select("b"))
    assert len(h.opened) == 2
    h.fail_link(ConnectionRefusedError(), link=h.opened[1].link_id)
    assert not h.done(second)  # the first link will carry it
    h.http_answer("select", ["a"])
    h.http_answer("select", ["b"])
    assert h.result(first) == ["a"]
    assert h.result(second) == ["b"]
    # Now the only link goes away; a call needs a new one, which is refused.
    h.eof(h.opened[0].link_id)
    third = h.start(c.ping())
    h.fail_link(ConnectionRefusedError())
    assert isinstance(h.error(third), SurrealConnectionError)
    assert h.state() is ClientState.OPEN  # HTTP has no session to lose


def test_server_closes_keepalive_then_a_new_link() -> None:
    h = http()
    opened(h)
    call = h.start(c.ping())
    link, _ = h.http_find("ping")
    h.http_raw(lambda peer: peer.rpc_result(None, close=True), link=link)
    assert h.result(call) is None
    assert link in h.closed
    again = h.start(c.ping())
    assert len(h.opened) == 2
    h.http_answer("ping")
    assert h.result(again) is None


def test_link_lost_mid_exchange() -> None:
    h = http(http_pool_size=2)
    opened(h)
    read = h.start(c.select("a"))
    write = h.start(c.create("a"))
    read_link, _ = h.http_find("select")
    write_link, _ = h.http_find("create")
    h.eof(read_link)
    h.eof(write_link)
    assert isinstance(h.error(write), OutcomeUnknownError)
    assert not h.done(read)
    h.http_answer("select", [])  # re-sent on a new link
    assert h.result(read) == []


def test_reply_larger_than_max_message_size_fails_the_call_and_is_not_resent() -> None:
    h = http(http_pool_size=2, max_message_size=200)
    opened(h)
    read = h.start(c.select("a"))
    write = h.start(c.create("a"))
    for method, call in (("select", read), ("create", write)):
        h.http_answer(method, ["x" * 500])
        error = h.error(call)
        assert isinstance(error, ConnectionClosedError)
        assert error.code == 1009
        assert "larger than max_response_size (200 bytes)" in str(error)
    assert h.http_methods() == []  # neither is sent again
    again = h.start(c.ping())
    h.http_answer("ping")
    assert h.result(again) is None


def test_timeout_closes_the_busy_link() -> None:
    h = http(timeout=2.0)
    opened(h)
    call = h.start(c.select("a"))
    link, _ = h.http_find("select")
    h.run_timers(h.now + 2.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    assert link in h.closed
    again = h.start(c.ping())
    h.http_answer("ping")
    assert h.result(again) is None


def test_health_import_export() -> None:
    h = http()
    opened(h)
    healthy = h.start(c.health())
    h.http_raw(lambda peer: peer.respond(200))
    assert h.result(healthy) is True
    sick = h.start(c.health())
    h.http_raw(lambda peer: peer.respond(500))
    assert h.result(sick) is False
    exported = h.start(c.export())
    assert h.http_pending()[0].target == "/export"
    h.http_raw(lambda peer: peer.respond(200, b"-- dump", content_type="text/plain"))
    assert h.result(exported) == "-- dump"
    imported = h.start(c.import_("CREATE a;"))
    assert h.http_pending()[0].body == b"CREATE a;"
    h.http_raw(lambda peer: peer.respond(200, b"[]", content_type="application/json"))
    assert h.result(imported) is None
    failing = h.start(c.import_("THROW 'x';"))
    h.http_raw(lambda peer: peer.respond(
        200, b'[{"status":"ERR","result":"x","time":"1ms"}]', content_type="application/json"))
    assert isinstance(h.error(failing), QueryError)


def test_unsupported_over_http() -> None:
    h = http()
    for call in (c.live("a"), c.kill("aaaaaaaa-0000-4000-8000-000000000001"), c.begin()):
        with pytest.raises(UnsupportedFeatureError):
            h.start(call)
    assert h.opened == []


def test_close_http() -> None:
    h = http()
    opened(h)
    call = h.start(c.select("a"))
    done = h.engine.close(now=h.now)
    h.flush()
    assert isinstance(h.error(call), ConnectionClosedError)
    assert h.result(done) is None
    assert h.state() is ClientState.CLOSED


# --------------------------------------------------------------------------- aux links (ws URL)


def ws_signed_in() -> Harness:
    h = Harness(namespace="app", database="main", keepalive_interval=None)
    h.start(c.signin(ROOT))
    h.answer("use", {"namespace": "app", "database": "main"})
    h.answer("signin", jwt())
    return h


def test_export_on_a_ws_url_uses_a_short_http_link() -> None:
    h = ws_signed_in()
    call = h.start(c.export())
    aux = h.opened[-1]
    assert aux.transport == "http"
    assert (aux.host, aux.port) == ("localhost", 8000)
    (req,) = h.http_pending(aux.link_id)
    assert req.target == "/export"
    assert req.headers["surreal-ns"] == "app"
    assert req.headers["authorization"].startswith("Bearer ")
    h.http_raw(lambda peer: peer.respond(200, b"-- dump", content_type="text/plain"),
               link=aux.link_id)
    assert h.result(call) == "-- dump"
    assert aux.link_id in h.closed
    assert h.state() is ClientState.OPEN


def test_aux_link_failures() -> None:
    h = ws_signed_in()
    h.auto_open = False
    refused = h.start(c.import_("CREATE a;"))
    h.fail_link(ConnectionRefusedError())
    assert isinstance(h.error(refused), SurrealConnectionError)
    imp = h.start(c.import_("CREATE a;"))
    h.open()
    h.eof()
    assert isinstance(h.error(imp), OutcomeUnknownError)
    exp = h.start(c.export())
    h.open()
    h.eof()
    assert isinstance(h.error(exp), ConnectionClosedError)
    slow = h.start(c.export(), timeout=1.0)
    h.run_timers(h.now + 1.0)
    assert isinstance(h.error(slow), SurrealTimeoutError)
    assert h.closed[-1] == h.link
    h.engine.link_opened(h.link, now=h.now)  # the open finishes after all: closed again
    h.flush()
    assert h.closed[-1] == h.link
    cancelled = h.start(c.export())
    aux = h.link
    h.engine.cancel(cancelled, now=h.now)
    h.flush()
    assert aux in h.closed


def test_aux_link_opened_after_its_call_timed_out_while_open() -> None:
    h = ws_signed_in()
    call = h.start(c.export(), timeout=1.0)
    aux = h.link
    h.run_timers(h.now + 1.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    assert aux in h.closed


def test_aux_401_reauthenticates_and_retries_once() -> None:
    h = ws_signed_in()
    call = h.start(c.export())
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"))
    # The WebSocket session signs in again for a fresh token; the export is retried once.
    h.answer("signin", jwt(), link=h.opened[0].link_id)
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"))
    assert isinstance(h.error(call), TokenExpiredError)
    other = h.start(c.export())
    h.http_raw(lambda peer: peer.error_message(403, "Forbidden", "Not allowed"))
    assert h.error(other).__class__.__name__ == "NotAllowedError"


def test_import_export_unsupported_on_embedded() -> None:
    h = Harness("mem://")
    for call in (c.import_("x"), c.export()):
        with pytest.raises(UnsupportedFeatureError):
            h.start(call)


def test_setup_step_lost_with_its_link() -> None:
    h = http(auth=ROOT)
    call = h.start(c.ping())
    link, _ = h.http_find("signin")
    h.eof(link)
    assert isinstance(h.error(call), ConnectionClosedError)
    assert h.state() is ClientState.IDLE


def test_setup_step_waiting_for_a_link_times_out() -> None:
    h = http(auth=ROOT, timeout=2.0, auto_version=None, auto_open=False)
    call = h.start(c.ping(), timeout=None)
    h.open()
    # The version probe holds the first link; the signin waits for a second one.
    assert h.http_methods() == ["version"]
    assert len(h.opened) == 2
    h.run_timers(h.now + 2.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    assert h.state() is ClientState.IDLE


def test_prepare_call_waiting_for_a_link_when_prepare_fails() -> None:
    h = http(has_prepare=True, auto_open=False)
    user = h.start(c.ping())
    h.open()
    own = [h.start(c.select("a"), setup=True), h.start(c.select("b"), setup=True)]
    assert len(h.opened) == 2  # the second call waits for a second link
    h.engine.prepare_failed(h.prepares[0].ticket, RuntimeError("no"), now=h.now)
    h.flush()
    assert all(isinstance(h.error(x), ConnectionClosedError) for x in own[1:])
    assert isinstance(h.error(user), SurrealConnectionError)


def test_call_times_out_while_waiting_for_a_renewal() -> None:
    h = http()
    opened(h)
    h.start(c.signin(ROOT))
    h.http_answer("signin", jwt(NOW + 3600))
    h.now = NOW + 3550
    call = h.start(c.select("a"), timeout=1.0)
    assert h.http_methods() == ["signin"]
    h.run_timers(h.now + 1.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    h.http_answer("signin", jwt())
    assert h.http_methods() == []  # the timed-out call is not sent after the renewal


def test_prepare_failure_with_a_recovery_waiting_for_the_link() -> None:
    h = http(auth=ROOT, has_prepare=True, http_pool_size=1)
    user = h.start(c.ping())
    h.http_answer("signin", jwt())
    first = h.start(c.select("a"), setup=True)
    second = h.start(c.select("b"), setup=True)  # waits: one link only
    link, _ = h.http_find("select")
    h.http_raw(lambda peer: peer.plain(401, "The token has expired"), link=link)
    # The recovery's signin now waits behind the second setup call.
    assert h.http_methods() == ["select"]
    h.engine.prepare_failed(h.prepares[0].ticket, RuntimeError("no"), now=h.now)
    h.flush()
    for call in (user, first, second):
        assert h.done(call)
    assert h.state() is ClientState.IDLE


def test_cancelling_the_exchange_in_progress_does_not_strand_queued_calls() -> None:
    # Abandoning the exchange in progress closes that h11 connection; a call queued behind it
    # must go to a fresh link, not onto the closed one.
    h = http(http_pool_size=1)
    opened(h)
    first = h.start(c.select("a"))
    second = h.start(c.select("b"))
    link, _ = h.http_find("select")
    h.engine.cancel(first, now=h.now)
    h.flush()
    assert link in h.closed
    h.http_answer("select", ["b"])
    assert h.result(second) == ["b"]
