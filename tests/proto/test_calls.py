"""The call factories: params, shaping, flags, and the transaction rewrite (API.md §5)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from surreal_proto import (
    AlreadyExistsError,
    ConnectionClosedError,
    EncodingError,
    LocalProtocolError,
    OutcomeUnknownError,
    QueryError,
    RecordID,
    RemoteProtocolError,
    SurrealTimeoutError,
    Table,
    UnencodableTypeError,
    ValidationError,
)
from surreal_proto import _calls as c
from surreal_proto._auth import Tokens
from surreal_proto._recordid import StringRecordID
from surreal_proto._results import StatementResult
from tests.proto.auth_helpers import PASSWORD, REFRESH, assert_no_secret
from tests.proto.client_helpers import err, ok

LIVE = UUID("aaaaaaaa-0000-4000-8000-000000000001")
TXN = UUID("bbbbbbbb-0000-7000-8000-000000000001")


def test_connection_calls() -> None:
    assert c.use("ns", "db").params == ("ns", "db")
    assert c.use("ns", "db").shape({"namespace": "ns"}) is None
    assert c.info().shape({"id": 1}) == {"id": 1}
    assert c.version().shape("surrealdb-3.2.4") == "surrealdb-3.2.4"
    with pytest.raises(RemoteProtocolError):
        c.version().shape(3)
    assert c.ping().shape(None) is None
    assert c.ping().writes is False
    connect = c.connect()
    assert connect.local
    assert connect.method == c.CONNECT
    assert connect.shape(None) is None


def test_health_answers_instead_of_raising() -> None:
    call = c.health()
    assert call.method == c.HEALTH
    assert call.shape(True) is True
    assert call.shape(None) is True
    assert call.shape(False) is False
    assert call.fallback is not None
    for error in (ValidationError("x"), ConnectionClosedError(), SurrealTimeoutError("t"),
                  OutcomeUnknownError("o")):
        assert call.fallback(error) is False
    with pytest.raises(LocalProtocolError):
        call.fallback(LocalProtocolError("misuse"))


def test_auth_calls_map_keys_and_hide_secrets() -> None:
    call = c.signin({"username": "root", "password": PASSWORD})
    assert call.method == "signin"
    assert call.params == ({"user": "root", "pass": PASSWORD},)
    assert call.shape("jwt") == Tokens(access="jwt")
    assert call.writes is False
    assert_no_secret(repr(call))
    up = c.signup({"namespace": "n", "database": "d", "access": "user", "email": "e"})
    assert up.params == ({"NS": "n", "DB": "d", "AC": "user", "email": "e"},)
    assert up.writes is True  # a second signup would create another user
    assert up.shape({"access": "a", "refresh": REFRESH}) == Tokens("a", REFRESH)
    assert c.authenticate("jwt").params == ("jwt",)
    assert c.authenticate("jwt").shape(None) is None
    with pytest.raises(LocalProtocolError):
        c.authenticate("")
    with pytest.raises(LocalProtocolError):
        c.authenticate(None)  # type: ignore[arg-type]
    assert c.invalidate().shape(None) is None


def test_refresh_and_revoke() -> None:
    pair = Tokens("a", REFRESH)
    call = c.refresh(pair)
    assert call.params == ({"access": "a", "refresh": REFRESH},)
    assert call.writes is True
    assert not call.remembered_tokens
    assert call.shape({"access": "b", "refresh": "r"}) == Tokens("b", "r")
    remembered = c.refresh()
    assert remembered.remembered_tokens
    assert remembered.params == ()
    assert c.revoke({"access": "a", "refresh": REFRESH}).shape(None) is None
    with pytest.raises(EncodingError):
        c.revoke(Tokens("a"))


def test_variables() -> None:
    assert c.let("x", 1).params == ("x", 1)
    assert c.let("x", 1).shape(None) is None
    assert c.unset("x").params == ("x",)
    with pytest.raises(EncodingError):
        c.let("auth", 1)


def test_query_values_and_raw() -> None:
    call = c.query("RETURN $a; THROW 'x'", {"a": 1})
    assert call.params == ("RETURN $a; THROW 'x'", {"a": 1})
    assert call.writes is True
    assert c.query("RETURN 1").shape([ok(1)]) == [1]
    with pytest.raises(QueryError) as info:
        call.shape([ok(1), err("x")])
    assert info.value.results[0] == 1
    raw = c.query_raw("RETURN 1; THROW 'x'")
    statements = raw.shape([ok(1), err("x")])
    assert [type(s) for s in statements] == [StatementResult, StatementResult]
    assert statements[0].result == 1
    assert not statements[1].ok


def test_run() -> None:
    assert c.run("fn::f", [1, 2]).params == ("fn::f", None, [1, 2])
    assert c.run("fn::f").shape(3) == 3


@pytest.mark.parametrize(("factory", "args", "method"), [
    (c.select, ("person",), "select"),
    (c.create, ("person", {"a": 1}), "create"),
    (c.update, ("person:1", {"a": 1}), "update"),
    (c.upsert, ("person:1",), "upsert"),
    (c.merge, ("person:1", {"a": 1}), "merge"),
    (c.delete, ("person:1",), "delete"),
    (c.patch, ("person:1", [{"op": "add", "path": "/a", "value": 1}], True), "patch"),
    (c.insert, ("person", [{"a": 1}]), "insert"),
    (c.insert_relation, ("likes", {"in": 1, "out": 2}), "insert_relation"),
    (c.relate, ("person:1", "likes", "person:2", {"w": 1}), "relate"),
])
def test_data_calls(factory: Any, args: tuple[Any, ...], method: str) -> None:
    call = factory(*args)
    assert call.method == method
    assert call.writes is (method != "select")


def test_data_shapes() -> None:
    assert c.select("person").params == (Table("person"),)
    assert c.select("a; DELETE b").params == (Table("a; DELETE b"),)  # never pasted
    assert c.select("person:1").params == (StringRecordID("person:1"),)
    assert c.create("person").shape([{"id": 1}]) == {"id": 1}
    assert c.insert("person", {"a": 1}).shape({"a": 1}) == [{"a": 1}]
    assert c.insert("person", {"a": 1}).shape(None) == []


def test_live_and_kill() -> None:
    call = c.live("person", diff=True)
    assert call.params == (Table("person"), True)
    assert call.shape(LIVE) == LIVE
    with pytest.raises(RemoteProtocolError):
        call.shape("x")
    assert c.kill(str(LIVE)).params == (LIVE,)
    assert c.kill(LIVE).shape(None) is None
    assert c.kill(LIVE).writes is True


def test_http_endpoint_calls() -> None:
    imp = c.import_("CREATE a;")
    assert imp.method == c.IMPORT
    assert imp.params == ("CREATE a;",)
    assert imp.writes
    assert imp.shape([ok(None)]) is None
    assert c.export().params == (None,)
    assert c.export({"tables": True}).params == ({"tables": True},)
    assert c.export().shape("-- dump") == "-- dump"
    with pytest.raises(LocalProtocolError):
        c.import_(3)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        c.export(["x"])  # type: ignore[arg-type]


def test_sessions_and_transactions() -> None:
    assert c.attach().method == "attach"
    assert c.attach().shape(None) is None
    assert c.detach().method == "detach"
    begin = c.begin()
    assert begin.shape(TXN) == TXN
    with pytest.raises(RemoteProtocolError):
        begin.shape("not a uuid")
    assert c.commit(TXN).params == (TXN,)
    assert c.cancel(str(TXN)).params == (TXN,)
    assert c.commit(TXN).shape(None) is None


def test_in_transaction_rewrites_data_methods() -> None:
    call = c.in_transaction(c.select(RecordID("person", 1)), TXN)
    assert call.method == "query"
    assert call.txn == TXN
    sql, bound = call.params
    assert sql == "SELECT * FROM ONLY $__target"
    assert bound == {"__target": RecordID("person", 1)}
    assert call.shape([ok({"id": 1})]) == {"id": 1}
    created = c.in_transaction(c.create("person", {"a": 1}), TXN)
    assert created.shape([ok([{"a": 1}])]) == {"a": 1}  # the method's own shaping too
    with pytest.raises(AlreadyExistsError):
        created.shape([err("exists", kind="AlreadyExists")])
    # query, live and kill keep their method; txn goes in the envelope.
    q = c.in_transaction(c.query("RETURN 1"), TXN)
    assert q.method == "query"
    assert q.params == ("RETURN 1",)
    assert q.txn == TXN
    assert q.shape([ok(1)]) == [1]
    with pytest.raises(LocalProtocolError):
        c.in_transaction(c.use("a", "b"), TXN)
    with pytest.raises(EncodingError):
        c.in_transaction(c.run("fn::bad name"), TXN)


def test_bad_arguments_raise_before_anything() -> None:
    with pytest.raises(UnencodableTypeError):
        c.select(3)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        c.signin({"bogus": 1})
