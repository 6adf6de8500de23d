"""RPC params, one builder per method, and what each method needs from the connection.

Every ``*_params`` function returns the positional ``params`` list exactly as the server's
strict extractor wants it (``protocol.md`` §4.2): optional arguments are left out from the
end, and ``None`` (NONE, CBOR tag 6) fills an optional slot only when a later one is given.
The envelope never carries ``version`` (§10 item 2). Argument types are checked here, before
anything is sent, with messages that say what to pass instead.

**Targets** (API.md §5 "Targets", ``protocol.md`` §4.3): a :class:`RecordID` (a record, or a
record-id range when its key is a :class:`Range`), a :class:`Table`, a
:class:`StringRecordID`, or a ``str``. A ``str`` without ``:`` is a table (tag 7); a ``str``
with ``:`` is a record id the server parses (tag 8 with text). **No user value is ever
pasted into SurrealQL text**: ``select("a; DELETE b")`` selects from the table named
``a; DELETE b``.

**Transactions** (``protocol.md`` §9.2): the server ignores ``txn`` on ``update``, ``patch``,
``relate`` and ``run``, so inside a transaction the data methods go out as ``query``:
:func:`as_transaction_query` builds one statement whose every user value is a bound
variable, and :func:`transaction_result` turns its reply back into what the RPC method would
have returned.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

from ._errors import (
    EncodingError,
    LocalProtocolError,
    UnencodableTypeError,
    UnsupportedFeatureError,
)
from ._range import Range
from ._recordid import RecordID, StringRecordID, Table
from ._results import transaction_result
from ._values import NULL, NullType
from ._version import (
    LIVE_METHODS,
    MIN_VERSION,
    SESSION_METHODS,
    TRANSACTION_CONTROL_METHODS,
    WS_ONLY_METHODS,
    check_supported,
)

__all__ = [
    "HTTP_LOCAL_METHODS", "LIVE_METHODS", "METHODS", "MIN_VERSION", "PROTECTED_PARAM_NAMES",
    "READ_ONLY_METHODS", "SESSION_METHODS", "TRANSACTION_CONTROL_METHODS",
    "TRANSACTION_REWRITE_METHODS", "TXN_AWARE_METHODS", "WS_ONLY_METHODS", "Target",
    "as_transaction_query", "cancel_params", "check_param_name", "check_supported",
    "commit_params", "create_params", "delete_params", "insert_params", "insert_relation_params",
    "kill_params", "let_params", "live_params", "merge_params", "patch_params", "query_params",
    "refresh_params", "relate_params", "revoke_params", "run_params", "select_params", "to_target",
    "transaction_result", "unset_params", "update_params", "upsert_params", "use_params",
]

#: What a data method accepts as its target.
Target: TypeAlias = RecordID | Table | StringRecordID | str

# --------------------------------------------------------------------------- metadata
# LIVE_METHODS, TRANSACTION_CONTROL_METHODS, SESSION_METHODS, WS_ONLY_METHODS, MIN_VERSION
# and check_supported() live in ``_version`` with the other version/transport facts.

#: Every RPC method name (``protocol.md`` §4.1; ``set`` is an alias of ``let``).
METHODS: Final = frozenset({
    "ping", "info", "use", "signup", "signin", "authenticate", "invalidate", "reset", "let",
    "set", "unset", "live", "kill", "query", "select", "create", "insert", "insert_relation",
    "update", "upsert", "merge", "patch", "delete", "relate", "run", "version", "refresh",
    "revoke", "attach", "detach", "sessions", "begin", "commit", "cancel",
})
#: Methods a stateless HTTP client answers from its own state instead of sending them
#: (``protocol.md`` §3.1, "How a stateless HTTP client carries context").
HTTP_LOCAL_METHODS: Final = frozenset({"use", "let", "set", "unset", "invalidate", "reset"})
#: Methods whose ``txn`` envelope field the server honours ([S3] 3.1, §9.2).
TXN_AWARE_METHODS: Final = frozenset({
    "query", "select", "insert", "insert_relation", "create", "upsert", "merge", "delete",
    "live", "kill"})
#: Data methods that :func:`as_transaction_query` rewrites.
TRANSACTION_REWRITE_METHODS: Final = frozenset({
    "select", "create", "insert", "insert_relation", "update", "upsert", "merge", "patch",
    "delete", "relate", "run"})
#: Methods that cannot change data or session state: safe to re-send after a reconnect.
READ_ONLY_METHODS: Final = frozenset({"ping", "version", "info", "select", "sessions"})
#: Variables the server refuses to set (§4.4 ``let``; 1.x protected ``scope`` instead of
#: ``access``).
PROTECTED_PARAM_NAMES: Final = frozenset({"access", "auth", "token", "session"})

# --------------------------------------------------------------------------- validation

_PARAM_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_param_name(name: Any) -> str:
    """Check a variable name for ``let``/``unset`` or a key of ``query`` vars.

    Args:
        name: the name, without ``$``.

    Returns:
        ``name``.

    Raises:
        UnencodableTypeError: ``name`` is not a ``str``.
        EncodingError: it is empty, not a plain SurrealQL parameter name (ASCII letters,
            digits and ``_``, not starting with a digit, so that ``$name`` can be written in a
            query), or one of the server's protected names ``access``, ``auth``, ``token``,
            ``session`` (``protocol.md`` §4.4 ``let``).
    """
    if not isinstance(name, str):
        raise UnencodableTypeError(f"a variable name must be a str, not {type(name).__name__}")
    if name in PROTECTED_PARAM_NAMES:
        raise EncodingError(f"${name} is a protected variable: the server sets it and refuses "
                            "to let clients set it (protocol.md §4.4); choose another name")
    if not _PARAM_NAME.fullmatch(name):
        raise EncodingError(f"{name!r} is not a valid variable name: use ASCII letters, digits "
                            "and _, not starting with a digit (without the $)")
    return name


def to_target(target: Any, *, method: str = "this method") -> RecordID | Table | StringRecordID:
    """Turn a user target into the value sent on the wire (API.md §5 "Targets").

    Args:
        target: a :class:`RecordID`, :class:`Table`, :class:`StringRecordID` or ``str``.
        method: the method name, for error messages.

    Returns:
        The target unchanged, ``Table(target)`` for a ``str`` without ``:``, or
        ``StringRecordID(target)`` for a ``str`` with ``:`` (parsed by the server, never
        pasted into SurrealQL).

    Raises:
        UnencodableTypeError: another type (a bare :class:`Range` must be wrapped in a
            record id: ``RecordID("person", Range(...))``).
        EncodingError: an empty string.
    """
    if isinstance(target, RecordID | Table | StringRecordID):
        return target
    if isinstance(target, str):
        if not target:
            raise EncodingError(f"{method}: the target is an empty string")
        return StringRecordID(target) if ":" in target else Table(target)
    if isinstance(target, Range):
        raise UnencodableTypeError(
            f"{method}: a range target needs a table: RecordID('table', Range(...))")
    raise UnencodableTypeError(
        f"{method}: the target must be a RecordID, Table, StringRecordID or str, "
        f"not {type(target).__name__}")


def _table(table: Any, method: str, *, allow_none: bool = False) -> Table | None:
    if allow_none and (table is None or table is NULL):
        return None
    if isinstance(table, Table):
        return table
    if isinstance(table, str) and table:
        if ":" in table:
            raise EncodingError(
                f"{method}: {table!r} looks like a record id, but this argument is a table; put "
                "the id in the data ({'id': ...}), or pass Table(name) if the table name "
                "really contains ':'")
        return Table(table)
    none = " or None (ids in the data)" if allow_none else ""
    got = repr(table) if isinstance(table, str) else type(table).__name__
    raise UnencodableTypeError(f"{method}: the table must be a non-empty str or Table{none}, "
                               f"not {got}")


def _record(data: Any, method: str) -> dict[str, Any] | None:
    # NONE or NULL in an optional data slot means "no data" (§4.2), so both are left out.
    if data is None or data is NULL:
        return None
    if not isinstance(data, Mapping):
        raise UnencodableTypeError(
            f"{method}: the data must be a dict of fields, not {type(data).__name__}")
    return dict(data)


def _uuid(value: Any, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise EncodingError(f"{what} must be a UUID, got {value!r}") from None
    raise UnencodableTypeError(f"{what} must be a uuid.UUID or UUID string, "
                               f"not {type(value).__name__}")


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise UnencodableTypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


# --------------------------------------------------------------------------- builders


def use_params(ns: str | NullType | None, db: str | NullType | None) -> list[Any]:
    """``use``: exactly ``[ns, db]`` (§4.2 row ``use``).

    Each of ``ns``/``db`` is a ``str`` (select it), ``None`` (NONE: leave it unchanged) or
    :data:`NULL` (unset it). ``use(None, None)`` on 3.x applies the server's ``DEFINE CONFIG
    … DEFAULT`` namespace/database when none is selected yet; unsetting the namespace also
    clears the database; ``(NULL, "db")`` is refused by the server (§4.4 ``use``).
    """
    for name, value in (("namespace", ns), ("database", db)):
        if not (value is None or value is NULL or isinstance(value, str)):
            raise UnencodableTypeError(
                f"use: the {name} must be a str, None (unchanged) or NULL (unset), "
                f"not {type(value).__name__}")
    return [ns, db]


def let_params(name: str, value: Any) -> list[Any]:
    """``let``: ``[name, value]``. A ``None`` value is NONE, which *removes* the variable
    (§4.2 row ``let``); use :data:`NULL` to store SQL null."""
    return [check_param_name(name), value]


def unset_params(name: str) -> list[Any]:
    """``unset``: ``[name]``."""
    return [check_param_name(name)]


def query_params(sql: str, vars: Mapping[str, Any] | None = None) -> list[Any]:
    """``query``: ``[sql]`` or ``[sql, vars]``; every key of ``vars`` is checked with
    :func:`check_param_name` (the server rejects protected names, and a name that ``$name``
    cannot spell is a bug)."""
    if not isinstance(sql, str):
        raise UnencodableTypeError(f"query: the SurrealQL must be a str, not "
                                   f"{type(sql).__name__}")
    if vars is None:
        return [sql]
    if not isinstance(vars, Mapping):
        raise UnencodableTypeError(f"query: vars must be a dict, not {type(vars).__name__}")
    return [sql, {check_param_name(k): v for k, v in vars.items()}]


def select_params(target: Target) -> list[Any]:
    """``select``: ``[what]``."""
    return [to_target(target, method="select")]


def delete_params(target: Target) -> list[Any]:
    """``delete``: ``[what]``."""
    return [to_target(target, method="delete")]


def _target_data(method: str, target: Target, data: Any) -> list[Any]:
    params: list[Any] = [to_target(target, method=method)]
    record = _record(data, method)
    if record is not None:
        params.append(record)
    return params


def create_params(target: Target, data: Mapping[str, Any] | NullType | None = None) -> list[Any]:
    """``create``: ``[what]`` or ``[what, data]``."""
    return _target_data("create", target, data)


def update_params(target: Target, data: Mapping[str, Any] | NullType | None = None) -> list[Any]:
    """``update``: ``[what]`` or ``[what, data]`` (data replaces the content)."""
    return _target_data("update", target, data)


def upsert_params(target: Target, data: Mapping[str, Any] | NullType | None = None) -> list[Any]:
    """``upsert``: ``[what]`` or ``[what, data]``."""
    return _target_data("upsert", target, data)


def merge_params(target: Target, data: Mapping[str, Any] | NullType | None = None) -> list[Any]:
    """``merge``: ``[what]`` or ``[what, data]``."""
    return _target_data("merge", target, data)


def _insert(method: str, table: Any, data: Any) -> list[Any]:
    tb = _table(table, method, allow_none=True)
    if isinstance(data, Mapping):
        rows: Any = dict(data)
        items: list[Any] = [rows]
    elif isinstance(data, list | tuple) and all(isinstance(d, Mapping) for d in data):
        rows = items = [dict(d) for d in data]
    else:
        raise UnencodableTypeError(f"{method}: the data must be a dict or a list of dicts, "
                                   f"not {type(data).__name__}")
    if tb is None and not all("id" in d for d in items):
        raise EncodingError(f"{method}: without a table every record needs an 'id'")
    return [tb, rows]


def insert_params(table: str | Table | NullType | None, data: Any) -> list[Any]:
    """``insert``: exactly ``[table, data]``. ``table`` may be ``None`` (NONE) when every
    record in ``data`` carries its ``id`` (§4.2 row ``insert``)."""
    return _insert("insert", table, data)


def insert_relation_params(table: str | Table | NullType | None, data: Any) -> list[Any]:
    """``insert_relation``: exactly ``[table, data]``; ``table`` may be ``None`` when every
    edge carries its ``id`` (§4.2)."""
    return _insert("insert_relation", table, data)


def patch_params(target: Target, patches: Sequence[Mapping[str, Any]] | None,
                 diff: bool = False) -> list[Any]:
    """``patch``: ``[what, patches?, diff?]`` (§4.2). ``patches`` is a list of JSON-Patch
    operations ``{"op", "path", "value"?}``; with ``diff=True`` the server returns the
    applied operations instead of the record."""
    params: list[Any] = [to_target(target, method="patch")]
    ops: list[dict[str, Any]] | None = None
    if patches is not None:
        if not isinstance(patches, list | tuple):
            raise UnencodableTypeError(
                f"patch: patches must be a list of operations, not {type(patches).__name__}")
        ops = []
        for op in patches:
            if not (isinstance(op, Mapping) and isinstance(op.get("op"), str)
                    and isinstance(op.get("path"), str)):
                raise EncodingError(f"patch: each operation needs str 'op' and 'path' keys, "
                                    f"got {op!r}")
            ops.append(dict(op))
    if _bool(diff, "patch: diff"):
        params += [ops, True]
    elif ops is not None:
        params.append(ops)
    return params


def _relate_end(value: Any, name: str) -> Any:
    if isinstance(value, list | tuple):
        return [to_target(v, method=f"relate {name}") for v in value]
    return to_target(value, method=f"relate {name}")


def relate_params(in_: Any, relation: Target, out: Any,
                  data: Mapping[str, Any] | NullType | None = None) -> list[Any]:
    """``relate``: ``[from, table, to]`` or ``[from, table, to, data]``. The ends are targets
    (or lists of them); ``relation`` is the edge table (or an edge record id)."""
    params = [_relate_end(in_, "in"), to_target(relation, method="relate"),
              _relate_end(out, "out")]
    record = _record(data, "relate")
    if record is not None:
        params.append(record)
    return params


def run_params(name: str, args: Sequence[Any] | None = None,
               version: str | None = None) -> list[Any]:
    """``run``: ``[name, version?, args?]`` (§4.2 row ``run``): ``[name]``,
    ``[name, version]``, ``[name, NONE, args]`` or ``[name, version, args]``. ``ml::``
    functions need a version."""
    if not isinstance(name, str) or not name:
        raise UnencodableTypeError(f"run: the function name must be a non-empty str, not "
                                   f"{name!r}")
    if version is not None and not isinstance(version, str):
        raise UnencodableTypeError(f"run: version must be a str, not {type(version).__name__}")
    if version is None and name.startswith("ml::"):
        raise EncodingError(f"run: {name} is a model and needs a version, e.g. '1.0.0'")
    if args is not None and not isinstance(args, list | tuple):
        raise UnencodableTypeError(f"run: args must be a list, not {type(args).__name__}")
    if args is not None:
        return [name, version, list(args)]
    return [name] if version is None else [name, version]


def live_params(table: Target, diff: bool = False) -> list[Any]:
    """``live``: ``[what]`` or ``[what, true]`` (diff mode, §8.2)."""
    target = to_target(table, method="live")
    return [target, True] if _bool(diff, "live: diff") else [target]


def kill_params(live_id: uuid.UUID | str) -> list[Any]:
    """``kill``: ``[uuid]`` (a UUID string is converted, so it goes out as tag 37)."""
    return [_uuid(live_id, "kill: the live query id")]


def commit_params(txn: uuid.UUID | str) -> list[Any]:
    """``commit``: ``[txn_uuid]`` (§9.2: it must be a UUID value)."""
    return [_uuid(txn, "commit: the transaction id")]


def cancel_params(txn: uuid.UUID | str) -> list[Any]:
    """``cancel``: ``[txn_uuid]``."""
    return [_uuid(txn, "cancel: the transaction id")]


def _token_pair(tokens: Any, method: str) -> list[Any]:
    if isinstance(tokens, Mapping):
        access, refresh = tokens.get("access"), tokens.get("refresh")
    else:
        access, refresh = getattr(tokens, "access", None), getattr(tokens, "refresh", None)
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
        # Never echo the values: they are secrets (API.md §7).
        raise EncodingError(f"{method} needs both an access and a refresh token (as returned "
                            "by signin() on an access method defined WITH REFRESH)")
    return [{"access": access, "refresh": refresh}]


def refresh_params(tokens: Any) -> list[Any]:
    """``refresh``: ``[{access, refresh}]`` from a ``Tokens`` object or a mapping (§7.7)."""
    return _token_pair(tokens, "refresh")


def revoke_params(tokens: Any) -> list[Any]:
    """``revoke``: ``[{access, refresh}]`` (§7.7)."""
    return _token_pair(tokens, "revoke")


# --------------------------------------------------------------------------- transactions

# Function names cannot be bound as variables, so they are checked instead: plain
# identifiers joined by ``::`` (``fn::x``, ``ml::m``, ``string::len``, ``count``).
_FUNCTION_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_MODEL_VERSION: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_ARITY: Final[dict[str, tuple[int, int]]] = {
    "select": (1, 1), "delete": (1, 1), "create": (1, 2), "update": (1, 2), "upsert": (1, 2),
    "merge": (1, 2), "insert": (2, 2), "insert_relation": (2, 2), "patch": (1, 3),
    "relate": (3, 4), "run": (1, 3),
}


def _single(value: Any, *, objects: bool = False) -> bool:
    # The server's rule for "returns one record" (§4.3; [S3] protocol.rs ``only``/
    # ``singular``): a record id whose key is not a range; for relate/delete also an object.
    # Tag-8 text is never parsed into a range (verified on 3.2.4: "person:1..5" → person:1).
    if isinstance(value, StringRecordID):
        return True
    if isinstance(value, RecordID):
        return not isinstance(value.id, Range)
    return objects and isinstance(value, Mapping)


def _nullish(value: Any) -> bool:
    return value is None or value is NULL


def _bound_target(value: Any) -> Any:
    # As the server does (``value_to_table``): a plain string target is a table name.
    return Table(value) if isinstance(value, str) else value


def as_transaction_query(method: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """Rewrite a data method as one SurrealQL statement for ``query`` inside a transaction.

    The statement has the same meaning and result shape as the RPC method ([S3]
    ``core/rpc/protocol.rs``): ``ONLY`` exactly where the RPC method returns one record
    (§4.3), ``RETURN BEFORE`` for ``delete``, ``RETURN DIFF`` for ``patch`` with ``diff``.
    Every target, data, patch and argument is a bound variable (``$__target``, ``$__data``,
    ``$__in``, ``$__edge``, ``$__out``, ``$__arg0``…); a target value binds as itself
    (``SELECT * FROM $__target`` with a Table or RecordID value), verified on engines 3.0.2
    (inside a real transaction) and 3.2.4. Function names cannot be bound: they must be plain
    ``a::b`` identifiers (``fn::…``, ``ml::…`` with an ``x.y.z`` version, or a built-in).

    Forms, e.g.: ``SELECT * FROM ONLY $__target``, ``CREATE $__target CONTENT $__data RETURN
    AFTER``, ``INSERT INTO $__target $__data RETURN AFTER``, ``UPDATE ONLY $__target PATCH
    $__data RETURN DIFF``, ``DELETE ONLY $__target RETURN BEFORE``, ``RELATE ONLY
    $__in->$__edge->$__out CONTENT $__data RETURN AFTER``, ``RETURN fn::add($__arg0,
    $__arg1)``.

    Args:
        method: one of :data:`TRANSACTION_REWRITE_METHODS`.
        params: the params list from the method's ``*_params`` builder.

    Returns:
        ``(sql, vars)`` to send as ``query [sql, vars]`` with the ``txn`` field.

    Raises:
        LocalProtocolError: the method has no transaction form, or ``params`` has the wrong
            length.
        EncodingError: a function name or model version that cannot be written safely.
        UnsupportedFeatureError: ``mod::``/``silo::`` functions (experimental) in a
            transaction.
    """
    if method not in _ARITY:
        raise LocalProtocolError(f"{method!r} has no transaction form; only "
                                 + ", ".join(sorted(_ARITY)) + " do")
    low, high = _ARITY[method]
    p = list(params)
    if not low <= len(p) <= high:
        raise LocalProtocolError(f"{method}: expected {low} to {high} params, got {len(p)}")
    p += [None] * (high - len(p))
    bound: dict[str, Any] = {}

    def bind(name: str, value: Any) -> str:
        bound[f"__{name}"] = value
        return f"$__{name}"

    if method == "run":
        return _run_query(p, bind), bound
    if method in ("insert", "insert_relation"):
        verb = "INSERT RELATION" if method == "insert_relation" else "INSERT"
        into = "" if _nullish(p[0]) else f" INTO {bind('target', _bound_target(p[0]))}"
        return f"{verb}{into} {bind('data', p[1])} RETURN AFTER", bound
    if method == "relate":
        only = "ONLY " if _single(p[0], objects=True) and _single(p[2], objects=True) else ""
        edge = (f"{bind('in', p[0])}->{bind('edge', _bound_target(p[1]))}"
                f"->{bind('out', p[2])}")
        content = "" if _nullish(p[3]) else f" CONTENT {bind('data', p[3])}"
        return f"RELATE {only}{edge}{content} RETURN AFTER", bound
    # create: the server also sets ONLY for a plain string target (a table name).
    single = _single(p[0], objects=method == "delete")
    only = "ONLY " if single or (method == "create" and isinstance(p[0], str)) else ""
    target = bind("target", _bound_target(p[0]))
    if method == "select":
        return f"SELECT * FROM {only}{target}", bound
    if method == "delete":
        return f"DELETE {only}{target} RETURN BEFORE", bound
    clause = {"merge": "MERGE", "patch": "PATCH"}.get(method, "CONTENT")
    data = "" if _nullish(p[1]) else f" {clause} {bind('data', p[1])}"
    output = "DIFF" if method == "patch" and p[2] is True else "AFTER"
    verb = {"create": "CREATE", "upsert": "UPSERT"}.get(method, "UPDATE")
    return f"{verb} {only}{target}{data} RETURN {output}", bound


def _run_query(p: list[Any], bind: Callable[[str, Any], str]) -> str:
    name, version, args = p
    if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name) or name in ("fn", "ml"):
        raise EncodingError(
            f"run: {name!r} cannot be written into a transaction query: a function name is "
            "not a bindable value, so it must be a plain name such as fn::my_function, "
            "ml::model or string::len")
    head = name.split("::", 1)[0]
    if head in ("mod", "silo"):
        raise UnsupportedFeatureError(
            f"run: experimental {head}:: functions cannot run inside a transaction")
    callee = name
    if head == "ml":
        if not (isinstance(version, str) and _MODEL_VERSION.fullmatch(version)):
            raise EncodingError(f"run: {name} needs a model version like '1.0.0', "
                                f"got {version!r}")
        callee = f"{name}<{version}>"
    arguments = ", ".join(bind(f"arg{i}", a) for i, a in enumerate(args or ()))
    return f"RETURN {callee}({arguments})"
