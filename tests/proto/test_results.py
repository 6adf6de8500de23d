"""Query results (protocol.md §6.5), result shaping (API.md §5) and the version reply."""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest

from surreal_proto import (
    AlreadyExistsError,
    InternalError,
    NotFoundError,
    QueryError,
    RemoteProtocolError,
    ServerError,
    ThrownError,
    ValidationError,
)
from surreal_proto._recordid import RecordID, StringRecordID, Table
from surreal_proto._results import (
    StatementResult,
    parse_query_result,
    query_values,
    shape_result,
    transaction_result,
    version_string,
)

# Items as the engines send them (protocol.md §6.5; 3.x ones observed on 3.2.4).
OK_V3 = {"result": [{"id": 1}], "status": "OK", "time": "89.057µs", "type": None}
OK_V2 = {"result": 1, "status": "OK", "time": "1.5s"}
LIVE_V3 = {"result": uuid.UUID(int=7), "status": "OK", "time": "1ms", "type": "live"}
THROW_V3 = {"kind": "Thrown", "result": "An error occurred: boom", "status": "ERR",
            "time": "248.075µs", "type": None}
MISSING_V3 = {"kind": "NotFound", "details": {"kind": "Table", "details": {"name": "x"}},
              "result": "The table 'x' does not exist", "status": "ERR", "time": "1µs",
              "type": None}
NOT_EXECUTED_V3 = {"details": {"kind": "NotExecuted"}, "kind": "Query",
                   "result": "The query was not executed due to a failed transaction",
                   "status": "ERR", "time": "451.617µs", "type": None}
CANCELLED_V3 = {"details": {"kind": "Cancelled"}, "kind": "Query",
                "result": "The query was not executed due to a cancelled transaction",
                "status": "ERR", "time": "0ns", "type": None}
COMMIT_V3 = {"details": {"kind": "NotExecuted"}, "kind": "Query",
             "result": "Cannot COMMIT: the transaction was aborted due to a prior error",
             "status": "ERR", "time": "0ns", "type": None}
TIMEOUT_V3 = {"kind": "Query", "details": {"kind": "TimedOut", "details": {"duration": 1}},
              "result": "The query was not executed because it exceeded the timeout",
              "status": "ERR", "time": "1s", "type": None}
ERR_V2 = {"status": "ERR", "time": "1µs", "result": "An error occurred: x"}
NOT_EXECUTED_V2 = {"status": "ERR", "time": "1µs",
                   "result": "The query was not executed due to a failed transaction"}


def test_parse_v3_items() -> None:
    ok, live, err = parse_query_result([OK_V3, LIVE_V3, MISSING_V3])
    assert ok == StatementResult("OK", [{"id": 1}], "89.057µs", None, None)
    assert ok.ok
    assert live.ok
    assert not err.ok
    assert live.type == "live"
    assert live.result == uuid.UUID(int=7)
    assert err.status == "ERR"
    assert err.result == "The table 'x' does not exist"
    assert isinstance(err.error, NotFoundError)
    assert err.error.detail_path == ("Table",)
    assert err.error.message == err.result


def test_parse_v2_items() -> None:
    ok, err = parse_query_result((OK_V2, ERR_V2))
    assert ok == StatementResult("OK", 1, "1.5s", None, None)
    assert isinstance(err.error, ThrownError)
    assert err.type is None


def test_parse_tolerates_missing_optional_fields() -> None:
    (item,) = parse_query_result([{"status": "OK"}])
    assert item == StatementResult("OK", None, "", None, None)


def test_parse_empty() -> None:
    assert parse_query_result([]) == []
    assert query_values([]) == []


