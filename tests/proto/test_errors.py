"""Server error objects become the right typed exception, for 3.x and 1.x/2.x servers."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from surreal_proto import (
    AlreadyExistsError,
    AuthError,
    ConfigurationError,
    ConnectionClosedError,
    EncodingError,
    HandshakeError,
    InternalError,
    InvalidAuthError,
    LocalProtocolError,
    NotAllowedError,
    NotFoundError,
    ProtocolError,
    QueryError,
    RemoteProtocolError,
    ServerError,
    SessionExpiredError,
    SurrealError,
    SurrealTimeoutError,
    ThrownError,
    TokenExpiredError,
    UnencodableTypeError,
    ValidationError,
    server_error_from_wire,
)

# Error objects observed on a real 3.2.4 engine (protocol.md §6.2).
V3_CASES: list[tuple[dict[str, Any], type[ServerError], tuple[str, ...]]] = [
    ({"code": -32601, "kind": "NotFound", "message": "Method not found",
      "details": {"kind": "Method", "details": {"name": "unknown"}}},
     NotFoundError, ("Method",)),
    ({"code": -32602, "kind": "NotAllowed", "message": "Method not allowed",
      "details": {"kind": "Method", "details": {"name": "begin"}}},
     NotAllowedError, ("Method",)),
    ({"code": -32603, "kind": "Validation", "message": "Expected (ns, db)",
      "details": {"kind": "InvalidParams"}}, ValidationError, ("InvalidParams",)),
    ({"code": -32604, "kind": "Configuration", "message": "Unable to perform the realtime query",
      "details": {"kind": "LiveQueryNotSupported"}},
     ConfigurationError, ("LiveQueryNotSupported",)),
    ({"code": -32002, "kind": "NotAllowed", "message": "The token has expired",
      "details": {"kind": "Auth", "details": {"kind": "TokenExpired"}}},
     TokenExpiredError, ("Auth", "TokenExpired")),
    ({"code": -32000, "kind": "NotAllowed", "message": "The session has expired",
      "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}},
     SessionExpiredError, ("Auth", "SessionExpired")),
    ({"code": -32002, "kind": "NotAllowed", "message": "There was a problem with authentication",
      "details": {"kind": "Auth", "details": {"kind": "InvalidAuth"}}},
     InvalidAuthError, ("Auth", "InvalidAuth")),
    ({"code": -32002, "kind": "NotAllowed", "message": "Username or Password was not provided",
      "details": {"kind": "Auth", "details": {"kind": "MissingUserOrPass"}}},
     AuthError, ("Auth", "MissingUserOrPass")),
    ({"code": -32000, "kind": "AlreadyExists",
      "message": "Database record `person:c` already exists",
      "details": {"kind": "Record", "details": {"id": "person:c"}}},
     AlreadyExistsError, ("Record",)),
    ({"code": -32000, "kind": "Internal", "message": "InvalidToken"}, InternalError, ()),
    ({"code": -32000, "kind": "Thrown", "message": "An error occurred: x"}, ThrownError, ()),
    ({"code": -32009, "kind": "Query", "message": "conflict",
      "details": {"kind": "TransactionConflict"}}, QueryError, ("TransactionConflict",)),
]


@pytest.mark.parametrize(("wire", "cls", "path"), V3_CASES)
def test_v3_error_objects(wire: dict[str, Any], cls: type[ServerError],
                          path: tuple[str, ...]) -> None:
    err = server_error_from_wire({**wire, "cause": None})
    assert type(err) is cls
    assert err.kind == wire["kind"]
    assert err.code == wire["code"]
    assert err.message == wire["message"]
    assert str(err) == wire["message"]
    assert err.detail_path == path
    assert err.cause is None


def test_v3_code_is_ignored_when_kind_is_present() -> None:
    # -32602 means METHOD_NOT_ALLOWED on 3.x but Invalid params on 2.x (protocol.md §6.3).
    err = server_error_from_wire({"code": -32602, "kind": "Validation", "message": "m"})
    assert type(err) is ValidationError


def test_unknown_kind_is_internal() -> None:
    err = server_error_from_wire({"code": -32000, "kind": "Quantum", "message": "m"})
    assert type(err) is InternalError
    assert err.kind == "Internal"


def test_double_wrapped_details_are_unwrapped() -> None:
    err = server_error_from_wire({
        "kind": "NotAllowed", "message": "The session has expired",
        "details": {"kind": "NotAllowed",
                    "details": {"kind": "Auth", "details": {"kind": "SessionExpired"}}}})
    assert type(err) is SessionExpiredError
    assert err.detail_path == ("Auth", "SessionExpired")


def test_cause_chain() -> None:
    err = server_error_from_wire({
        "code": -32000, "kind": "Internal", "message": "outer",
        "cause": {"kind": "NotFound", "message": "inner",
                  "details": {"kind": "Table", "details": {"name": "t"}}, "cause": None}})
    assert isinstance(err.cause, NotFoundError)
    assert err.__cause__ is err.cause
    assert err.cause.detail_kind == "Table"
    assert err.cause.code is None


def test_query_statement_error_uses_result_as_message() -> None:
    item = {"status": "ERR", "time": "1µs", "kind": "NotFound", "result": "The table 't' does "
            "not exist", "details": {"kind": "Table", "details": {"name": "t"}}}
    err = server_error_from_wire(item, message_key="result")
    assert isinstance(err, NotFoundError)
    assert err.message == "The table 't' does not exist"


LEGACY_CASES: list[tuple[int, str, type[ServerError], tuple[str, ...]]] = [
    (-32700, "Parse error", ValidationError, ("Parse",)),
    (-32600, "Invalid Request", ValidationError, ("InvalidRequest",)),
    (-32601, "Method not found", NotFoundError, ("Method",)),
    (-32602, "Invalid params", ValidationError, ("InvalidParams",)),
    (-32000, "There was a problem with the database: The session has expired",
     SessionExpiredError, ("Auth", "SessionExpired")),
    (-32000, "There was a problem with the database: The token has expired",
     TokenExpiredError, ("Auth", "TokenExpired")),
    (-32000, "There was a problem with the database: There was a problem with authentication",
     InvalidAuthError, ("Auth", "InvalidAuth")),
    (-32000, "Method not allowed", NotAllowedError, ("Method",)),
    (-32000, "Live Query was made, but is not supported", ConfigurationError,
     ("LiveQueryNotSupported",)),
    (-32000, "Database record `a:b` already exists", AlreadyExistsError, ()),
    (-32000, "The table 'x' does not exist", NotFoundError, ()),
    (-32000, "An error occurred: boom", ThrownError, ()),
    (-32000, "Something else", InternalError, ()),
    (-32603, "Internal error", InternalError, ()),
]


@pytest.mark.parametrize(("code", "message", "cls", "path"), LEGACY_CASES)
def test_legacy_error_objects(code: int, message: str, cls: type[ServerError],
                              path: tuple[str, ...]) -> None:
    err = server_error_from_wire({"code": code, "message": message})
    assert type(err) is cls
    assert err.detail_path == path
    assert err.code == code


@pytest.mark.parametrize("wire", [None, "text", 5, ["a"]])
def test_wrong_shape_gives_internal_error(wire: Any) -> None:
    err = server_error_from_wire(wire)
    assert type(err) is InternalError
    assert "malformed" in str(err)


def test_wrong_field_types_are_tolerated() -> None:
    err = server_error_from_wire({"code": True, "message": 7, "kind": "NotFound",
                                  "details": "x", "cause": "y"})
    assert type(err) is NotFoundError
    assert err.code is None
    assert err.message == "7"
    assert err.details is None
    assert err.detail_kind is None
    assert err.cause is None


def test_detail_path_stops_at_non_string_kind() -> None:
    err = NotFoundError("m", details={"kind": "Table", "details": {"kind": 5}})
    assert err.detail_path == ("Table",)
    assert NotFoundError("m", details={"kind": 5}).detail_kind is None


def test_repr_and_pickle() -> None:
    err = server_error_from_wire({"code": -32000, "kind": "NotFound", "message": "gone",
                                  "details": {"kind": "Table"}})
    assert repr(err) == ("NotFoundError(code=-32000, kind='NotFound', message='gone', "
                         "details={'kind': 'Table'})")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is NotFoundError
    assert (again.code, again.message, again.details) == (-32000, "gone", {"kind": "Table"})


def test_query_error_results() -> None:
    inner = ThrownError("An error occurred: x")
    conflict = QueryError("c", details={"kind": "TransactionConflict"})
    err = QueryError("1 of 3 statements failed", results=[1, inner, conflict])
    assert err.errors == [inner, conflict]
    assert err.is_transaction_conflict
    assert not err.is_timed_out
    assert QueryError("t", details={"kind": "TimedOut"}).is_timed_out
    assert QueryError("t", details={"kind": "TransactionConflict"}).is_transaction_conflict
    assert not QueryError("plain").is_transaction_conflict


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        ProtocolError("x")
    assert isinstance(LocalProtocolError("x"), ProtocolError)
    assert isinstance(RemoteProtocolError("x"), SurrealError)


def test_builtin_bases() -> None:
    assert issubclass(SurrealTimeoutError, TimeoutError)
    assert issubclass(EncodingError, ValueError)
    assert issubclass(UnencodableTypeError, TypeError)
    assert issubclass(ConnectionClosedError, ConnectionError)
    closed = ConnectionClosedError(code=1006, reason="gone")
    assert (closed.code, closed.reason, str(closed)) == (1006, "gone", "the connection is closed")
    assert HandshakeError("refused", status=401).status == 401
