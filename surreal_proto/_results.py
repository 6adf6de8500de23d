"""Shaping RPC results into what the public methods return (API.md §5).

* ``query`` replies with one result per statement (``protocol.md`` §6.5).
  :func:`parse_query_result` turns them into :class:`StatementResult` objects (what
  ``query_raw()`` returns); :func:`query_values` gives one value per statement and raises
  :class:`~surreal_proto.QueryError` carrying **every** statement's outcome when any failed.
  (The official SDK returns the first statement only and drops later errors, ``sdk-survey.md``
  §2.9 item 2.)
* :func:`shape_result` applies the few per-method rules the RPC reply does not already
  follow, the same for a direct call and for its transaction form.
* :func:`version_string` checks the ``version`` reply. (The connection itself reads it into
  its ``server_version``, a :class:`~surreal_proto._version.ServerVersion`.)

A reply of the wrong shape raises :class:`~surreal_proto.RemoteProtocolError`: the peer sent
something we cannot make sense of.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import QueryError, RemoteProtocolError, ServerError, server_error_from_wire
from ._recordid import Table

__all__ = [
    "StatementResult",
    "parse_query_result",
    "query_values",
    "shape_result",
    "transaction_result",
    "version_string",
]

# Statement errors that only report that an *earlier* failure stopped the transaction
# (protocol.md §6.5, "Inside BEGIN … COMMIT"): 3.x detail kinds, and 1.x/2.x message text.
_CONSEQUENTIAL_KINDS = frozenset({"NotExecuted", "Cancelled"})
_CONSEQUENTIAL_TEXT = ("not executed due to a failed transaction",
                       "not executed due to a cancelled transaction",
                       "transaction was aborted due to a prior error")


@dataclass(frozen=True, slots=True)
class StatementResult:
    """The outcome of one statement of a ``query`` call (``protocol.md`` §6.5).

    Attributes:
        status: ``"OK"`` or ``"ERR"``.
        result: the statement's value; for ``ERR``, the server's message text.
        time: how long the statement took, as the server writes it (``"89.057µs"``,
            ``"1.5s"``; ``""`` if the server sent none).
        type: 3.x query type: ``None`` for ordinary statements, ``"live"`` or ``"kill"``.
        error: for ``ERR``, the typed :class:`~surreal_proto.ServerError`
            (``ThrownError`` for ``THROW``, ``NotFoundError`` for a missing table...);
            ``None`` for ``OK``.
    """

    status: str
    result: Any
    time: str
    type: str | None
    error: ServerError | None

    @property
    def ok(self) -> bool:
        """True when the statement succeeded."""
        return self.error is None


def parse_query_result(raw: Any) -> list[StatementResult]:
    """Parse the result of a ``query`` call.

    Handles the 1.x/2.x item ``{status, time, result}`` and the 3.x item ``{status, time,
    type, result, kind?, details?}`` (``protocol.md`` §6.5). ``ERR`` items become typed errors
    through ``server_error_from_wire(item, message_key="result")``.

    Args:
        raw: the ``result`` of the RPC reply, decoded.

    Returns:
        One :class:`StatementResult` per statement, in order (empty for an empty query).

    Raises:
        RemoteProtocolError: ``raw`` is not a list of statement maps with status ``OK`` or
            ``ERR``, or a ``time``/``type`` field has the wrong type.
    """
    if not isinstance(raw, list | tuple):
        raise RemoteProtocolError(
            f"a query result must be a list of statement results, got {type(raw).__name__}")
    return [_statement(i, item) for i, item in enumerate(raw, 1)]


def _statement(index: int, item: Any) -> StatementResult:
    if not isinstance(item, Mapping):
        raise RemoteProtocolError(
            f"statement {index} of a query result is a {type(item).__name__}, not a map")
    status = item.get("status")
    time = item.get("time", "")
    kind = item.get("type")
    if not isinstance(time, str):
        raise RemoteProtocolError(f"statement {index}: 'time' is not a string: {time!r}")
    if kind is not None and not isinstance(kind, str):
        raise RemoteProtocolError(f"statement {index}: 'type' is not a string: {kind!r}")
    if status == "OK":
        return StatementResult("OK", item.get("result"), time, kind, None)
    if status == "ERR":
        error = server_error_from_wire(item, message_key="result")
        return StatementResult("ERR", item.get("result"), time, kind, error)
    raise RemoteProtocolError(f"statement {index}: unknown status {status!r}")


def query_values(raw: Any) -> list[Any]:
    """One value per statement of a ``query`` call (what ``query()`` returns, API.md §5).

    Args:
        raw: the ``result`` of the RPC reply, decoded.

    Returns:
        Every statement's value, in order.

    Raises:
        QueryError: at least one statement failed. Its ``results`` holds every statement's
            outcome in order (the value, or the statement's typed error), ``errors`` the
            failed ones, and ``__cause__`` the root failure. The message names that failure
            and says how many statements failed. Inside ``BEGIN … COMMIT`` the statements
            that only report "not executed due to a failed transaction" are not the root
            cause: the message names the first *other* failure when there is one.
        RemoteProtocolError: ``raw`` is malformed.
    """
    if type(raw) is list:
        # Every statement a well-formed OK map: the values, without StatementResult objects.
        values = []
        for item in raw:
            if type(item) is not dict or item.get("status") != "OK":
                break
            kind = item.get("type")
            if type(item.get("time", "")) is not str or (kind is not None
                                                        and type(kind) is not str):
                break
            values.append(item.get("result"))
        else:
            return values
    statements = parse_query_result(raw)
    failed = [(i, s.error) for i, s in enumerate(statements, 1) if s.error is not None]
    if not failed:
        return [s.result for s in statements]
    index, root = next(((i, e) for i, e in failed if not _consequential(e)), failed[0])
    total = len(statements)
    message = f"statement {index} of {total} failed: {root.message}"
    if len(failed) > 1:
        message += f" ({len(failed)} statements failed)"
    outcomes = [s.result if s.error is None else s.error for s in statements]
    # A Query-kind root (TimedOut, Cancelled, TransactionConflict) lends its details, so
    # ``is_timed_out`` works on what query() raises; other kinds stay reachable as the cause.
    details = root.details if root.kind == QueryError.KIND else None
    raise QueryError(message, details=details, cause=root, results=outcomes)


def _consequential(error: ServerError) -> bool:
    if error.detail_kind in _CONSEQUENTIAL_KINDS:
        return True
    lowered = error.message.lower()
    return any(text in lowered for text in _CONSEQUENTIAL_TEXT)


def shape_result(method: str, params: Sequence[Any], result: Any) -> Any:
    """Give a method's result the shape API.md §5 promises.

    Call it on the RPC result of ``method`` sent with ``params`` (and on the unwrapped result
    of its transaction form, which has the same shape). The rules:

    * ``create`` on a **table** returns the created record, not a one-element list. 3.x
      returns ``[record]`` for a tag-7 table and 2.x the record itself (``protocol.md`` §4.3);
      API.md §5 says "the created record", so a one-element list is unwrapped. A record id
      target already gives a record.
    * ``insert``/``insert_relation`` always return a ``list`` (a single record is wrapped,
      ``NONE`` becomes ``[]``).
    * ``live`` must return a UUID and ``version`` a string.
    * Everything else is returned unchanged: ``select``/``update``/``upsert``/``merge``/
      ``patch``/``delete`` already give a record (or ``None``) for a record id and a list for
      a table or range, and ``relate`` a single edge only when both ends are single
      (``protocol.md`` §4.3).

    Args:
        method: the RPC method name.
        params: the params list it was sent with (from the ``_methods`` builders).
        result: the decoded result.

    Returns:
        The shaped result.

    Raises:
        RemoteProtocolError: ``live`` or ``version`` returned something of the wrong type.
    """
    if method == "create":
        target = params[0] if params else None
        if isinstance(target, Table | str) and isinstance(result, list) and len(result) == 1:
            return result[0]
        return result
    if method in ("insert", "insert_relation"):
        if result is None:
            return []
        return result if isinstance(result, list) else [result]
    if method == "live":
        if not isinstance(result, uuid.UUID):
            raise RemoteProtocolError(f"live returned {type(result).__name__}, not a UUID")
        return result
    if method == "version":
        return version_string(result)
    return result


def version_string(result: Any) -> str:
    """Check the result of the ``version`` method.

    Args:
        result: the decoded result (3.x: ``"surrealdb-3.2.4"``).

    Returns:
        The string unchanged.

    Raises:
        RemoteProtocolError: it is not a string.
    """
    if not isinstance(result, str):
        raise RemoteProtocolError(
            f"version returned {type(result).__name__}, not a version string")
    return result


def transaction_result(method: str, raw: Any) -> Any:
    """Turn the reply to an ``as_transaction_query`` statement into the RPC method's result.

    Args:
        method: the rewritten method (for messages).
        raw: the decoded ``result`` of the ``query`` call.

    Returns:
        The single statement's value: what ``method`` would have returned as an RPC call
        (pass it through :func:`shape_result` as for a direct call).

    Raises:
        ServerError: the statement failed; the typed error is raised as the RPC method
            would have raised it (``AlreadyExistsError``, ``ThrownError``, ...).
        RemoteProtocolError: the reply is not exactly one statement result.
    """
    statements = parse_query_result(raw)
    if len(statements) != 1:
        raise RemoteProtocolError(f"{method} in a transaction: expected one statement "
                                  f"result, got {len(statements)}")
    statement = statements[0]
    if statement.error is not None:
        raise statement.error
    return statement.result
