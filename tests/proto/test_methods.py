"""Per-method params (protocol.md §4.2), targets (§4.3), the transaction rewrite (§9.2) and
what each transport/server version supports (§4.1).

The last section runs every transaction form against the real embedded engine (3.2.4) next to
the RPC method it replaces, and checks both give the same result.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import cbor2
import pytest

from surreal_proto import (
    EncodingError,
    LocalProtocolError,
    ServerError,
    UnencodableTypeError,
    UnsupportedFeatureError,
    server_error_from_wire,
)
from surreal_proto._methods import (
    HTTP_LOCAL_METHODS,
    LIVE_METHODS,
    METHODS,
    MIN_VERSION,
    PROTECTED_PARAM_NAMES,
    READ_ONLY_METHODS,
    SESSION_METHODS,
    TRANSACTION_CONTROL_METHODS,
    TRANSACTION_REWRITE_METHODS,
    TXN_AWARE_METHODS,
    WS_ONLY_METHODS,
    as_transaction_query,
    cancel_params,
    check_param_name,
    check_supported,
    commit_params,
    create_params,
    delete_params,
    insert_params,
    insert_relation_params,
    kill_params,
    let_params,
    live_params,
    merge_params,
    patch_params,
    query_params,
    refresh_params,
    relate_params,
    revoke_params,
    run_params,
    select_params,
    to_target,
    unset_params,
    update_params,
    upsert_params,
    use_params,
)
from surreal_proto._range import BoundExcluded, BoundIncluded, Range
from surreal_proto._recordid import RecordID, StringRecordID, Table, _new_string_record_id
from surreal_proto._results import parse_query_result, shape_result, transaction_result
from surreal_proto._values import NULL
from surreal_proto._version import ServerVersion

U = uuid.UUID("018e3e5c-0000-7000-8000-000000000000")
R1 = RecordID("person", 1)
R2 = RecordID("person", 2)
RANGE = RecordID("person", Range(BoundIncluded(1), BoundExcluded(3)))
OPS = [{"op": "replace", "path": "/name", "value": "z"}]


class _Tokens:
    """Duck-typed like ``surreal_proto.Tokens``."""

    def __init__(self, access: Any, refresh: Any) -> None:
        self.access = access
        self.refresh = refresh


# (call, exact params). None is NONE (tag 6) and NULL is SQL null on the wire.
PARAMS_CASES: list[tuple[str, Callable[[], list[Any]], list[Any]]] = [
    ("use", lambda: use_params("ns", "db"), ["ns", "db"]),
    ("use ns only", lambda: use_params("ns", None), ["ns", None]),
    ("use db only", lambda: use_params(None, "db"), [None, "db"]),
    ("use defaults", lambda: use_params(None, None), [None, None]),
    ("use unset", lambda: use_params(NULL, NULL), [NULL, NULL]),
    ("let", lambda: let_params("x", 5), ["x", 5]),
    ("let NONE removes", lambda: let_params("x", None), ["x", None]),
    ("let NULL", lambda: let_params("_x1", NULL), ["_x1", NULL]),
    ("unset", lambda: unset_params("x"), ["x"]),
    ("query", lambda: query_params("RETURN 1"), ["RETURN 1"]),
    ("query vars", lambda: query_params("RETURN $a", {"a": 1}), ["RETURN $a", {"a": 1}]),
    ("query empty vars", lambda: query_params("", {}), ["", {}]),
    ("select str table", lambda: select_params("person"), [Table("person")]),
    ("select str record", lambda: select_params("person:1"), [StringRecordID("person:1")]),
    ("select RecordID", lambda: select_params(R1), [R1]),
    ("select Table", lambda: select_params(Table("a:b")), [Table("a:b")]),
    ("select range", lambda: select_params(RANGE), [RANGE]),
    ("select StringRecordID", lambda: select_params(StringRecordID("t:⟨x⟩")),
     [StringRecordID("t:⟨x⟩")]),
    ("create", lambda: create_params("person"), [Table("person")]),
    ("create data", lambda: create_params(R1, {"a": 1}), [R1, {"a": 1}]),
    ("create NONE data", lambda: create_params(R1, None), [R1]),
    ("create NULL data", lambda: create_params(R1, NULL), [R1]),
    ("update", lambda: update_params(R1), [R1]),
    ("update data", lambda: update_params("person", {"a": 1}), [Table("person"), {"a": 1}]),
    ("upsert data", lambda: upsert_params("person:9", {"a": 1}),
     [StringRecordID("person:9"), {"a": 1}]),
    ("merge", lambda: merge_params(R1, {"m": 1}), [R1, {"m": 1}]),
    ("merge no data", lambda: merge_params(RANGE), [RANGE]),
    ("delete", lambda: delete_params("person"), [Table("person")]),
    ("insert", lambda: insert_params("person", [{"a": 1}]), [Table("person"), [{"a": 1}]]),
    ("insert one", lambda: insert_params(Table("person"), {"a": 1}),
     [Table("person"), {"a": 1}]),
    ("insert tuple", lambda: insert_params("person", ({"a": 1},)),
     [Table("person"), [{"a": 1}]]),
    ("insert ids", lambda: insert_params(None, [{"id": R1}]), [None, [{"id": R1}]]),
    ("insert NULL table", lambda: insert_params(NULL, {"id": R1}), [None, {"id": R1}]),
    ("insert_relation", lambda: insert_relation_params("likes", {"in": R1, "out": R2}),
     [Table("likes"), {"in": R1, "out": R2}]),
    ("insert_relation ids", lambda: insert_relation_params(None, [{"id": R1}]),
     [None, [{"id": R1}]]),
    ("patch", lambda: patch_params(R1, OPS), [R1, OPS]),
    ("patch tuple", lambda: patch_params(R1, tuple(OPS)), [R1, OPS]),
    ("patch diff", lambda: patch_params(R1, OPS, diff=True), [R1, OPS, True]),
    ("patch nothing", lambda: patch_params(R1, None), [R1]),
    ("patch nothing diff", lambda: patch_params(R1, None, True), [R1, None, True]),
    ("relate", lambda: relate_params(R1, "knows", R2), [R1, Table("knows"), R2]),
    ("relate data", lambda: relate_params("person:1", "knows", "person:2", {"w": 1}),
     [StringRecordID("person:1"), Table("knows"), StringRecordID("person:2"), {"w": 1}]),
    ("relate edge id", lambda: relate_params(R1, "knows:1", R2),
     [R1, StringRecordID("knows:1"), R2]),
    ("relate lists", lambda: relate_params([R1, "person:2"], Table("knows"), (R2,)),
     [[R1, StringRecordID("person:2")], Table("knows"), [R2]]),
    ("relate NULL data", lambda: relate_params(R1, "knows", R2, NULL), [R1, Table("knows"), R2]),
    ("run", lambda: run_params("fn::x"), ["fn::x"]),
    ("run args", lambda: run_params("fn::x", [1, 2]), ["fn::x", None, [1, 2]]),
    ("run tuple args", lambda: run_params("string::len", ("ab",)), ["string::len", None, ["ab"]]),
    ("run version", lambda: run_params("ml::m", version="1.0.0"), ["ml::m", "1.0.0"]),
    ("run all", lambda: run_params("ml::m", [1], "1.0.0"), ["ml::m", "1.0.0", [1]]),
    ("run empty args", lambda: run_params("time::now", []), ["time::now", None, []]),
    ("live", lambda: live_params("person"), [Table("person")]),
    ("live diff", lambda: live_params(Table("person"), diff=True), [Table("person"), True]),
    ("kill", lambda: kill_params(U), [U]),
    ("kill str", lambda: kill_params(str(U)), [U]),
    ("commit", lambda: commit_params(U), [U]),
    ("cancel", lambda: cancel_params(str(U).upper()), [U]),
    ("refresh", lambda: refresh_params(_Tokens("a.b.c", "surreal-refresh-x")),
     [{"access": "a.b.c", "refresh": "surreal-refresh-x"}]),
    ("revoke map", lambda: revoke_params({"access": "a", "refresh": "r", "x": 1}),
     [{"access": "a", "refresh": "r"}]),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (Table is not str, NULL is not None)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize(("name", "call", "expected"), PARAMS_CASES,
                         ids=[c[0] for c in PARAMS_CASES])
def test_params(name: str, call: Callable[[], list[Any]], expected: list[Any]) -> None:
    params = call()
    assert type(params) is list
    assert _same(params, expected), params


def test_data_is_copied_not_shared() -> None:
    data = {"a": 1}
    params = create_params(R1, data)
    assert params[1] == data
    assert params[1] is not data


ERROR_CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("use type", lambda: use_params(1, "db"), UnencodableTypeError,  # type: ignore[arg-type]
     "use: the namespace must be a str, None .unchanged. or NULL .unset., not int"),
    ("use db type", lambda: use_params("ns", b"db"), UnencodableTypeError,  # type: ignore[arg-type]
     "the database must be"),
    ("let protected", lambda: let_params("auth", 1), EncodingError, r"\$auth is a protected"),
    ("unset protected", lambda: unset_params("session"), EncodingError, "protected"),
    ("let bad name", lambda: let_params("1a", 1), EncodingError, "not a valid variable name"),
    ("let empty", lambda: let_params("", 1), EncodingError, "not a valid variable name"),
    ("let dollar", lambda: let_params("$x", 1), EncodingError, r"without the \$"),
    ("let type", lambda: let_params(5, 1), UnencodableTypeError,  # type: ignore[arg-type]
     "must be a str, not int"),
    ("query sql type", lambda: query_params(b"RETURN 1"),  # type: ignore[arg-type]
     UnencodableTypeError, "query: the SurrealQL must be a str"),
    ("query vars type", lambda: query_params("x", [("a", 1)]),  # type: ignore[arg-type]
     UnencodableTypeError, "vars must be a dict"),
    ("query protected var", lambda: query_params("x", {"token": 1}), EncodingError,
     "protected"),
    ("query bad var", lambda: query_params("x", {"a-b": 1}), EncodingError, "valid variable"),
    ("query int key", lambda: query_params("x", {1: 1}),  # type: ignore[dict-item]
     UnencodableTypeError, "variable name must be a str"),
    ("select empty", lambda: select_params(""), EncodingError, "empty string"),
    ("select int", lambda: select_params(5), UnencodableTypeError,  # type: ignore[arg-type]
     "select: the target must be a RecordID, Table, StringRecordID or str, not int"),
    ("select bare range", lambda: select_params(Range()),  # type: ignore[arg-type]
     UnencodableTypeError, r"RecordID\('table', Range"),
    ("create list data", lambda: create_params("t", [{}]),  # type: ignore[arg-type]
     UnencodableTypeError, "create: the data must be a dict of fields, not list"),
    ("merge str data", lambda: merge_params(R1, "x"),  # type: ignore[arg-type]
     UnencodableTypeError, "merge: the data"),
    ("insert record id", lambda: insert_params("person:1", {}), EncodingError,
     "looks like a record id"),
    ("insert RecordID", lambda: insert_params(R1, {}),  # type: ignore[arg-type]
     UnencodableTypeError,
     "insert: the table must be a non-empty str or Table or None .ids in the data., not RecordID"),
    ("insert empty", lambda: insert_params("", {}), UnencodableTypeError,
     "non-empty str or Table or None .ids in the data., not ''"),
    ("insert_relation None", lambda: insert_relation_params(R1, {}),  # type: ignore[arg-type]
     UnencodableTypeError, "insert_relation: the table"),
    ("insert data", lambda: insert_params("t", 5), UnencodableTypeError,
     "a dict or a list of dicts, not int"),
    ("insert data list", lambda: insert_params("t", [{}, 5]), UnencodableTypeError,
     "list of dicts"),
    ("insert ids missing", lambda: insert_params(None, [{"id": R1}, {"a": 1}]), EncodingError,
     "every record needs an 'id'"),
    ("insert_relation ids", lambda: insert_relation_params(None, {"in": R1}), EncodingError,
     "every record needs an 'id'"),
    ("patch type", lambda: patch_params(R1, {"op": "add"}),  # type: ignore[arg-type]
     UnencodableTypeError, "patches must be a list of operations, not dict"),
    ("patch op", lambda: patch_params(R1, [{"path": "/a"}]), EncodingError,
     "each operation needs str 'op' and 'path'"),
    ("patch op type", lambda: patch_params(R1, ["add"]),  # type: ignore[list-item]
     EncodingError, "each operation"),
    ("patch diff type", lambda: patch_params(R1, OPS, 1),  # type: ignore[arg-type]
     UnencodableTypeError, "patch: diff must be a bool, not int"),
    ("relate end", lambda: relate_params(5, "e", R1), UnencodableTypeError, "relate in"),
    ("relate out", lambda: relate_params(R1, "e", [R2, 5]), UnencodableTypeError,
     "relate out"),
    ("relate data", lambda: relate_params(R1, "e", R2, [1]),  # type: ignore[arg-type]
     UnencodableTypeError, "relate: the data"),
    ("run name", lambda: run_params(""), UnencodableTypeError, "non-empty str"),
    ("run name type", lambda: run_params(None), UnencodableTypeError,  # type: ignore[arg-type]
     "non-empty str"),
    ("run version type", lambda: run_params("ml::m", version=1),  # type: ignore[arg-type]
     UnencodableTypeError, "version must be a str"),
    ("run ml version", lambda: run_params("ml::m", [1]), EncodingError, "needs a version"),
    ("run args type", lambda: run_params("fn::x", "ab"),
     UnencodableTypeError, "args must be a list, not str"),
    ("live diff type", lambda: live_params("t", "yes"),  # type: ignore[arg-type]
     UnencodableTypeError, "live: diff must be a bool"),
    ("kill bad", lambda: kill_params("nope"), EncodingError, "must be a UUID, got 'nope'"),
    ("kill type", lambda: kill_params(5), UnencodableTypeError,  # type: ignore[arg-type]
     "uuid.UUID or UUID string, not int"),
    ("commit bad", lambda: commit_params("x"), EncodingError, "commit: the transaction id"),
    ("cancel type", lambda: cancel_params(None), UnencodableTypeError,  # type: ignore[arg-type]
     "cancel: the transaction id"),
    ("refresh missing", lambda: refresh_params({"access": "a"}), EncodingError,
     "refresh needs both an access and a refresh token"),
    ("refresh str", lambda: refresh_params("a.b.c"), EncodingError, "refresh needs both"),
    ("revoke empty", lambda: revoke_params(_Tokens("a", "")), EncodingError, "revoke needs"),
    ("revoke type", lambda: revoke_params(_Tokens(None, "r")), EncodingError, "revoke needs"),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_param_errors(name: str, call: Callable[[], Any], error: type[Exception],
                      message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_errors_are_also_builtin_types() -> None:
    # Callers can catch TypeError/ValueError as with any Python API.
    with pytest.raises(TypeError):
        select_params(3.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protected"):
        let_params("access", 1)


def test_token_values_never_in_messages() -> None:
    with pytest.raises(EncodingError) as info:
        refresh_params({"access": "secret-access-jwt", "refresh": 5})
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("name", sorted(PROTECTED_PARAM_NAMES))
def test_protected_names(name: str) -> None:
    with pytest.raises(EncodingError, match="protected variable"):
        check_param_name(name)
    # Variables are case-sensitive: the server protects the lower-case names only.
    assert check_param_name(name.upper()) == name.upper()


@pytest.mark.parametrize("name", ["x", "_", "_x", "__x", "a1", "AUTH", "tokens", "value"])
def test_valid_names(name: str) -> None:
    assert check_param_name(name) == name


@pytest.mark.parametrize("name", ["1", "1a", "a-b", "a b", "é", "$a", "a.b", "", "a\n"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(EncodingError, match="not a valid variable name"):
        check_param_name(name)


# --------------------------------------------------------------------------- injection

HOSTILE = ["a; DELETE b", "person; REMOVE TABLE person", "x` FROM y; DELETE z; --",
           "⟩; DELETE b", "$auth", "<string> b"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_table_strings_are_table_values(text: str) -> None:
    for build in (select_params, delete_params, create_params, update_params, live_params):
        (target, *_) = build(text)
        assert type(target) is Table
        assert target.name == text


@pytest.mark.parametrize("text", ["x:1; DELETE b", "a; DELETE b:1", "person:1`; DELETE b",
                                  "type::table('b')", "person:rand()", "person:abc-def"])
def test_hostile_record_strings_are_refused_before_sending(text: str) -> None:
    # The server would read only the record id at the start of the text (StringRecordID).
    with pytest.raises(EncodingError, match="drop the rest"):
        select_params(text)
    with pytest.raises(EncodingError):
        to_target(text)


@pytest.mark.parametrize("text", ["person:1", "person:`a; DELETE b`", "t:⟨x⟩", "t:1..3"])
def test_whole_record_id_strings_are_record_id_values(text: str) -> None:
    (target,) = select_params(text)
    assert type(target) is StringRecordID
    assert target.text == text


# --------------------------------------------------------------------------- transactions

TX_CASES: list[tuple[str, list[Any], str, dict[str, Any]]] = [
    ("select", [R1], "SELECT * FROM ONLY $__target", {"target": R1}),
    ("select", [StringRecordID("person:1")], "SELECT * FROM ONLY $__target",
     {"target": StringRecordID("person:1")}),
    ("select", [Table("person")], "SELECT * FROM $__target", {"target": Table("person")}),
    ("select", [RANGE], "SELECT * FROM $__target", {"target": RANGE}),
    ("select", ["person"], "SELECT * FROM $__target", {"target": Table("person")}),
    ("create", [R1, {"a": 1}], "CREATE ONLY $__target CONTENT $__data RETURN AFTER",
     {"target": R1, "data": {"a": 1}}),
    ("create", [Table("person")], "CREATE $__target RETURN AFTER",
     {"target": Table("person")}),
    ("create", ["person", {"a": 1}], "CREATE ONLY $__target CONTENT $__data RETURN AFTER",
     {"target": Table("person"), "data": {"a": 1}}),
    ("create", [R1, NULL], "CREATE ONLY $__target RETURN AFTER", {"target": R1}),
    ("update", [R1, {"a": 1}], "UPDATE ONLY $__target CONTENT $__data RETURN AFTER",
     {"target": R1, "data": {"a": 1}}),
    ("update", [Table("person")], "UPDATE $__target RETURN AFTER",
     {"target": Table("person")}),
    ("upsert", [R1, {"a": 1}], "UPSERT ONLY $__target CONTENT $__data RETURN AFTER",
     {"target": R1, "data": {"a": 1}}),
    ("merge", [RANGE, {"a": 1}], "UPDATE $__target MERGE $__data RETURN AFTER",
     {"target": RANGE, "data": {"a": 1}}),
    ("patch", [R1, OPS], "UPDATE ONLY $__target PATCH $__data RETURN AFTER",
     {"target": R1, "data": OPS}),
    ("patch", [R1, OPS, True], "UPDATE ONLY $__target PATCH $__data RETURN DIFF",
     {"target": R1, "data": OPS}),
    ("patch", [R1, None, True], "UPDATE ONLY $__target RETURN DIFF", {"target": R1}),
    ("patch", [Table("t"), OPS, False], "UPDATE $__target PATCH $__data RETURN AFTER",
     {"target": Table("t"), "data": OPS}),
    ("delete", [R1], "DELETE ONLY $__target RETURN BEFORE", {"target": R1}),
    ("delete", [{"id": R1}], "DELETE ONLY $__target RETURN BEFORE", {"target": {"id": R1}}),
    ("delete", [Table("person")], "DELETE $__target RETURN BEFORE",
     {"target": Table("person")}),
    ("insert", [Table("person"), [{"a": 1}]], "INSERT INTO $__target $__data RETURN AFTER",
     {"target": Table("person"), "data": [{"a": 1}]}),
    ("insert", [None, [{"id": R1}]], "INSERT $__data RETURN AFTER", {"data": [{"id": R1}]}),
    ("insert_relation", [Table("likes"), {"in": R1, "out": R2}],
     "INSERT RELATION INTO $__target $__data RETURN AFTER",
     {"target": Table("likes"), "data": {"in": R1, "out": R2}}),
    ("insert_relation", [NULL, {"id": R1}], "INSERT RELATION $__data RETURN AFTER",
     {"data": {"id": R1}}),
    ("relate", [R1, Table("knows"), R2],
     "RELATE ONLY $__in->$__edge->$__out RETURN AFTER",
     {"in": R1, "edge": Table("knows"), "out": R2}),
    ("relate", [R1, "knows", {"id": R2}, {"w": 1}],
     "RELATE ONLY $__in->$__edge->$__out CONTENT $__data RETURN AFTER",
     {"in": R1, "edge": Table("knows"), "out": {"id": R2}, "data": {"w": 1}}),
    ("relate", [[R1, R2], Table("knows"), R2], "RELATE $__in->$__edge->$__out RETURN AFTER",
     {"in": [R1, R2], "edge": Table("knows"), "out": R2}),
    ("relate", [R1, Table("knows"), RANGE], "RELATE $__in->$__edge->$__out RETURN AFTER",
     {"in": R1, "edge": Table("knows"), "out": RANGE}),
    ("run", ["fn::add", None, [1, 2]], "RETURN fn::add($__arg0, $__arg1)",
     {"arg0": 1, "arg1": 2}),
    ("run", ["time::now"], "RETURN time::now()", {}),
    ("run", ["count", "9.9.9", [[1]]], "RETURN count($__arg0)", {"arg0": [1]}),
    ("run", ["ml::my::model", "1.0.12", ["x"]], "RETURN ml::my::model<1.0.12>($__arg0)",
     {"arg0": "x"}),
]


@pytest.mark.parametrize(("method", "params", "sql", "bound"), TX_CASES)
def test_transaction_query(method: str, params: list[Any], sql: str,
                           bound: dict[str, Any]) -> None:
    got_sql, got_vars = as_transaction_query(method, params)
    assert got_sql == sql
    assert _same(got_vars, {f"__{k}": v for k, v in bound.items()})


def test_every_rewrite_method_is_tested() -> None:
    assert {m for m, *_ in TX_CASES} == TRANSACTION_REWRITE_METHODS


@pytest.mark.parametrize("text", HOSTILE)
def test_transaction_sql_holds_no_user_text(text: str) -> None:
    for method, params in [
        ("select", select_params(text)), ("delete", delete_params(text)),
        ("create", create_params(text, {"k": text})), ("update", update_params(text, {})),
        ("upsert", upsert_params(RecordID(text, 1), {"k": text})),
        ("merge", merge_params(Table(text), {text: text})),
        ("patch", patch_params(text, [{"op": "add", "path": "/" + text, "value": text}], True)),
        ("insert", insert_params(text, [{"k": text}])),
        ("insert_relation", insert_relation_params(Table(text), {"in": R1, "out": R2})),
        ("relate", relate_params(RecordID(text, 1), text, RecordID(text, text), {"k": text})),
        ("run", run_params("fn::x", [text, text])),
    ]:
        sql, bound = as_transaction_query(method, params)
        assert text not in sql
        assert "DELETE b" not in sql
        assert set(sql.split()) <= {"SELECT", "*", "FROM", "ONLY", "$__target", "DELETE",
                                    "RETURN", "BEFORE", "AFTER", "DIFF", "CREATE", "UPDATE",
                                    "UPSERT", "CONTENT", "MERGE", "PATCH", "INSERT",
                                    "RELATION", "INTO", "$__data", "RELATE",
                                    "$__in->$__edge->$__out", "fn::x($__arg0,", "$__arg1)"}
        assert bound  # the values travel as variables


@pytest.mark.parametrize(("params", "message"), [
    (["fn::x; DELETE b"], "cannot be written into a transaction query"),
    (["fn::"], "plain name"),
    (["fn"], "plain name"),
    (["ml"], "plain name"),
    (["a b"], "plain name"),
    (["fn::x()"], "plain name"),
    (["fn::`x`"], "plain name"),
    ([5], "plain name"),
    (["ml::m"], "needs a model version like '1.0.0', got None"),
    (["ml::m", "1.0"], "got '1.0'"),
    (["ml::m", "1.0.0>(1); DELETE b; RETURN ml::m<1.0.0"], "model version"),
])
def test_transaction_run_names_are_checked(params: list[Any], message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        as_transaction_query("run", params)


@pytest.mark.parametrize("name", ["mod::m::f", "silo::org::pkg::f"])
def test_transaction_run_experimental(name: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match="experimental"):
        as_transaction_query("run", [name, "1.0.0"])


@pytest.mark.parametrize(("method", "params", "message"), [
    ("query", ["RETURN 1"], "'query' has no transaction form"),
    ("live", [Table("t")], "no transaction form"),
    ("select", [], "select: expected 1 to 1 params, got 0"),
    ("select", [R1, R2], "expected 1 to 1 params, got 2"),
    ("relate", [R1, Table("e")], "relate: expected 3 to 4 params, got 2"),
    ("patch", [R1, OPS, True, 1], "expected 1 to 3 params"),
])
def test_transaction_query_misuse(method: str, params: list[Any], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        as_transaction_query(method, params)


# --------------------------------------------------------------------------- support checks

V2 = ServerVersion.parse("surrealdb-2.6.5")
V3 = ServerVersion.parse("surrealdb-3.2.4")


@pytest.mark.parametrize(("method", "transport", "version", "message"), [
    ("live", "http", None, r"live: live queries need a WebSocket connection; HTTP is "
                           r"stateless \(protocol.md §8.1\)"),
    ("kill", "embedded", V3, "the embedded engine does not deliver notifications"),
    ("begin", "http", V3, "transactions need the server WebSocket; HTTP /rpc answers begin"),
    ("commit", "embedded", V3, r"the embedded engine rejects begin \(protocol.md §9.4\)"),
    ("cancel", "embedded", None, "rejects begin"),
    ("attach", "http", V3, "sessions need a WebSocket connection"),
    ("sessions", "http", None, "protocol.md §9.3"),
    ("attach", "ws", V2, r"sessions need SurrealDB 3.0 or newer \(protocol.md §4.1\); "
                         r"this server is 2.6.5"),
    ("detach", "embedded", (2, 6, 5), "sessions need SurrealDB 3.0"),
    ("begin", "ws", V2, "transactions need SurrealDB 3.0 or newer"),
    ("refresh", "ws", V2, r"refresh\(\) needs SurrealDB 3.0 or newer"),
    ("revoke", "http", (2, 0, 0), r"revoke\(\) needs SurrealDB 3.0"),
    ("upsert", "ws", ServerVersion.parse("1.5.6"), r"upsert\(\) needs SurrealDB 2.0"),
    ("insert_relation", "http", (1, 4, 2), r"insert_relation\(\) needs SurrealDB 2.0"),
    ("reset", "ws", ServerVersion.parse("2.1.9"), r"reset\(\) needs SurrealDB 2.2 or newer"),
])
def test_check_supported_refuses(method: str, transport: Any, version: Any,
                                 message: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=message):
        check_supported(method, transport=transport, server_version=version)


@pytest.mark.parametrize(("method", "transport", "version"), [
    ("live", "ws", V2), ("kill", "ws", None), ("begin", "ws", V3),
    ("begin", "ws", ServerVersion.parse("3.0.0-beta.1")), ("commit", "ws", (3, 0, 0)),
    ("attach", "ws", V3), ("attach", "embedded", V3), ("sessions", "embedded", None),
    ("let", "http", V2), ("unset", "http", V3), ("use", "http", None), ("query", "http", V2),
    ("select", "embedded", ServerVersion.parse("1.0.0")), ("upsert", "http", (2, 0, 0)),
    ("reset", "ws", V3), ("refresh", "http", V3), ("no_such_method", "http", V2),
])
def test_check_supported_allows(method: str, transport: Any, version: Any) -> None:
    check_supported(method, transport=transport, server_version=version)


def test_metadata_is_consistent() -> None:
    assert set(MIN_VERSION) <= METHODS
    assert WS_ONLY_METHODS == LIVE_METHODS | TRANSACTION_CONTROL_METHODS
    for group in (SESSION_METHODS, HTTP_LOCAL_METHODS, TXN_AWARE_METHODS,
                  TRANSACTION_REWRITE_METHODS, READ_ONLY_METHODS):
        assert group <= METHODS
    assert not READ_ONLY_METHODS & {"query", "run", "create", "update", "delete", "signin"}
    assert MIN_VERSION["begin"] == (3, 0, 0)
    assert MIN_VERSION["reset"] == (2, 2, 0)
    with pytest.raises(TypeError):
        MIN_VERSION["x"] = (1, 0, 0)  # type: ignore[index]


# --------------------------------------------------------------------------- real engine
# Each transaction form against the RPC method it replaces, on two fresh embedded engines
# (surrealdb-embedded, engine 3.2.4) seeded alike. Values go over the wire with the tags of
# protocol.md §5.1 (a minimal converter: the codec is tested on its own).

_SEED = ("CREATE person:1 SET name = 'a'; CREATE person:2 SET name = 'b'; "
         "CREATE person:3 SET name = 'c'; "
         "DEFINE FUNCTION fn::add($x: int, $y: int) { RETURN $x + $y; };")
_RANDOM_KEY = re.compile(r"[0-9a-z]{20}")


def _to_wire(v: Any) -> Any:
    if v is None:
        return cbor2.CBORTag(6, None)
    if v is NULL:
        return None
    if isinstance(v, Table):
        return cbor2.CBORTag(7, v.name)
    if isinstance(v, StringRecordID):
        return cbor2.CBORTag(8, v.text)
    if isinstance(v, RecordID):
        return cbor2.CBORTag(8, [v.table, _to_wire(v.id)])
    if isinstance(v, Range):
        return cbor2.CBORTag(49, [None if b is None else cbor2.CBORTag(
            50 if isinstance(b, BoundIncluded) else 51, _to_wire(b.value))
            for b in (v.begin, v.end)])
    if isinstance(v, uuid.UUID):
        return cbor2.CBORTag(37, v.bytes)
    if isinstance(v, dict):
        return {k: _to_wire(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_to_wire(x) for x in v]
    return v


def _from_wire(v: Any) -> Any:
    if isinstance(v, cbor2.CBORTag):
        if v.tag == 6:
            return None
        if v.tag == 8:
            table, key = v.value
            key = _from_wire(key)
            # Random ids differ between the two engines: compare them as equal.
            return RecordID(table, "<random>" if isinstance(key, str)
                            and _RANDOM_KEY.fullmatch(key) else key)
        if v.tag == 37:
            return uuid.UUID(bytes=v.value)
        if v.tag == 49:
            return Range(*(None if b is None else _from_wire(b) for b in v.value))
        if v.tag in (50, 51):
            return (BoundIncluded if v.tag == 50 else BoundExcluded)(_from_wire(v.value))
        return v
    if v is None:
        return NULL
    if isinstance(v, Mapping):
        return {k: _from_wire(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_from_wire(x) for x in v]
    return v


def _call(db: Any, method: str, params: list[Any]) -> Any:
    request = {"id": 1, "method": method, "params": _to_wire(params)}
    reply = _from_wire(cbor2.loads(db.execute(cbor2.dumps(request))))
    if "error" in reply:
        return server_error_from_wire(reply["error"])
    return reply["result"]


@pytest.fixture
def engine_pair() -> Iterator[Callable[[], tuple[Any, Any]]]:
    embedded = pytest.importorskip("surrealdb_embedded")
    opened: list[Any] = []

    def make() -> Any:
        db = embedded.SyncEmbeddedDB("mem://")
        db.connect()
        opened.append(db)
        _call(db, "use", ["test", "test"])
        assert all(s.ok for s in parse_query_result(_call(db, "query", [_SEED])))
        return db

    yield lambda: (make(), make())
    for db in opened:
        db.close()


E1 = RecordID("likes", 1)
ENGINE_CASES: list[tuple[str, Callable[[], list[Any]]]] = [
    ("select", lambda: select_params(R1)),
    ("select", lambda: select_params("person:2")),
    ("select", lambda: select_params(RecordID("person", 99))),
    ("select", lambda: select_params("person")),
    ("select", lambda: select_params(RANGE)),
    ("create", lambda: create_params(RecordID("person", 10), {"name": "x"})),
    ("create", lambda: create_params("person", {"name": "y"})),
    ("create", lambda: create_params("person:11")),
    ("create", lambda: create_params(R1, {"name": "dup"})),
    ("insert", lambda: insert_params("person", [{"id": RecordID("person", 20)}, {"n": 1}])),
    ("insert", lambda: insert_params(None, {"id": RecordID("person", 21), "n": NULL})),
    ("insert_relation", lambda: insert_relation_params("likes", {"in": R1, "out": R2})),
    ("insert_relation", lambda: insert_relation_params(None, [{"id": E1, "in": R1,
                                                              "out": R2}])),
    ("update", lambda: update_params(R1, {"name": "new"})),
    ("update", lambda: update_params(RecordID("person", 99), {"name": "new"})),
    ("update", lambda: update_params("person")),
    ("upsert", lambda: upsert_params(RecordID("person", 30), {"name": "u"})),
    ("merge", lambda: merge_params(R1, {"m": 1})),
    ("merge", lambda: merge_params(RANGE, {"m": 2})),
    ("patch", lambda: patch_params(R1, OPS)),
    ("patch", lambda: patch_params(R1, OPS, diff=True)),
    ("patch", lambda: patch_params(R1, None, diff=True)),
    ("delete", lambda: delete_params(RecordID("person", 3))),
    ("delete", lambda: delete_params(RecordID("person", 99))),
    ("delete", lambda: delete_params("person")),
    ("relate", lambda: relate_params(R1, "knows", "person:2", {"w": 1})),
    ("relate", lambda: relate_params([R1, R2], "knows", R2)),
    ("relate", lambda: relate_params(R1, "knows", RANGE)),
    ("run", lambda: run_params("fn::add", [1, 2])),
    ("run", lambda: run_params("string::len", ["abc"])),
    ("run", lambda: run_params("fn::add", ["x", 2])),
]


@pytest.mark.parametrize(("method", "build"), ENGINE_CASES)
def test_transaction_form_matches_rpc_on_engine(
        engine_pair: Callable[[], tuple[Any, Any]], method: str,
        build: Callable[[], list[Any]]) -> None:
    rpc_db, query_db = engine_pair()
    params = build()
    direct = _call(rpc_db, method, params)
    sql, bound = as_transaction_query(method, params)
    raw = _call(query_db, "query", [sql, bound])
    try:
        rewritten = transaction_result(method, raw)
    except ServerError as exc:
        rewritten = exc
    if isinstance(direct, ServerError):
        assert isinstance(rewritten, ServerError), rewritten
        assert (direct.kind, direct.message) == (rewritten.kind, rewritten.message)
        return
    assert shape_result(method, params, direct) == shape_result(method, params, rewritten)
    # Both engines now hold the same data.
    everything = "SELECT * FROM person; SELECT * FROM knows; SELECT * FROM likes"
    assert _contents(rpc_db, everything) == _contents(query_db, everything)


def _contents(db: Any, sql: str) -> list[tuple[str, Any]]:
    # Rows are in id order; rows with random ids come in random order, so sort those.
    return [(s.status, sorted(s.result, key=repr) if isinstance(s.result, list) else s.result)
            for s in parse_query_result(_call(db, "query", [sql]))]


@pytest.mark.parametrize("target", [*HOSTILE, Table("person; DELETE person")])
def test_hostile_targets_delete_nothing_on_engine(
        engine_pair: Callable[[], tuple[Any, Any]], target: Any) -> None:
    db, _ = engine_pair()
    for method, params in [("select", select_params(target)),
                           ("delete", delete_params(target))]:
        _call(db, method, params)
        sql, bound = as_transaction_query(method, params)
        _call(db, "query", [sql, bound])
    assert len(_call(db, "select", select_params("person"))) == 3


@pytest.mark.parametrize("text", ["person:1; DELETE person", "x:1; REMOVE TABLE person"])
def test_hostile_record_ids_delete_nothing_on_engine(
        engine_pair: Callable[[], tuple[Any, Any]], text: str) -> None:
    db, _ = engine_pair()
    # 3.2.4 reads only the record id at the start of tag-8 text (the rest is ignored,
    # never executed), so such text is refused before anything is sent.
    with pytest.raises(EncodingError):
        select_params(text)
    _call(db, "select", [_new_string_record_id(text)])  # sent anyway: still nothing runs
    sql, bound = as_transaction_query("select", [_new_string_record_id(text)])
    _call(db, "query", [sql, bound])
    assert len(_call(db, "select", select_params("person"))) == 3
