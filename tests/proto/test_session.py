"""Session state learnt from successful requests (protocol.md §4.2, §4.4, §7, §8, §9)."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import LocalProtocolError
from surreal_proto._auth import AuthMethod, CredentialsKind, Tokens
from surreal_proto._replay import (
    SESSION_EXPIRY_SQL,
)
from surreal_proto._session import SessionTracker
from surreal_proto._store import Ended
from surreal_proto._values import NULL
from tests.proto.auth_helpers import PASSWORD, REFRESH, REFRESH2, assert_no_secret
from tests.proto.session_helpers import (
    DB_USER,
    L1,
    L2,
    L3,
    L9,
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

# --------------------------------------------------------------------------- construction


def test_defaults() -> None:
    tracker = SessionTracker()
    assert tracker.sessions == (None,)
    assert tracker.namespace is None
    assert tracker.database is None
    assert tracker.tokens() == Tokens()
    assert tracker.live_queries == {}
    assert not tracker.session().auth.authenticated


def test_configured_namespace_database_and_token() -> None:
    token = tok(NOW + 100)
    tracker = SessionTracker(namespace="app", database="main", auth=token)
    assert (tracker.namespace, tracker.database) == ("app", "main")
    auth = tracker.session(None).auth
    assert auth.method is AuthMethod.CONFIGURED
    assert auth.access == token
    assert auth.token_exp == NOW + 100


def test_configured_credentials_and_provider() -> None:
    tracker = SessionTracker(auth={"username": "root", "password": PASSWORD})
    creds = tracker.session().auth.credentials
    assert creds is not None
    assert creds.wire == ROOT
    provided = SessionTracker(auth_provider=True)
    assert provided.session().auth.provider
    assert provided.session().auth.method is AuthMethod.CONFIGURED


def test_configuration_errors() -> None:
    with pytest.raises(LocalProtocolError, match="not both"):
        SessionTracker(auth="x", auth_provider=True)
    with pytest.raises(LocalProtocolError, match="'usernam'") as info:
        SessionTracker(auth={"usernam": "root", "password": PASSWORD})
    assert_no_secret(str(info.value))


def test_unknown_session_and_bad_keys() -> None:
    tracker = SessionTracker()
    with pytest.raises(LocalProtocolError, match="unknown session"):
        tracker.session(S1)
    with pytest.raises(LocalProtocolError, match="must be a UUID"):
        tracker.session("not-a-uuid")
    tracker.on_success("attach", [], str(S1), None, NOW)  # a UUID string is accepted
    assert tracker.session(str(S1)).key == S1


def test_set_auth_provider() -> None:
    tracker = SessionTracker()
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.set_auth_provider(S1)
    assert tracker.session(S1).auth.provider
    tracker.set_auth_provider(S1, False)
    assert not tracker.session(S1).auth.provider


# --------------------------------------------------------------------------- use / let


@pytest.mark.parametrize(("before", "params", "result", "after"), [
    ((None, None), ["app", "main"], {"namespace": "app", "database": "main"}, ("app", "main")),
    (("a", "b"), [None, None], {"namespace": "dflt", "database": None}, ("dflt", None)),
    (("a", "b"), ["x", "y"], {"namespace": None, "database": None}, (None, None)),
    ((None, None), ["app", "main"], None, ("app", "main")),  # 1.x/2.x: NONE reply
    (("a", "b"), ["x", None], None, ("x", "b")),  # NONE leaves unchanged
    (("a", "b"), [None, "y"], None, ("a", "y")),
    (("a", "b"), ["a", NULL], None, ("a", None)),  # NULL unsets
    (("a", "b"), [NULL, None], None, (None, None)),  # no db without ns
    (("a", "b"), [], None, ("a", "b")),
], ids=repr)
def test_use(before: tuple[Any, Any], params: list[Any], result: Any,
             after: tuple[Any, Any]) -> None:
    tracker = SessionTracker(namespace=before[0], database=before[1])
    assert not tracker.on_success("use", params, None, result, NOW)
    assert (tracker.namespace, tracker.database) == after


def test_let_set_unset() -> None:
    tracker = SessionTracker()
    tracker.on_success("let", ["a", 1], None, None, NOW)
    tracker.on_success("set", ["b", {"x": 2}], None, None, NOW)
    tracker.on_success("let", ["c", 3], None, None, NOW)
    assert tracker.session().variables == {"a": 1, "b": {"x": 2}, "c": 3}
    tracker.on_success("let", ["a"], None, None, NOW)  # no value: removed
    tracker.on_success("let", ["b", None], None, None, NOW)  # NONE: removed
    tracker.on_success("unset", ["c"], None, None, NOW)
    tracker.on_success("unset", ["never-set"], None, None, NOW)
    tracker.on_success("let", [7, 1], None, None, NOW)  # ignored: no name
    tracker.on_success("let", [], None, None, NOW)
    tracker.on_success("unset", [], None, None, NOW)
    assert tracker.session().variables == {}


def test_unknown_methods_and_detached_sessions_change_nothing() -> None:
    tracker = SessionTracker()
    for method in ("select", "create", "ping", "version", "info", "run", "sessions"):
        assert tracker.on_success(method, ["x"], None, {"x": 1}, NOW) == Ended()
    assert tracker.on_success("use", ["a", "b"], S1, None, NOW) == Ended()  # not attached
    assert tracker.sessions == (None,)
    assert tracker.on_success("attach", [], None, None, NOW) == Ended()  # no session field
    assert tracker.sessions == (None,)


# --------------------------------------------------------------------------- auth methods


def test_signin_keeps_credentials_and_tokens() -> None:
    access = tok(NOW + 600)
    tracker = signed_in(creds=DB_USER, result={"access": access, "refresh": REFRESH})
    auth = tracker.session().auth
    assert auth.method is AuthMethod.SIGNIN
    assert tracker.tokens() == Tokens(access, REFRESH)
    assert auth.token_exp == NOW + 600
    assert auth.token_received_at == NOW
    assert auth.credentials is not None
    assert auth.credentials.wire == DB_USER
    assert auth.credentials.kind is CredentialsKind.DATABASE
    assert (tracker.namespace, tracker.database) == ("app", "main")  # signin selects them
    assert not auth.session_exp_known


def test_signin_result_of_nothing_or_garbage() -> None:
    tracker = signed_in(result=12)  # unparseable: no tokens, but signed in
    assert tracker.tokens() == Tokens()
    assert tracker.session().auth.token_received_at is None
    tracker = SessionTracker()
    tracker.on_success("signin", [], None, None, NOW)  # no params: nothing to keep
    assert tracker.session().auth.method is AuthMethod.SIGNIN
    assert tracker.session().auth.credentials is None


def test_signin_without_keep_credentials() -> None:
    tracker = signed_in(SessionTracker(keep_credentials=False))
    assert tracker.session().auth.credentials is None


def test_signin_without_keep_still_keeps_the_configured_credentials() -> None:
    tracker = SessionTracker(auth=ROOT, keep_credentials=False)
    signed_in(tracker)  # the replay's signin with the configured credentials
    creds = tracker.session().auth.credentials
    assert creds is not None
    assert creds.wire == ROOT
    signed_in(tracker, creds=DB_USER)  # another identity: not kept
    assert tracker.session().auth.credentials is None


def test_signin_with_a_provider_keeps_no_credentials() -> None:
    tracker = signed_in(SessionTracker(auth_provider=True))
    assert tracker.session().auth.credentials is None
    assert tracker.session().auth.provider


def test_signin_with_a_refresh_key_is_never_kept() -> None:
    refresh_creds = {"NS": "app", "DB": "main", "AC": "users", "refresh": REFRESH}
    tracker = signed_in(creds=DB_USER)
    signed_in(tracker, creds=refresh_creds, result={"access": tok(), "refresh": REFRESH2})
    creds = tracker.session().auth.credentials
    assert creds is not None
    assert creds.wire == DB_USER  # the identity's credentials stay
    assert tracker.tokens().refresh == REFRESH2
    configured = SessionTracker(auth=refresh_creds)
    signed_in(configured, creds=refresh_creds, result={"access": tok(), "refresh": REFRESH2})
    assert configured.session().auth.credentials is None  # used up
    assert configured.tokens().refresh == REFRESH2


def test_signup_never_keeps_its_params() -> None:
    tracker = SessionTracker()
    params = {"NS": "app", "DB": "main", "AC": "users", "email": "e", "pass": PASSWORD}
    tracker.on_success("signup", [params], None, {"access": tok(), "refresh": REFRESH}, NOW)
    auth = tracker.session().auth
    assert auth.method is AuthMethod.SIGNUP
    assert auth.credentials is None
    assert auth.refresh == REFRESH
    assert (tracker.namespace, tracker.database) == ("app", "main")
    tracker.on_success("signup", [], None, None, NOW)  # 1.x/2.x may return NONE
    assert tracker.tokens() == Tokens()


def test_authenticate_with_our_own_token_keeps_the_rest() -> None:
    access = tok(NOW + 600)
    tracker = signed_in(result={"access": access, "refresh": REFRESH})
    tracker.on_success("authenticate", [access], None, None, NOW + 50)
    auth = tracker.session().auth
    assert auth.method is AuthMethod.AUTHENTICATE
    assert auth.refresh == REFRESH
    assert auth.credentials is not None
    assert auth.token_received_at == NOW  # the same token, received earlier


def test_authenticate_with_another_token_drops_what_we_kept() -> None:
    tracker = signed_in(result={"access": tok(), "refresh": REFRESH})
    other = tok(NOW + 10, NS="x", DB="y")
    tracker.on_success("authenticate", [other], None, None, NOW + 5)
    auth = tracker.session().auth
    assert auth.access == other
    assert auth.refresh is None
    assert auth.credentials is None
    assert auth.token_exp == NOW + 10
    assert auth.token_received_at == NOW + 5
    assert (tracker.namespace, tracker.database) == ("x", "y")  # selected by the token
    tracker.on_success("authenticate", [{"access": other}], None, None, NOW)  # not a token
    tracker.on_success("authenticate", [], None, None, NOW)
    assert tracker.session().auth.access == other


def test_refresh_replaces_the_single_use_pair() -> None:
    tracker = signed_in(result={"access": tok(), "refresh": REFRESH})
    new_access = tok(NOW + 7200, NS="app", DB="main")
    tracker.on_success("refresh", [Tokens(tok(), REFRESH).to_wire()], None,
                       {"access": new_access, "refresh": REFRESH2}, NOW + 1)
    auth = tracker.session().auth
    assert auth.method is AuthMethod.REFRESH
    assert tracker.tokens() == Tokens(new_access, REFRESH2)
    assert auth.credentials is not None  # same identity
    assert (tracker.namespace, tracker.database) == ("app", "main")
    tracker.on_success("refresh", [], None, "garbage-but-a-string", NOW)
    assert tracker.tokens().access == "garbage-but-a-string"
    before = tracker.session().auth
    tracker.on_success("refresh", [], None, 42, NOW)  # unusable: ignored
    assert tracker.session().auth is before


def test_refresh_drops_configured_refresh_credentials() -> None:
    tracker = SessionTracker(auth={"NS": "a", "DB": "b", "AC": "c", "refresh": REFRESH})
    tracker.on_success("refresh", [], None, {"access": tok(), "refresh": REFRESH2}, NOW)
    assert tracker.session().auth.credentials is None


@pytest.mark.parametrize(("params", "cleared"), [
    ([{"access": "a", "refresh": REFRESH}], True),
    ([{"access": "a", "refresh": REFRESH2}], False),
    (["not-a-pair"], False),
    ([], False),
])
def test_revoke(params: list[Any], cleared: bool) -> None:
    tracker = signed_in(result={"access": tok(), "refresh": REFRESH})
    tracker.on_success("revoke", params, None, None, NOW)
    assert (tracker.tokens().refresh is None) is cleared


def test_revoke_without_a_refresh_token() -> None:
    tracker = signed_in()
    tracker.on_success("revoke", [{"access": "a", "refresh": REFRESH}], None, None, NOW)
    assert tracker.tokens().refresh is None


def test_invalidate_clears_auth_and_secrets_keeps_the_rest() -> None:
    tracker = signed_in(SessionTracker(namespace="app", database="main", auth_provider=True),
                        result={"access": tok(), "refresh": REFRESH})
    tracker.on_success("let", ["x", 1], None, None, NOW)
    tracker.on_success("invalidate", [], None, None, NOW)
    auth = tracker.session().auth
    assert not auth.authenticated
    assert auth.tokens == Tokens()
    assert auth.credentials is None
    assert auth.provider  # configuration, not state
    assert (tracker.namespace, tracker.database) == ("app", "main")
    assert tracker.session().variables == {"x": 1}


def test_reset_clears_everything_and_ends_live_queries_and_transactions() -> None:
    tracker = signed_in(SessionTracker(namespace="app", database="main"))
    tracker.on_success("let", ["x", 1], None, None, NOW)
    tracker.on_success("live", ["person"], None, L1, NOW)
    tracker.on_success("begin", [], None, T1, NOW)
    ended = tracker.on_success("reset", [], None, None, NOW)
    assert ended == Ended(live_queries=(L1,), transactions=(T1,))
    state = tracker.session()
    assert not state.auth.authenticated
    assert (state.namespace, state.database, state.variables) == (None, None, {})
    assert state.live_queries == {}
    assert state.transactions == {}


# --------------------------------------------------------------------------- sessions


def test_attach_and_detach() -> None:
    tracker = SessionTracker()
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.on_success("attach", [], S2, None, NOW)
    assert list(tracker.sessions) == [None, S1, S2]
    assert not tracker.session(S1).auth.authenticated  # a fresh session is anonymous
    tracker.on_success("use", ["a", "b"], S1, {"namespace": "a", "database": "b"}, NOW)
    tracker.on_success("attach", [], S1, None, NOW)  # the replay's attach keeps the state
    assert tracker.session(S1).namespace == "a"
    tracker.on_success("live", ["t"], S1, L1, NOW)
    tracker.on_success("begin", [], S1, T1, NOW)
    ended = tracker.on_success("detach", [], S1, None, NOW)
    assert ended == Ended(live_queries=(L1,), transactions=(T1,))
    assert tracker.sessions == (None, S2)
    assert tracker.on_success("detach", [], S1, None, NOW) == Ended()  # idempotent
    assert tracker.on_success("detach", [], None, None, NOW) == Ended()  # default: no-op
    assert tracker.sessions == (None, S2)


def test_state_of_attached_sessions_is_isolated() -> None:
    tracker = SessionTracker(namespace="d", database="d")
    tracker.on_success("attach", [], S1, None, NOW)
    signed_in(tracker, S1, creds=DB_USER)
    tracker.on_success("let", ["v", 1], S1, None, NOW)
    assert tracker.session().variables == {}
    assert not tracker.session().auth.authenticated
    assert tracker.session(S1).database == "main"
    assert tracker.namespace == "d"


# --------------------------------------------------------------------------- live, kill, txn


def test_live_and_kill() -> None:
    tracker = SessionTracker()
    tracker.on_success("live", ["person", True], None, L1, NOW)
    tracker.on_success("live", ["dog"], None, str(L2), NOW)  # a UUID string is accepted
    tracker.on_success("live", ["cat"], None, "not-a-uuid", NOW)  # ignored
    tracker.on_success("live", ["cat"], None, 12, NOW)  # ignored
    specs = tracker.live_queries
    assert list(specs) == [L1, L2]
    assert specs[L1].method == "live"
    assert specs[L1].params == ("person", True)
    assert specs[L1].original_id == L1
    assert specs[L1].session is None
    assert specs[L1].restartable
    assert tracker.on_success("kill", [L1], None, None, NOW) == Ended(live_queries=(L1,))
    assert tracker.on_success("kill", [str(L2)], None, None, NOW) == Ended(live_queries=(L2,))
    assert not tracker.on_success("kill", [L9], None, None, NOW)  # unknown
    assert not tracker.on_success("kill", ["junk"], None, None, NOW)
    assert not tracker.on_success("kill", [], None, None, NOW)
    assert tracker.live_queries == {}


def test_kill_finds_the_live_query_in_any_session() -> None:
    tracker = SessionTracker()
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.on_success("live", ["t"], S1, L1, NOW)
    assert tracker.on_success("kill", [L1], None, None, NOW) == Ended(live_queries=(L1,))


def test_transactions() -> None:
    tracker = SessionTracker()
    tracker.on_success("begin", [], None, T1, NOW)
    tracker.on_success("begin", [], None, T2, NOW)
    tracker.on_success("begin", [], None, "junk", NOW)
    assert list(tracker.session().transactions) == [T1, T2]
    assert tracker.on_success("commit", [T1], None, None, NOW) == Ended(transactions=(T1,))
    assert tracker.on_success("cancel", [T2], None, None, NOW) == Ended(transactions=(T2,))
    assert not tracker.on_success("commit", [T1], None, None, NOW)  # already finished
    assert not tracker.on_success("cancel", [], None, None, NOW)
    assert tracker.session().transactions == {}


# --------------------------------------------------------------------------- query


def test_query_live_select_3x() -> None:
    tracker = SessionTracker()
    params = ["LIVE SELECT * FROM person WHERE age > $min", {"min": 18}]
    tracker.on_success("query", params, None, [ok(L1, "live")], NOW)
    spec = tracker.live_queries[L1]
    assert (spec.method, spec.params, spec.restartable) == ("query", tuple(params), True)


def test_query_live_select_2x_without_type() -> None:
    tracker = SessionTracker()
    tracker.on_success("query", ["  live select * from person"], None,
                       [{"status": "OK", "time": "1µs", "result": str(L1)}], NOW)
    assert tracker.live_queries[L1].restartable


def test_query_live_in_a_multi_statement_query_is_not_restartable() -> None:
    tracker = SessionTracker()
    sql = "CREATE person; LIVE SELECT * FROM person"
    tracker.on_success("query", [sql], None, [ok([{"id": 1}]), ok(L1, "live")], NOW)
    assert not tracker.live_queries[L1].restartable


def test_query_without_live_or_with_failures_registers_nothing() -> None:
    tracker = SessionTracker()
    err = {"status": "ERR", "time": "1µs", "result": "boom", "type": "live"}
    tracker.on_success("query", ["LIVE SELECT * FROM x"], None, [err], NOW)
    tracker.on_success("query", ["SELECT * FROM x"], None, [ok([L1])], NOW)
    tracker.on_success("query", ["LIVE SELECT * FROM x; SELECT 1"], None,
                       [ok(L1), ok(1)], NOW)  # 2.x, two statements: cannot tell
    tracker.on_success("query", ["LIVE SELECT * FROM x"], None, ["not a map"], NOW)
    tracker.on_success("query", ["LIVE SELECT * FROM x"], None, [ok("not-a-uuid", "live")], NOW)
    tracker.on_success("query", ["LIVE SELECT * FROM x"], None, "not a list", NOW)
    tracker.on_success("query", [42], None, [ok(L1, "live")], NOW)
    tracker.on_success("query", [], None, [ok(L1, "live")], NOW)
    tracker.on_success("query", ["123"], None, [ok(L1)], NOW)  # no keyword
    assert tracker.live_queries == {}


def test_query_kill_by_text_or_variable() -> None:
    tracker = SessionTracker()
    for live_id in (L1, L2, L3):
        tracker.on_success("live", ["t"], None, live_id, NOW)
    ended = tracker.on_success("query", [f'KILL u"{L1}"'], None, [ok(None, "kill")], NOW)
    assert ended == Ended(live_queries=(L1,))
    ended = tracker.on_success("query", ["KILL $id", {"id": L2, "other": 3, "s": "x"}], None,
                               [ok(None, "kill")], NOW)
    assert ended == Ended(live_queries=(L2,))
    ended = tracker.on_success("query", [f"kill '{str(L3).upper()}'"], None,
                               [{"status": "OK", "result": None}], NOW)  # 2.x: no type
    assert ended == Ended(live_queries=(L3,))
    assert not tracker.on_success("query", [f'KILL u"{L9}"', None], None,
                                  [ok(None, "kill")], NOW)


def test_query_of_the_session_expiry_is_recorded() -> None:
    tracker = signed_in()
    tracker.on_success("query", [SESSION_EXPIRY_SQL], None, [ok(NOW + 3)], NOW + 1)
    auth = tracker.session().auth
    assert (auth.session_exp, auth.session_exp_known, auth.session_exp_learned_at) == (
        NOW + 3, True, NOW + 1)
    tracker.on_success("query", [SESSION_EXPIRY_SQL], None, [ok("weird")], NOW + 2)
    assert tracker.session().auth.session_exp == NOW + 3  # unusable: unchanged
    tracker.record_session_expiry(None, [ok(None)], NOW + 4)
    assert tracker.session().auth.session_exp is None  # never expires
    assert tracker.session().auth.session_exp_known


# --------------------------------------------------------------------------- live re-keying


def test_live_restarted_and_drop_live() -> None:
    tracker = SessionTracker()
    tracker.on_success("attach", [], S1, None, NOW)
    tracker.on_success("live", ["t"], S1, L1, NOW)
    assert tracker.live_restarted(L1, L2)
    assert tracker.live_restarted(L2, L3)
    spec = tracker.live_queries[L3]
    assert spec.original_id == L1
    assert spec.session == S1
    assert not tracker.live_restarted(L1, L9)
    assert tracker.drop_live(L3)
    assert not tracker.drop_live(L3)
