"""ClientEngine auth: the credentials provider handshake, re-authentication and retry once on
an expired session, proactive renewal (protocol.md §7.5-7.8, API.md §8 Expiry)."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import (
    InvalidAuthError,
    LocalProtocolError,
    SessionExpiredError,
    SurrealConnectionError,
    SurrealTimeoutError,
)
from surreal_proto import _calls as c
from surreal_proto._client_events import ClientState
from surreal_proto._replay import SESSION_EXPIRY_SQL
from tests.proto.auth_helpers import PASSWORD, assert_no_secret, make_jwt
from tests.proto.client_helpers import INVALID_AUTH, NOW, SESSION_EXPIRED, Harness, ok

ROOT = {"username": "root", "password": PASSWORD}


def jwt(exp: float | None = NOW + 3600) -> str:
    return make_jwt({} if exp is None else {"exp": exp})


def signed_in(**options: Any) -> Harness:
    """An open client whose default session signed in with kept root credentials and got an
    expired token (so re-authentication uses the credentials)."""
    h = Harness(**options)
    call = h.start(c.signin(ROOT))
    h.answer("signin", jwt(NOW - 10))
    assert h.result(call).access is not None
    return h


# --------------------------------------------------------------------------- provider


@pytest.mark.parametrize(("answer", "method", "param"), [
    ("provided-token", "authenticate", "provided-token"),
    ({"username": "u", "password": PASSWORD}, "signin", {"user": "u", "pass": PASSWORD}),
])
def test_provider_on_connect(answer: Any, method: str, param: Any) -> None:
    h = Harness(auth_provider=True, namespace="n", database="d")
    call = h.start(c.ping())
    (needed,) = h.providers
    assert needed.session is None
    assert h.methods() == []  # nothing but the version probe until the provider answered
    h.engine.provide_auth(needed.ticket, answer, now=h.now)
    h.flush()
    assert h.request(method)["params"] == [param]
    h.answer(method, "jwt" if method == "signin" else None)
    h.answer("use", {"namespace": "n", "database": "d"})
    h.answer("ping")
    assert h.result(call) is None
    # A late answer to the same ticket is ignored.
    h.engine.provide_auth(needed.ticket, "again", now=h.now)
    h.flush()
    assert h.methods() == []


def test_provider_failure_fails_the_connect() -> None:
    h = Harness(auth_provider=True)
    call = h.start(c.ping())
    h.engine.provider_failed(h.providers[0].ticket, KeyError(PASSWORD), now=h.now)
    h.flush()
    error = h.error(call)
    assert isinstance(error, SurrealConnectionError)
    assert isinstance(error.__cause__, KeyError)
    assert_no_secret(str(error))
    assert h.state() is ClientState.IDLE


def test_provider_bad_answer_fails_the_connect() -> None:
    h = Harness(auth_provider=True)
    call = h.start(c.ping())
    h.engine.provide_auth(h.providers[0].ticket, 42, now=h.now)
    h.flush()
    assert isinstance(h.error(call), LocalProtocolError)


def test_provider_refused_then_nothing_else() -> None:
    h = Harness(auth_provider=True)
    call = h.start(c.ping())
    h.engine.provide_auth(h.providers[0].ticket, "bad-token", now=h.now)
    h.flush()
    h.refuse("authenticate", INVALID_AUTH)
    assert isinstance(h.error(call), InvalidAuthError)


def test_configured_token_falls_back_to_nothing() -> None:
    h = Harness(auth=jwt())
    call = h.start(c.ping())
    h.refuse("authenticate", INVALID_AUTH)
    assert isinstance(h.error(call), InvalidAuthError)


# --------------------------------------------------------------------------- expiry recovery


def test_session_expired_reauth_and_retry_once() -> None:
    h = signed_in()
    call = h.start(c.select("person"))
    h.refuse("select", SESSION_EXPIRED)
    assert not h.done(call)
    # The engine re-authenticates by itself with the kept credentials ...
    assert h.request("signin")["params"] == [{"user": "root", "pass": PASSWORD}]
    h.answer("signin", jwt())
    # ... and sends the call again, once.
    h.answer("select", [1])
    assert h.result(call) == [1]


def test_retry_happens_only_once() -> None:
    h = signed_in()
    call = h.start(c.select("person"))
    h.refuse("select", SESSION_EXPIRED)
    h.answer("signin", jwt(NOW - 10))
    h.refuse("select", SESSION_EXPIRED)  # the retry fails the same way
    error = h.error(call)
    assert isinstance(error, SessionExpiredError)
    assert h.methods() == []  # no third attempt, no further signin


def test_calls_failing_during_reauth_wait_for_it() -> None:
    h = signed_in()
    first = h.start(c.select("a"))
    second = h.start(c.select("b"))
    h.refuse("select", SESSION_EXPIRED)
    h.refuse("select", SESSION_EXPIRED)  # the reauth is in flight: this one waits
    assert h.methods() == ["signin"]
    h.answer("signin", jwt())
    h.answer("select", ["a"])
    h.answer("select", ["b"])
    assert h.result(first) == ["a"]
    assert h.result(second) == ["b"]


def test_reauth_refused_fails_the_waiting_calls() -> None:
    h = signed_in()
    call = h.start(c.select("a"))
    h.refuse("select", SESSION_EXPIRED)
    h.refuse("signin", INVALID_AUTH)
    error = h.error(call)
    assert isinstance(error, SessionExpiredError)
    assert isinstance(error.__cause__, SessionExpiredError)


def test_no_credentials_raises_at_once() -> None:
    h = Harness()
    call = h.start(c.authenticate(jwt(NOW - 10)))
    h.answer("authenticate")
    assert h.result(call) is None
    query = h.start(c.query("RETURN 1"))
    h.refuse("query", SESSION_EXPIRED)
    error = h.error(query)
    assert isinstance(error, SessionExpiredError)
    assert "SESSION duration" in str(error)


def test_cancelled_while_waiting_for_reauth() -> None:
    h = signed_in()
    call = h.start(c.select("a"))
    h.refuse("select", SESSION_EXPIRED)
    h.engine.cancel(call, now=h.now)
    h.answer("signin", jwt())
    assert h.methods() == []  # not sent again
    assert not h.done(call)


def test_timeout_while_waiting_for_reauth() -> None:
    h = signed_in(timeout=5.0)
    call = h.start(c.select("a"))
    h.refuse("select", SESSION_EXPIRED)
    h.run_timers(h.now + 5.0)
    assert isinstance(h.error(call), SurrealTimeoutError)
    h.answer("signin", jwt())  # the reauth (its own deadline is later) completes
    assert h.methods() == []


def test_recovery_through_the_provider() -> None:
    h = Harness(auth_provider=True)
    h.start(c.ping())
    h.engine.provide_auth(h.providers[0].ticket, jwt(NOW - 10), now=h.now)
    h.flush()
    h.answer("authenticate")
    h.answer("ping")
    call = h.start(c.select("a"))
    h.refuse("select", SESSION_EXPIRED)
    (_, needed) = h.providers
    h.engine.provide_auth(needed.ticket, jwt(), now=h.now)
    h.flush()
    h.answer("authenticate")
    h.answer("select", [])
    assert h.result(call) == []


def test_internal_step_timeout_fails_the_chain() -> None:
    h = signed_in(timeout=5.0)
    call = h.start(c.select("a"), timeout=None)
    h.refuse("select", SESSION_EXPIRED)
    h.run_timers(h.now + 5.0)  # the signin never answers
    assert isinstance(h.error(call), SessionExpiredError)


def test_version_probe_timeout_does_not_block_setup() -> None:
    h = Harness(auto_version=None, timeout=5.0)
    call = h.start(c.ping(), timeout=None)
    assert h.methods() == ["version"]
    h.run_timers(h.now + 5.0)
    assert h.state() is ClientState.OPEN
    h.answer("ping")
    assert h.result(call) is None
    assert h.engine.server_version is None


# --------------------------------------------------------------------------- renewal


def test_session_expiry_is_learnt_and_renewed_ahead() -> None:
    h = Harness(learn_session_expiry=True, auth=ROOT, keepalive_interval=None)
    h.engine.connect(now=h.now)
    h.flush()
    h.answer("signin", jwt())
    # After the auth, the engine asks for the session expiry (protocol.md §7.8 step 2).
    req = h.request("query")
    assert req["params"] == [SESSION_EXPIRY_SQL]
    assert h.state() is ClientState.OPEN  # it does not hold the setup back
    h.reply(req["id"], [ok(NOW + 600)])
    deadline = h.engine.next_deadline()
    assert deadline is not None
    assert deadline <= NOW + 600
    h.run_timers(deadline)
    # Proactive renewal: authenticate with the still-valid token, then learn again.
    assert h.methods() == ["authenticate"]
    h.answer("authenticate")
    assert h.request("query")["params"] == [SESSION_EXPIRY_SQL]
    h.answer("query", [ok(None)])  # never expires now
    assert h.engine.next_deadline() is None


def test_session_expiry_query_failure_is_ignored() -> None:
    h = Harness(learn_session_expiry=True, keepalive_interval=None)
    call = h.start(c.signin(ROOT))
    h.answer("signin", jwt())
    h.refuse("query", INVALID_AUTH)
    assert h.result(call).access is not None
    assert h.engine.next_deadline() is None


def test_recovery_falls_back_from_refresh_to_credentials() -> None:
    h = Harness()
    creds = {"namespace": "n", "database": "d", "access": "user", "email": "e",
             "password": PASSWORD}
    h.start(c.signin(creds))
    h.answer("signin", {"access": jwt(NOW - 10), "refresh": "r1"})
    call = h.start(c.select("a"))
    h.refuse("select", SESSION_EXPIRED)
    h.refuse("refresh", INVALID_AUTH)  # the refresh token was revoked ...
    assert h.methods() == ["signin"]  # ... so the kept credentials are next
    h.answer("signin", {"access": jwt(), "refresh": "r2"})
    h.answer("select", ["a"])
    assert h.result(call) == ["a"]
