"""The reconnect replay plan, planned-call outcomes, and in-flight retry safety
(protocol.md §2.9, §8.3, §9.1; API.md §8)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest

from surreal_proto import LocalProtocolError, OutcomeUnknownError
from surreal_proto._auth import AuthMethod
from surreal_proto._events import PendingRequest
from surreal_proto._replay import (
    SESSION_EXPIRY_SQL,
    CallKind,
    LiveSpec,
    LostTransaction,
    PlannedCall,
    Purpose,
    ReplayPlan,
    classify_unanswered,
    is_retry_safe,
    outcome_unknown_error,
)
from surreal_proto._session import SessionTracker
from surreal_proto._store import Ended
from tests.proto.auth_helpers import BEARER, PASSWORD, REFRESH, REFRESH2, assert_no_secret
from tests.proto.session_helpers import (
    DB_USER,
    L1,
    L2,
    L3,
    NOW,
    ROOT,
    S1,
    S2,
    T1,
    T2,
    ok,
    signed_in,
    tok,
)


def shape(plan: ReplayPlan | list[PlannedCall]) -> list[tuple[Any, ...]]:
    return [(c.kind, c.method, c.session, c.params) for c in plan]


# --------------------------------------------------------------------------- replay plan


def build_tracker() -> SessionTracker:
    """Default session: credentials, ns/db, two variables, a live query, a transaction.
    S1: a valid token. S2: an expired token and a refresh token, a multi-statement live."""
    tracker = SessionTracker(namespace="app", database="main")
    signed_in(tracker, result=tok(NOW + 30))  # token too close to expiry: not reused
    tracker.on_success("let", ["a", 1], None, None, NOW)
    tracker.on_success("let", ["b", "two"], None, None, NOW)
    tracker.on_success("live", ["person", True], None, L1, NOW)
    tracker.on_success("begin", [], None, T1, NOW)
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.on_success("attach", [], S2, None, NOW)
    s1_token = tok(NOW + 3600)
    tracker.on_success("authenticate", [s1_token], S1, None, NOW)
    tracker.on_success("use", ["x", "y"], S1, None, NOW)
    tracker.on_success("query", ["LIVE SELECT * FROM t"], S1, [ok(L2, "live")], NOW)
    tracker.on_success("signup", [{"NS": "n", "DB": "d", "AC": "u"}], S2,
                       {"access": tok(NOW - 1), "refresh": REFRESH}, NOW)
    tracker.on_success("query", ["CREATE t; LIVE SELECT * FROM t"], S2,
                       [ok(1), ok(L3, "live")], NOW)
    tracker.on_success("begin", [], S2, T2, NOW)
    return tracker


def test_replay_plan_order() -> None:
    tracker = build_tracker()
    s1_token = tracker.tokens(S1).access
    s2 = tracker.tokens(S2)
    plan = tracker.replay_plan(NOW + 1)
    assert shape(plan) == [
        (CallKind.ATTACH, "attach", S1, ()),
        (CallKind.ATTACH, "attach", S2, ()),
        (CallKind.AUTH, "signin", None, (ROOT,)),
        (CallKind.USE, "use", None, ("app", "main")),
        (CallKind.LET, "let", None, ("a", 1)),
        (CallKind.LET, "let", None, ("b", "two")),
        (CallKind.AUTH, "authenticate", S1, (s1_token,)),
        (CallKind.USE, "use", S1, ("x", "y")),
        (CallKind.AUTH, "refresh", S2, ({"access": s2.access, "refresh": REFRESH},)),
        (CallKind.USE, "use", S2, ("n", "d")),
        (CallKind.PREPARE, None, None, ()),
        (CallKind.RESTART_LIVE, "live", None, ("person", True)),
        (CallKind.RESTART_LIVE, "query", S1, ("LIVE SELECT * FROM t",)),
    ]
    assert len(plan) == 13
    assert [c.old_live_id for c in plan if c.kind is CallKind.RESTART_LIVE] == [L1, L2]
    assert all(c.purpose is Purpose.RESTORE for c in plan)
    assert plan.lost_transactions == (LostTransaction(session=None, transaction_id=T1),
                                      LostTransaction(session=S2, transaction_id=T2))
    assert plan.lost_live_queries == (L3,)
    assert plan.lost_auth == ()
    # What died with the connection is forgotten; the rest stays for the next replay.
    assert tracker.session().transactions == {}
    assert L3 not in tracker.live_queries
    again = tracker.replay_plan(NOW + 1)
    assert shape(again) == shape(plan)
    assert again.lost_transactions == ()
    assert again.lost_live_queries == ()


def test_replay_auth_alternatives_follow_the_renewal_order() -> None:
    tracker = SessionTracker(auth_provider=True)
    access = tok(NOW + 3600)
    tracker.on_success("refresh", [], None, {"access": access, "refresh": REFRESH}, NOW)
    creds = signed_in(creds=DB_USER).session().auth.credentials
    tracker.session().auth = replace(tracker.session().auth, credentials=creds)
    call = tracker.replay_plan(NOW).calls[0]
    assert call.method == "authenticate"
    chain = [call.method]
    step: PlannedCall | None = call
    while step is not None:
        step = tracker.plan_failed(step)
        if step is not None:
            chain.append(step.method or step.kind.name)
    assert chain == ["authenticate", "refresh", "signin", "ASK_PROVIDER"]
    assert not tracker.session().auth.authenticated  # nothing worked: anonymous


def test_replay_with_nothing_to_authenticate_with_reports_lost_auth() -> None:
    tracker = SessionTracker()
    tracker.on_success("authenticate", [tok(NOW + 10)], None, None, NOW)
    plan = tracker.replay_plan(NOW + 20)
    assert shape(plan) == [(CallKind.PREPARE, None, None, ())]
    assert plan.lost_auth == (None,)
    assert not tracker.session().auth.authenticated
    assert tracker.replay_plan(NOW + 20).lost_auth == ()


def test_replay_of_a_fresh_client() -> None:
    assert shape(SessionTracker().replay_plan(NOW)) == [(CallKind.PREPARE, None, None, ())]
    plan = SessionTracker(database="only-db").replay_plan(NOW)
    assert shape(plan)[0] == (CallKind.USE, "use", None, (None, "only-db"))
    plan = SessionTracker(auth_provider=True, namespace="n").replay_plan(NOW)
    assert [c.kind for c in plan] == [CallKind.ASK_PROVIDER, CallKind.USE, CallKind.PREPARE]
    token = tok(NOW + 3600)
    plan = SessionTracker(auth=token).replay_plan(NOW, margin=10.0)
    assert shape(plan)[0] == (CallKind.AUTH, "authenticate", None, (token,))
    plan = SessionTracker(auth=ROOT).replay_plan(NOW)
    assert shape(plan)[0] == (CallKind.AUTH, "signin", None, (ROOT,))


def test_replay_forgets_learnt_expiry_and_renewals_in_flight() -> None:
    tracker = signed_in()
    tracker.on_success("query", [SESSION_EXPIRY_SQL], None, [ok(NOW + 5)], NOW)
    tracker.session().renewing = True
    tracker.replay_plan(NOW)
    state = tracker.session()
    assert not state.auth.session_exp_known
    assert not state.renewing


# --------------------------------------------------------------------------- plan outcomes


def test_executing_a_replay_plan() -> None:
    tracker = build_tracker()
    plan = tracker.replay_plan(NOW + 1)
    new_ids = iter([UUID(int=100), UUID(int=101)])
    for call in plan:
        if call.kind is CallKind.PREPARE:
            assert tracker.plan_succeeded(call, None, NOW + 2) is None
        elif call.kind is CallKind.RESTART_LIVE:
            new = next(new_ids)
            result: Any = new if call.method == "live" else [ok(new, "live")]
            assert tracker.plan_succeeded(call, result, NOW + 2) == new
        elif call.method == "refresh":
            tracker.plan_succeeded(call, {"access": tok(), "refresh": REFRESH2}, NOW + 2)
        elif call.method == "signin":
            tracker.plan_succeeded(call, tok(NOW + 7200), NOW + 2)
        else:
            tracker.plan_succeeded(call, None, NOW + 2)
    assert tracker.tokens(S2).refresh == REFRESH2  # the new pair replaced the used one
    assert tracker.session().auth.token_exp == NOW + 7200
    assert tracker.session().variables == {"a": 1, "b": "two"}
    assert set(tracker.live_queries) == {UUID(int=100), UUID(int=101)}
    assert tracker.live_queries[UUID(int=100)].original_id == L1
    assert tracker.live_queries[UUID(int=101)].session == S1
    assert tracker.sessions == (None, S1, S2)


def test_failed_restarts_and_attaches() -> None:
    tracker = build_tracker()
    plan = tracker.replay_plan(NOW)
    live_call = next(c for c in plan if c.method == "live")
    query_call = next(c for c in plan if c.kind is CallKind.RESTART_LIVE and c.method == "query")
    assert tracker.plan_failed(live_call) is None
    assert L1 not in tracker.live_queries
    err = {"status": "ERR", "result": "no table"}
    assert tracker.plan_succeeded(query_call, [err], NOW) is None  # statement failed
    assert L2 not in tracker.live_queries
    attach = plan.calls[0]
    assert tracker.plan_failed(attach) is None
    assert tracker.sessions == (None, S2)
    assert tracker.plan_failed(PlannedCall(kind=CallKind.USE, method="use")) is None


def test_restart_of_a_live_query_killed_meanwhile() -> None:
    tracker = SessionTracker()
    tracker.on_success("live", ["t"], None, L1, NOW)
    call = tracker.replay_plan(NOW).calls[-1]
    tracker.on_success("kill", [L1], None, None, NOW)
    assert tracker.plan_succeeded(call, L2, NOW) is None  # caller kills L2
    assert tracker.plan_succeeded(call, [], NOW) is None
    assert tracker.plan_succeeded(call, ["x"], NOW) is None


def test_plan_succeeded_refuses_ask_provider() -> None:
    tracker = SessionTracker(auth_provider=True)
    ask = tracker.replay_plan(NOW).calls[0]
    with pytest.raises(LocalProtocolError, match="provider_call"):
        tracker.plan_succeeded(ask, "token", NOW)


def test_provider_answers() -> None:
    tracker = SessionTracker(auth_provider=True)
    ask = tracker.replay_plan(NOW).calls[0]
    token = tok()
    by_token = tracker.provider_call(ask, token)
    assert (by_token.kind, by_token.method, by_token.params) == (
        CallKind.AUTH, "authenticate", (token,))
    assert (by_token.session, by_token.purpose) == (None, Purpose.RESTORE)
    by_creds = tracker.provider_call(ask, {"username": "root", "password": PASSWORD})
    assert (by_creds.method, by_creds.params) == ("signin", (ROOT,))
    tracker.plan_succeeded(by_creds, tok(), NOW)
    assert tracker.session().auth.method is AuthMethod.SIGNIN
    assert tracker.session().auth.credentials is None  # the provider is asked again instead
    with pytest.raises(LocalProtocolError, match="not NoneType"):
        tracker.provider_call(ask, None)
    with pytest.raises(LocalProtocolError, match="'usr'") as info:
        tracker.provider_call(ask, {"usr": "root", "password": PASSWORD})
    assert_no_secret(str(info.value))
    with pytest.raises(LocalProtocolError, match="ASK_PROVIDER"):
        tracker.provider_call(by_token, token)


def test_plan_failed_for_an_unknown_session_or_kind() -> None:
    tracker = SessionTracker()
    lonely = PlannedCall(kind=CallKind.AUTH, method="signin", params=(ROOT,), session=S1)
    assert tracker.plan_failed(lonely) is None
    assert tracker.plan_failed(PlannedCall(kind=CallKind.RESTART_LIVE, method="live")) is None
    assert tracker.plan_failed(PlannedCall(kind=CallKind.ATTACH, method="attach")) is None
    assert tracker.plan_succeeded(PlannedCall(kind=CallKind.RESTART_LIVE), None, NOW) is None
    assert tracker.plan_succeeded(PlannedCall(kind=CallKind.USE), None, NOW) is None


# --------------------------------------------------------------------------- reprs


def test_reprs_never_show_secrets() -> None:
    tracker = build_tracker()
    tracker.on_success("let", ["secret", PASSWORD], None, None, NOW)
    tracker.on_success("signin", [{"NS": "a", "DB": "b", "AC": "c", "key": BEARER}], S1,
                       {"access": tok(), "refresh": REFRESH}, NOW)
    plan = tracker.replay_plan(NOW)
    tokens = [tracker.tokens(k).access or "" for k in tracker.sessions]
    texts = [repr(plan), str(plan), repr(tracker.session()), repr(tracker.session(S1)),
             repr(tracker.live_queries), *map(repr, plan)]
    for text in texts:
        assert_no_secret(text, *tokens)
    state = repr(tracker.session())
    assert "variables=['a', 'b', 'secret']" in state
    assert "transactions=[]" in state
    auth = next(c for c in plan if c.kind is CallKind.AUTH)
    assert "params=<redacted>" in repr(auth)
    let = next(c for c in plan if c.kind is CallKind.LET)
    assert "params=<redacted>" in repr(let)
    use = next(c for c in plan if c.kind is CallKind.USE)
    assert "params=('app', 'main')" in repr(use)
    restart = next(c for c in plan if c.kind is CallKind.RESTART_LIVE)
    assert f"old_live_id={L1!r}" in repr(restart)
    chained = SessionTracker(auth=ROOT, auth_provider=False)
    chained.on_success("refresh", [], None, {"access": tok(), "refresh": REFRESH}, NOW)
    first = chained.replay_plan(NOW).calls[0]
    assert "alternatives=[PlannedCall(kind=AUTH, method='refresh'" in repr(first)
    assert_no_secret(repr(first), *(chained.tokens().access or "",))


def test_live_spec_repr_hides_query_variables() -> None:
    spec = LiveSpec(method="query", params=("LIVE SELECT * FROM t WHERE k = $k",
                                            {"k": PASSWORD}), session=S1, original_id=L1)
    assert repr(spec) == (f"LiveSpec(method='query', session={S1!r}, original_id={L1!r}, "
                          "restartable=True)")


def test_ended_is_false_when_empty() -> None:
    assert not Ended()
    assert Ended(live_queries=(L1,))
    assert Ended(transactions=(T1,))


def test_planned_call_helpers() -> None:
    prepare = PlannedCall(kind=CallKind.PREPARE)
    assert not prepare.is_rpc
    assert prepare.next_alternative() is None
    assert PlannedCall(kind=CallKind.USE, method="use").is_rpc


# --------------------------------------------------------------------------- retry safety


@pytest.mark.parametrize(("method", "params", "safe"), [
    ("ping", [], True),
    ("version", [], True),
    ("info", [], True),
    ("select", ["person"], True),
    ("use", ["a", "b"], True),
    ("let", ["x", 1], True),
    ("set", ["x", 1], True),
    ("unset", ["x"], True),
    ("authenticate", ["jwt"], True),
    ("signin", [ROOT], True),
    ("signin", [{"NS": "a", "DB": "b", "AC": "c", "key": BEARER}], True),
    ("signin", [{"NS": "a", "DB": "b", "AC": "c", "refresh": REFRESH}], False),
    ("signin", [], True),
    ("invalidate", [], True),
    ("reset", [], True),
    ("live", ["person"], True),
    ("sessions", [], True),
    ("query", ["SELECT * FROM person"], False),
    ("query", [SESSION_EXPIRY_SQL], True),
    ("query", [], False),
    ("create", ["person", {}], False),
    ("insert", ["person", [{}]], False),
    ("insert_relation", ["likes", {}], False),
    ("update", ["person"], False),
    ("upsert", ["person"], False),
    ("merge", ["person", {}], False),
    ("patch", ["person", []], False),
    ("delete", ["person"], False),
    ("relate", ["a", "b", "c"], False),
    ("run", ["fn::x"], False),
    ("graphql", ["{}"], False),
    ("signup", [{}], False),
    ("refresh", [{}], False),
    ("revoke", [{}], False),
    ("begin", [], False),
    ("commit", [T1], False),
    ("cancel", [T1], False),
    ("kill", [L1], False),
    ("attach", [], False),
    ("detach", [], False),
    ("some_future_method", [], False),
])
def test_is_retry_safe(method: str, params: list[Any], safe: bool) -> None:
    assert is_retry_safe(method, params) is safe
    assert is_retry_safe(method, params, in_transaction=True) is False


def test_classify_unanswered() -> None:
    requests = [
        PendingRequest(request_id=1, method="select", params=("t",)),
        PendingRequest(request_id=2, method="create", params=("t",)),
        PendingRequest(request_id=3, method="create", params=("t",), sent=False),
        PendingRequest(request_id=4, method="select", params=("t",), txn=T1),
        PendingRequest(request_id=5, method="refresh", params=({},)),
        PendingRequest(request_id=6, method="ping", params=()),
    ]
    retry, unknown = classify_unanswered(requests)
    assert [r.request_id for r in retry] == [1, 3, 6]
    assert [r.request_id for r in unknown] == [2, 4, 5]


def test_outcome_unknown_error_names_the_method_only() -> None:
    error = outcome_unknown_error("create")
    assert isinstance(error, OutcomeUnknownError)
    assert "'create'" in str(error)
    assert "may or may not have run" in str(error)
