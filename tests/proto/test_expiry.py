"""Expiry decisions with explicit clocks: session expiry on WebSocket, token expiry on HTTP,
re-authentication order, the single-retry rule, proactive renewal (protocol.md §7.5-7.8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from surreal_proto import (
    InvalidAuthError,
    NotFoundError,
    ServerError,
    SessionExpiredError,
    TokenExpiredError,
    server_error_from_wire,
)
from surreal_proto._expiry import (
    RecoveryAction,
    give_up_error,
    renew_at,
    session_expiry_value,
)
from surreal_proto._replay import SESSION_EXPIRY_SQL, CallKind, PlannedCall, Purpose
from surreal_proto._session import SessionTracker
from surreal_proto._values import NULL
from tests.proto.auth_helpers import PASSWORD, REFRESH, REFRESH2, assert_no_secret, make_jwt

NOW = 1_000_000.0
S1 = UUID("11111111-1111-4111-8111-111111111111")
ROOT = {"user": "root", "pass": PASSWORD}


def tok(exp: float | None = NOW + 3600) -> str:
    return make_jwt({} if exp is None else {"exp": exp, "ID": "root"})


def session_expired() -> SessionExpiredError:
    error = server_error_from_wire({
        "code": -32000, "kind": "NotAllowed", "message": "The session has expired",
        "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}})
    assert isinstance(error, SessionExpiredError)
    return error


def token_expired() -> TokenExpiredError:
    return TokenExpiredError("HTTP 401 on /rpc: The token has expired",
                             details={"kind": "Auth", "details": {"kind": "TokenExpired"}})


def ok(value: Any) -> list[dict[str, Any]]:
    return [{"status": "OK", "time": "1µs", "result": value, "type": None}]


def tracker_with(*, http: bool = False, token: str | None = None, refresh: str | None = None,
                 creds: bool = False, provider: bool = False) -> SessionTracker:
    """A default session authenticated with exactly the given renewal sources."""
    tracker = SessionTracker(http=http, auth_provider=provider)
    if creds:
        tracker.on_success("signin", [ROOT], None, token or "", NOW)
        if token is None:  # credentials only, no token
            tracker.session().auth = replace(tracker.session().auth, access=None)
    elif token is not None:
        tracker.on_success("authenticate", [token], None, None, NOW)
    if refresh is not None:
        tracker.on_success("refresh", [], None, {"access": token or tok(NOW - 1),
                                                 "refresh": refresh}, NOW)
    return tracker


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(("exp", "since", "margin", "expected"), [
    (NOW + 3600, NOW, 60.0, NOW + 3540),  # long: margin early
    (NOW + 90, NOW, 60.0, NOW + 60),  # never more often than every margin seconds
    (NOW + 30, NOW, 60.0, NOW + 30),  # short: at expiry
    (NOW - 5, NOW, 60.0, NOW - 5),  # already past: due now
    (NOW + 3600, NOW, 0.0, NOW + 3600),
])
def test_renew_at(exp: float, since: float, margin: float, expected: float) -> None:
    assert renew_at(exp, since, margin) == expected


@pytest.mark.parametrize(("result", "expected"), [
    (ok(NOW + 3), (True, NOW + 3)),
    (ok(12.5), (True, 12.5)),
    (ok(None), (True, None)),
    (ok(NULL), (True, None)),
    (ok(datetime(2024, 1, 1, tzinfo=UTC)), (True, 1704067200.0)),
    (ok(datetime(2024, 1, 1)), (True, 1704067200.0)),  # naive: UTC
    (ok(True), (False, None)),
    (ok("soon"), (False, None)),
    (ok(10**400), (False, None)),
    (ok(float("inf")), (False, None)),
    ([{"status": "ERR", "result": "boom"}], (False, None)),
    (["not a map"], (False, None)),
    ([], (False, None)),
    ("text", (False, None)),
    (None, (False, None)),
], ids=repr)
def test_session_expiry_value(result: Any, expected: tuple[bool, float | None]) -> None:
    assert session_expiry_value(result) == expected


def test_give_up_error_for_a_session_expiry() -> None:
    original = session_expired()
    error = give_up_error(original, http=False)
    assert type(error) is SessionExpiredError
    assert error is not original
    assert error.__cause__ is original
    assert (error.code, error.kind, error.details) == (original.code, original.kind,
                                                       original.details)
    assert error.detail_path == ("Auth", "SessionExpired")
    text = str(error)
    assert text.startswith("The session has expired: the SESSION duration ran out")
    for hint in ("signin()", "auth=", "WITH REFRESH", "DURATION FOR SESSION"):
        assert hint in text


@pytest.mark.parametrize(("http", "where"), [
    (True, "over HTTP every request is authenticated by its token"),
    (False, "the token was used after its expiry"),
])
def test_give_up_error_for_a_token_expiry(http: bool, where: str) -> None:
    error = give_up_error(token_expired(), http=http)
    assert type(error) is TokenExpiredError
    assert "the TOKEN duration ran out" in str(error)
    assert "DURATION FOR TOKEN" in str(error)
    assert where in str(error)


def test_give_up_error_leaves_other_errors_alone() -> None:
    other = NotFoundError("nope")
    assert give_up_error(other, http=False) is other


# --------------------------------------------------------------------------- on_error


@pytest.mark.parametrize("error", [
    NotFoundError("The table 'x' does not exist"),
    InvalidAuthError("There was a problem with authentication"),
    ServerError("boom"),
], ids=lambda e: type(e).__name__)
def test_other_errors_are_raised_unchanged(error: ServerError) -> None:
    tracker = tracker_with(creds=True)
    decision = tracker.on_error(error, "select", ["t"], None, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert decision.error is error
    assert decision.reauth is None


@pytest.mark.parametrize("method", ["signin", "signup", "authenticate", "refresh", "revoke",
                                    "invalidate", "reset"])
def test_expiry_errors_of_auth_calls_are_final(method: str) -> None:
    error = token_expired()
    decision = tracker_with(creds=True).on_error(error, method, [], None, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert decision.error is error


def test_ws_session_expiry_reauthenticates_with_a_valid_token_first() -> None:
    token = tok(NOW + 3600)
    tracker = tracker_with(token=token, refresh=REFRESH, provider=True)
    tracker.on_success("signin", [ROOT], None, {"access": token, "refresh": REFRESH}, NOW)
    decision = tracker.on_error(session_expired(), "query", ["SELECT 1"], None, NOW + 10)
    assert decision.action is RecoveryAction.REAUTH_AND_RETRY
    assert decision.session is None
    call = decision.reauth
    assert call is not None
    assert (call.kind, call.method, call.params, call.purpose) == (
        CallKind.AUTH, "authenticate", (token,), Purpose.RECOVER)
    # With a provider, signin credentials are not kept: the provider is asked instead.
    assert [a.method or a.kind.name for a in call.alternatives] == ["refresh", "ASK_PROVIDER"]
    assert isinstance(decision.error, SessionExpiredError)
    assert_no_secret(repr(decision), token)


@pytest.mark.parametrize(("sources", "first"), [
    ({"token": tok(NOW + 5), "refresh": REFRESH}, "refresh"),  # token too close to expiry
    ({"creds": True}, "signin"),
    ({"provider": True, "token": tok(NOW - 1)}, "ASK_PROVIDER"),
])
def test_ws_session_expiry_reauth_order(sources: dict[str, Any], first: str) -> None:
    tracker = tracker_with(**sources)
    decision = tracker.on_error(session_expired(), "select", ["t"], None, NOW)
    assert decision.action is RecoveryAction.REAUTH_AND_RETRY
    assert decision.reauth is not None
    assert (decision.reauth.method or decision.reauth.kind.name) == first


def test_ws_session_expiry_with_nothing_to_renew_with_gives_up() -> None:
    tracker = tracker_with(token=tok(NOW - 1))  # authenticate() only, token now expired
    original = session_expired()
    decision = tracker.on_error(original, "select", ["t"], None, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert isinstance(decision.error, SessionExpiredError)
    assert decision.error.__cause__ is original
    assert "SESSION duration ran out" in str(decision.error)
    assert_no_secret(str(decision.error))


def test_expiry_of_an_anonymous_or_unknown_session_gives_up() -> None:
    tracker = SessionTracker(auth_provider=True)
    tracker.on_success("invalidate", [], None, None, NOW)  # signed out on purpose
    decision = tracker.on_error(session_expired(), "select", [], None, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert "SESSION duration" in str(decision.error)
    decision = tracker.on_error(session_expired(), "select", [], S1, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert decision.session == S1


def test_single_retry_rule_and_waiting_for_a_reauth_in_flight() -> None:
    tracker = tracker_with(creds=True)
    first = tracker.on_error(session_expired(), "create", ["t", {}], None, NOW)
    assert first.action is RecoveryAction.REAUTH_AND_RETRY
    assert tracker.session().renewing
    second = tracker.on_error(session_expired(), "select", ["t"], None, NOW)
    assert second.action is RecoveryAction.WAIT_AND_RETRY
    assert second.reauth is None
    assert "SESSION duration" in str(second.error)
    assert first.reauth is not None
    tracker.plan_succeeded(first.reauth, tok(), NOW + 1)
    assert not tracker.session().renewing
    original = session_expired()
    again = tracker.on_error(original, "create", ["t", {}], None, NOW + 1, retried=True)
    assert again.action is RecoveryAction.RAISE
    assert again.error is original  # once only: the retry's error is final


def test_recovery_chain_exhausted() -> None:
    tracker = tracker_with(token=tok(NOW + 3600), refresh=REFRESH, creds=True)
    tracker.set_auth_provider(None)
    decision = tracker.on_error(session_expired(), "select", [], None, NOW)
    step: PlannedCall | None = decision.reauth
    tried = []
    while step is not None:
        tried.append(step.method or step.kind.name)
        step = tracker.plan_failed(step)
    assert tried == ["authenticate", "refresh", "signin", "ASK_PROVIDER"]
    assert not tracker.session().renewing
    assert tracker.session().auth.authenticated  # RECOVER failing changes nothing else


def test_legacy_2x_session_expiry_message_is_recognised() -> None:
    error = server_error_from_wire({
        "code": -32000,
        "message": "There was a problem with the database: The session has expired"})
    decision = tracker_with(creds=True).on_error(error, "select", [], None, NOW)
    assert decision.action is RecoveryAction.REAUTH_AND_RETRY


def test_http_token_expiry_never_reuses_the_token() -> None:
    token = tok(NOW + 3600)  # our clock says valid; the server says expired (skew)
    tracker = tracker_with(http=True, token=token, refresh=REFRESH)
    decision = tracker.on_error(token_expired(), "select", ["t"], None, NOW)
    assert decision.reauth is not None
    assert decision.reauth.method == "refresh"
    assert decision.reauth.params == ({"access": token, "refresh": REFRESH},)
    tracker.plan_succeeded(decision.reauth, {"access": tok(NOW + 7200), "refresh": REFRESH2},
                           NOW)
    assert tracker.tokens().refresh == REFRESH2


def test_http_token_expiry_with_nothing_to_renew_with() -> None:
    tracker = tracker_with(http=True, token=tok(NOW + 3600))
    decision = tracker.on_error(token_expired(), "select", ["t"], None, NOW)
    assert decision.action is RecoveryAction.RAISE
    assert isinstance(decision.error, TokenExpiredError)
    assert "TOKEN duration ran out" in str(decision.error)
    assert "over HTTP" in str(decision.error)


def test_ws_token_expiry_does_not_reuse_the_token() -> None:
    tracker = tracker_with(token=tok(NOW + 3600), creds=True)
    decision = tracker.on_error(token_expired(), "select", [], None, NOW)
    assert decision.reauth is not None
    assert decision.reauth.method == "signin"


# --------------------------------------------------------------------------- renewal, WebSocket


def learn(tracker: SessionTracker, exp: Any, now: float, session: UUID | None = None) -> None:
    call = tracker.session_expiry_call(session)
    assert (call.kind, call.method, call.params, call.purpose, call.session) == (
        CallKind.SESSION_EXPIRY, "query", (SESSION_EXPIRY_SQL,), Purpose.INSPECT, session)
    tracker.plan_succeeded(call, ok(exp), now)


def test_ws_renewal_follows_the_session_expiry() -> None:
    tracker = tracker_with(creds=True, token=tok(NOW + 60))
    assert tracker.next_renewal_deadline() is None  # session expiry not learnt yet
    learn(tracker, NOW + 3600, NOW)
    assert tracker.next_renewal_deadline() == NOW + 3540
    assert tracker.renewal_due(None, NOW + 3539) is None
    call = tracker.renewal_due(None, NOW + 3540)
    assert call is not None
    assert (call.method, call.purpose) == ("signin", Purpose.RENEW)  # the token expired
    assert tracker.renewal_due(None, NOW + 3541) is None  # in flight
    assert tracker.next_renewal_deadline() is None
    decision = tracker.on_error(session_expired(), "select", [], None, NOW + 3541)
    assert decision.action is RecoveryAction.WAIT_AND_RETRY
    tracker.plan_succeeded(call, tok(NOW + 7200), NOW + 3541)
    assert tracker.next_renewal_deadline() is None  # a new session: learn again
    learn(tracker, NOW + 7141, NOW + 3541)
    assert tracker.next_renewal_deadline() == NOW + 7081


def test_ws_renewal_prefers_a_still_valid_token() -> None:
    tracker = tracker_with(creds=True, token=tok(NOW + 86400))
    learn(tracker, NOW + 600, NOW)
    call = tracker.renewal_due(None, NOW + 540, margin=60.0)
    assert call is not None
    assert call.method == "authenticate"


def test_ws_renewal_failure_stops_proactive_renewal_until_the_next_auth() -> None:
    tracker = tracker_with(creds=True)
    learn(tracker, NOW + 100, NOW)
    call = tracker.renewal_due(None, NOW + 100)
    assert call is not None
    assert tracker.plan_failed(call) is None
    assert tracker.session().renewal_failed
    assert tracker.next_renewal_deadline() is None
    assert tracker.renewal_due(None, NOW + 200) is None
    tracker.on_success("signin", [ROOT], None, tok(), NOW + 300)
    assert not tracker.session().renewal_failed


@pytest.mark.parametrize("exp", [None, NULL])
def test_a_session_that_never_expires_needs_no_renewal(exp: Any) -> None:
    tracker = tracker_with(creds=True)
    learn(tracker, exp, NOW)
    assert tracker.session().auth.session_exp_known
    assert tracker.next_renewal_deadline() is None
    assert tracker.renewal_due(None, NOW + 10**9) is None


def test_no_renewal_without_anything_to_renew_with() -> None:
    tracker = tracker_with(token=tok(NOW + 100))  # the token will be invalid by then
    learn(tracker, NOW + 3600, NOW)
    assert tracker.next_renewal_deadline() is None
    assert tracker.renewal_due(None, NOW + 3600) is None
    assert SessionTracker().next_renewal_deadline() is None  # anonymous


def test_ws_renewal_too_late_for_the_only_token() -> None:
    tracker = tracker_with(token=tok(NOW + 1000))
    learn(tracker, NOW + 500, NOW)
    assert tracker.next_renewal_deadline() == NOW + 440  # the token is still good then
    assert tracker.renewal_due(None, NOW + 950) is None  # but no longer now
    assert not tracker.session().renewing


def test_renewals_due_covers_every_session() -> None:
    tracker = tracker_with(creds=True)
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.on_success("signin", [ROOT], S1, tok(), NOW)
    learn(tracker, NOW + 1000, NOW)
    learn(tracker, NOW + 500, NOW, S1)
    assert tracker.next_renewal_deadline() == NOW + 440
    assert [c.session for c in tracker.renewals_due(NOW + 500)] == [S1]
    assert [c.session for c in tracker.renewals_due(NOW + 1000)] == [None]
    assert tracker.renewals_due(NOW + 2000) == []
    assert tracker.renewal_due(UUID(int=5), NOW) is None


def test_record_session_expiry_by_hand() -> None:
    tracker = tracker_with(creds=True)
    tracker.record_session_expiry(None, ok(NOW + 90), NOW)
    assert tracker.next_renewal_deadline() == NOW + 60


# --------------------------------------------------------------------------- renewal, HTTP


def test_http_renewal_follows_the_token_expiry() -> None:
    tracker = SessionTracker(http=True)
    tracker.on_success("signin", [ROOT], None, tok(NOW + 3600), NOW)
    assert tracker.next_renewal_deadline() == NOW + 3540
    assert tracker.http_renewal_needed(NOW + 3539) is None
    call = tracker.http_renewal_needed(NOW + 3540)
    assert call is not None
    assert (call.method, call.purpose) == ("signin", Purpose.RENEW)  # never the same token
    assert tracker.http_renewal_needed(NOW + 3541) is None  # in flight
    tracker.plan_succeeded(call, tok(NOW + 7200), NOW + 3541)
    assert tracker.next_renewal_deadline() == NOW + 7140


def test_http_renewal_of_a_short_token_and_a_custom_margin() -> None:
    tracker = SessionTracker(http=True, margin=10.0)
    tracker.on_success("signin", [ROOT], None, tok(NOW + 30), NOW)
    assert tracker.next_renewal_deadline() == NOW + 20
    assert tracker.next_renewal_deadline(margin=60.0) == NOW + 30
    assert tracker.renewal_due(None, NOW + 20) is not None


def test_http_renewal_of_a_configured_token() -> None:
    tracker = SessionTracker(http=True, auth=tok(NOW + 600))
    assert tracker.next_renewal_deadline() is None  # the token itself cannot renew itself
    tracker.set_auth_provider(None)
    assert tracker.next_renewal_deadline() == NOW + 540  # exp - margin
    call = tracker.http_renewal_needed(NOW + 540)
    assert call is not None
    assert call.kind is CallKind.ASK_PROVIDER


def test_http_renewal_edge_cases() -> None:
    tracker = SessionTracker(http=True)
    tracker.on_success("signin", [ROOT], None, tok(None), NOW)  # a token without exp
    assert tracker.next_renewal_deadline() is None
    assert tracker.http_renewal_needed(NOW + 10**9) is None
    assert tracker.http_renewal_needed(NOW, session=S1) is None
    ws = tracker_with(creds=True, token=tok(NOW + 100))
    call = ws.http_renewal_needed(NOW + 100)  # by token, on demand, even on a WS tracker
    assert call is not None
    assert call.method == "signin"


def test_ws_renewal_deadline_follows_every_auth_change_and_margin() -> None:
    tracker = tracker_with(creds=True)
    learn(tracker, NOW + 3600, NOW)
    assert tracker.next_renewal_deadline() == NOW + 3540
    assert tracker.next_renewal_deadline() == NOW + 3540  # asked again: the same answer
    assert tracker.next_renewal_deadline(margin=120.0) == NOW + 3480
    learn(tracker, NOW + 1800, NOW + 10)  # learnt again: the new expiry counts
    assert tracker.next_renewal_deadline() == NOW + 1740
    tracker.on_success("invalidate", [], None, None, NOW + 20)
    assert tracker.next_renewal_deadline() is None