@pytest.mark.parametrize(("raw", "message"), [
    (None, "must be a list of statement results, got NoneType"),
    ({"status": "OK"}, "must be a list"),
    ("x", "must be a list"),
    ([OK_V3, 5], "statement 2 of a query result is a int, not a map"),
    ([{"status": "ok", "time": "1s"}], "statement 1: unknown status 'ok'"),
    ([{"time": "1s", "result": 1}], "unknown status None"),
    ([{"status": "OK", "time": 5}], "'time' is not a string"),
    ([{"status": "OK", "time": "1s", "type": 3}], "'type' is not a string"),
])
def test_parse_malformed(raw: Any, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        parse_query_result(raw)


def test_statement_result_is_frozen() -> None:
    (item,) = parse_query_result([OK_V2])
    with pytest.raises(AttributeError):
        item.status = "ERR"  # type: ignore[misc]


def test_query_values_all_ok() -> None:
    assert query_values([OK_V3, OK_V2, LIVE_V3]) == [[{"id": 1}], 1, uuid.UUID(int=7)]


class _Time(str):
    """A ``str`` subclass: valid, though no decoder makes one."""


@pytest.mark.parametrize("raw", [
    (OK_V3, OK_V2),  # a tuple, not the decoder's list
    [OK_V3, types.MappingProxyType(OK_V2)],  # a read-only mapping, not a dict
    [OK_V3, {**OK_V2, "time": _Time("1s")}],
])
def test_query_values_accepts_any_well_formed_shape(raw: Any) -> None:
    assert query_values(raw) == [[{"id": 1}], 1]


@pytest.mark.parametrize(("raw", "message"), [
    ([OK_V3, {"status": "OK", "time": 5}], "statement 2: 'time' is not a string"),
    ([{"status": "OK", "time": "1s", "type": 3}, OK_V3], "statement 1: 'type' is not a string"),
    ([OK_V3, 5], "statement 2 of a query result is a int, not a map"),
    ({"status": "OK"}, "must be a list"),
])
def test_query_values_refuses_malformed_ok_statements(raw: Any, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        query_values(raw)


def test_query_values_later_statement_failure_is_not_dropped() -> None:
    # The official SDK returns 1 for "RETURN 1; THROW 'x'" (sdk-survey.md §2.9 item 2).
    with pytest.raises(QueryError) as info:
        query_values([OK_V2, THROW_V3, OK_V3])
    error = info.value
    assert str(error) == "statement 2 of 3 failed: An error occurred: boom"
    assert error.results[0] == 1
    assert error.results[2] == [{"id": 1}]
    assert isinstance(error.results[1], ThrownError)
    assert error.errors == [error.results[1]]
    assert error.__cause__ is error.results[1]
    assert error.cause is error.results[1]
    assert error.kind == "Query"
    assert error.details is None


def test_query_values_counts_failures() -> None:
    with pytest.raises(QueryError) as info:
        query_values([MISSING_V3, OK_V2, THROW_V3])
    assert str(info.value) == ("statement 1 of 3 failed: The table 'x' does not exist "
                               "(2 statements failed)")
    assert [type(e) for e in info.value.errors] == [NotFoundError, ThrownError]


@pytest.mark.parametrize("items", [
    # BEGIN; CREATE a:1; THROW 'boom'; CREATE a:2; COMMIT on 3.2.4 (protocol.md §6.5)
    [{"result": None, "status": "OK", "time": "0ns", "type": None}, NOT_EXECUTED_V3, THROW_V3,
     CANCELLED_V3, COMMIT_V3],
    # the same on 2.x: no kinds, only message text
    [{"result": None, "status": "OK", "time": "0ns"}, NOT_EXECUTED_V2, ERR_V2],
])
def test_query_values_names_the_root_cause_in_a_transaction(items: list[Any]) -> None:
    with pytest.raises(QueryError) as info:
        query_values(items)
    assert f"statement 3 of {len(items)} failed: An error occurred:" in str(info.value)
    assert isinstance(info.value.__cause__, ThrownError)
    assert len(info.value.errors) == len(items) - 1


def test_query_values_only_consequential_failures() -> None:
    with pytest.raises(QueryError) as info:
        query_values([NOT_EXECUTED_V3, COMMIT_V3])
    assert str(info.value).startswith("statement 1 of 2 failed: The query was not executed")


def test_query_values_timeout_keeps_query_details() -> None:
    with pytest.raises(QueryError) as info:
        query_values([TIMEOUT_V3])
    assert info.value.is_timed_out
    assert info.value.detail_kind == "TimedOut"


# --------------------------------------------------------------------------- shaping

RECORD = {"id": RecordID("person", 1), "name": "a"}


@pytest.mark.parametrize(("method", "params", "result", "expected"), [
    # create on a table: 3.x [record] (tag-7 table) is unwrapped; 2.x already a record
    ("create", [Table("person")], [RECORD], RECORD),
    ("create", [Table("person"), {"name": "a"}], RECORD, RECORD),
    ("create", ["person"], [RECORD], RECORD),
    ("create", [Table("person")], [RECORD, RECORD], [RECORD, RECORD]),
    ("create", [RecordID("person", 1)], RECORD, RECORD),
    ("create", [StringRecordID("person:1")], RECORD, RECORD),
    ("create", [StringRecordID("person:1")], [RECORD], [RECORD]),
    ("create", [], [RECORD], [RECORD]),
    ("insert", [Table("person"), [{}]], [RECORD], [RECORD]),
    ("insert", [Table("person"), {}], RECORD, [RECORD]),
    ("insert_relation", [None, {}], None, []),
    ("live", [Table("person")], uuid.UUID(int=1), uuid.UUID(int=1)),
    ("version", [], "surrealdb-3.2.4", "surrealdb-3.2.4"),
    ("select", [RecordID("person", 1)], None, None),
    ("select", [Table("person")], [RECORD], [RECORD]),
    ("update", [RecordID("person", 1)], RECORD, RECORD),
    ("relate", [RecordID("a", 1), Table("e"), RecordID("b", 1)], RECORD, RECORD),
    ("run", ["fn::x"], 3, 3),
])
def test_shape_result(method: str, params: list[Any], result: Any, expected: Any) -> None:
    assert shape_result(method, params, result) == expected


@pytest.mark.parametrize(("method", "result"), [("live", "not-a-uuid"), ("version", 3)])
def test_shape_result_rejects(method: str, result: Any) -> None:
    with pytest.raises(RemoteProtocolError, match=f"{method} returned"):
        shape_result(method, [], result)


def test_version_reply() -> None:
    assert version_string("surrealdb-3.2.4") == "surrealdb-3.2.4"
    with pytest.raises(RemoteProtocolError, match="not a version string"):
        version_string(None)


# --------------------------------------------------------------------------- transactions

def test_transaction_result_ok() -> None:
    assert transaction_result("select", [{"result": RECORD, "status": "OK", "time": "1µs",
                                          "type": None}]) == RECORD


@pytest.mark.parametrize(("item", "error_type"), [
    ({"kind": "AlreadyExists", "details": {"kind": "Record", "details": {"id": "person:1"}},
      "result": "Database record `person:1` already exists", "status": "ERR", "time": "1µs",
      "type": None}, AlreadyExistsError),
    (THROW_V3, ThrownError),
    ({"kind": "Validation", "result": "Cannot use NONE in a CONTENT clause", "status": "ERR",
      "time": "1µs"}, ValidationError),
    (ERR_V2, ThrownError),
    ({"result": "odd", "status": "ERR", "time": "1µs"}, InternalError),
])
def test_transaction_result_raises_the_typed_error(item: dict[str, Any],
                                                   error_type: type[ServerError]) -> None:
    with pytest.raises(error_type) as info:
        transaction_result("create", [item])
    assert type(info.value) is error_type
    assert info.value.message == item["result"]


@pytest.mark.parametrize("raw", [[], [OK_V2, OK_V2]])
def test_transaction_result_needs_one_statement(raw: list[Any]) -> None:
    with pytest.raises(RemoteProtocolError, match="create in a transaction: expected one"):
        transaction_result("create", raw)


def test_transaction_result_malformed() -> None:
    with pytest.raises(RemoteProtocolError):
        transaction_result("create", {"status": "OK"})
