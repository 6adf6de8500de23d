"""One factory per public method (API.md §5): what to send, and how to shape the reply.

A :class:`Call` is a frozen description of one user-level call: the RPC method, its params
(built and checked by the :mod:`surreal_proto._methods` builders, so a bad argument raises
``EncodingError`` / ``LocalProtocolError`` here, before anything is queued), a ``shape``
function that turns the raw RPC result into what the public method returns, and flags the
client engine needs (retry classification, local completion). The three adapters build calls
with these factories and hand them to :meth:`ClientEngine.start
<surreal_proto._client.ClientEngine.start>`; nothing in an adapter knows a method's params.

Shaping reuses :mod:`surreal_proto._results` (``query_values``, ``parse_query_result``,
``shape_result``, ``transaction_result``) and :func:`~surreal_proto._auth.parse_token_result`.

Transactions (API.md §5, ``protocol.md`` §9.2): the server ignores ``txn`` on some methods,
so :func:`in_transaction` rewrites every data method into one ``query`` statement whose user
values are all bound variables (:func:`~surreal_proto._methods.as_transaction_query`) and
shapes the reply with :func:`~surreal_proto._results.transaction_result`.

A few "methods" are not plain RPC calls; the engine resolves them per transport:

* ``health`` (:data:`HEALTH`): ``GET /health`` over HTTP, ``ping`` over WebSocket and the
  embedded engine; ``True``/``False``, never a connection error (:attr:`Call.fallback`).
* ``import_``/``export`` (:data:`IMPORT`, :data:`EXPORT`): HTTP ``/import`` and ``/export``,
  also for a ``ws(s)`` URL, on a short-lived HTTP link to the same host.
* :func:`connect` (:data:`CONNECT`): no request at all; it completes once the connection is
  set up (:attr:`Call.local`).
* ``refresh()`` without tokens (:attr:`Call.remembered_tokens`): the engine fills in the pair
  the session remembers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final
from uuid import UUID

from . import _methods as m
from ._auth import Tokens, parse_token_result, wire_credentials
from ._errors import (
    LocalProtocolError,
    OutcomeUnknownError,
    RemoteProtocolError,
    ServerError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
)
from ._recordid import Table
from ._replay import is_retry_safe
from ._results import (
    StatementResult,
    parse_query_result,
    query_values,
    shape_result,
    transaction_result,
    version_string,
)
from ._values import NullType

__all__ = [
    "CONNECT", "EXPORT", "HEALTH", "IMPORT", "TRANSACTION_METHODS", "Call", "attach",
    "authenticate", "begin", "cancel", "commit", "connect", "create", "delete", "detach",
    "export", "health", "import_", "in_transaction", "info", "insert", "insert_relation",
    "invalidate", "kill", "let", "live", "merge", "patch", "ping", "query", "query_raw",
    "refresh", "relate", "revoke", "run", "select", "signin", "signup", "unset", "update",
    "upsert", "use", "version",
]

#: The pseudo-method of :func:`connect`: nothing is sent.
CONNECT: Final = "connect"
#: The pseudo-method of :func:`health`, resolved per transport by the engine.
HEALTH: Final = "health"
#: HTTP ``POST /import`` (the event ``method`` of ``HttpConnection``).
IMPORT: Final = "/import"
#: HTTP ``GET/POST /export``.
EXPORT: Final = "/export"
#: Methods that may run inside a transaction: the rewritten data methods, plus ``query``,
#: ``live`` and ``kill``, whose ``txn`` envelope field the server honours (§9.2).
TRANSACTION_METHODS: Final = m.TRANSACTION_REWRITE_METHODS | {"query", "live", "kill"}


def _same(raw: Any) -> Any:
    return raw


def _nothing(raw: Any) -> None:
    return None


def _healthy(raw: Any) -> bool:
    return raw is not False


def _unhealthy(error: SurrealError) -> bool:
    # health() answers the question instead of raising: a server error, an unreachable server,
    # a timeout or a dropped link all mean "not healthy". Misuse still raises.
    if isinstance(error, ServerError | SurrealConnectionError | SurrealTimeoutError
                  | OutcomeUnknownError):
        return False
    raise error


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One user-level call: what goes on the wire and how its reply is shaped.

    Build it with the factories of this module; hand it to ``ClientEngine.start``.
    ``repr`` never shows the params (a ``signin`` holds a password).
    """

    method: str
    """The RPC method (``protocol.md`` §4), or one of the pseudo-methods :data:`CONNECT`,
    :data:`HEALTH`, :data:`IMPORT`, :data:`EXPORT`."""
    params: tuple[Any, ...] = field(default=(), repr=False)
    """The positional params, as the ``_methods`` builders made them. May hold secrets."""
    shape: Callable[[Any], Any] = field(default=_same, repr=False, compare=False)
    """Raw RPC result → the value the public method returns. May raise a
    :class:`~surreal_proto.SurrealError` (``QueryError`` for failed statements,
    ``RemoteProtocolError`` for a malformed reply): the call then fails with it."""
    writes: bool = False
    """The call may change data (or single-use server state): if the link drops after it was
    sent and before its reply, it is never re-sent; it fails with
    :class:`~surreal_proto.OutcomeUnknownError` (``_replay.is_retry_safe``)."""
    local: bool = False
    """Completed by the engine itself, with ``shape(None)``, once the connection is set up;
    nothing is sent (:func:`connect`)."""
    txn: UUID | None = None
    """The 3.x ``txn`` envelope field (set by :func:`in_transaction`)."""
    fallback: Callable[[SurrealError], Any] | None = field(default=None, repr=False,
                                                            compare=False)
    """Called with the error a failed call would raise: returns the value to succeed with
    instead, or raises (``health`` answers ``False`` rather than raising)."""
    remembered_tokens: bool = False
    """``refresh()`` without tokens: the engine takes the session's remembered pair."""


def _rpc(method: str, params: Sequence[Any] = (), shape: Callable[[Any], Any] = _same,
         ) -> Call:
    p = tuple(params)
    return Call(method=method, params=p, shape=shape, writes=not is_retry_safe(method, p))


def _shaped(method: str, params: Sequence[Any]) -> Call:
    p = tuple(params)
    return _rpc(method, p, partial(shape_result, method, p))


# --------------------------------------------------------------------------- connection


def connect() -> Call:
    """Connect now (API.md §4 ``connect()``): completes with ``None`` once the connection is
    open, authenticated and prepared; at once if it already is."""
    return Call(method=CONNECT, shape=_nothing, local=True)


def use(namespace: str | NullType | None, database: str | NullType | None) -> Call:
    """``use(namespace, database)`` → ``None``."""
    return _rpc("use", m.use_params(namespace, database), _nothing)


def info() -> Call:
    """``info()`` → the ``$auth`` record (or ``None``)."""
    return _rpc("info")


def version() -> Call:
    """``version()`` → the server version string (``"surrealdb-3.2.4"``)."""
    return _rpc("version", (), version_string)


def ping() -> Call:
    """``ping()`` → ``None``."""
    return _rpc("ping", (), _nothing)


def health() -> Call:
    """``health()`` → ``bool``: ``GET /health`` over HTTP, ``ping`` otherwise. Errors that
    mean "unhealthy" (server, connection, timeout) give ``False`` instead of raising."""
    return Call(method=HEALTH, shape=_healthy, fallback=_unhealthy)


# --------------------------------------------------------------------------- auth


def signin(credentials: Mapping[str, Any]) -> Call:
    """``signin(vars)`` → :class:`~surreal_proto._auth.Tokens`. Official keys (``username``,
    ``namespace``...) or wire keys; the engine's session tracker remembers what it needs for
    renewal."""
    return _rpc("signin", [wire_credentials(credentials)], parse_token_result)


def signup(credentials: Mapping[str, Any]) -> Call:
    """``signup(vars)`` → :class:`~surreal_proto._auth.Tokens`."""
    return _rpc("signup", [wire_credentials(credentials)], parse_token_result)


def authenticate(token: str) -> Call:
    """``authenticate(token)`` → ``None``: an access JWT, never a refresh token (§4.2)."""
    if not isinstance(token, str) or not token:
        raise LocalProtocolError(
            f"authenticate() takes an access token (a non-empty str), not {type(token).__name__}")
    return _rpc("authenticate", (token,), _nothing)


def invalidate() -> Call:
    """``invalidate()`` → ``None``."""
    return _rpc("invalidate", (), _nothing)


def refresh(tokens: Tokens | Mapping[str, Any] | None = None) -> Call:
    """``refresh(tokens=None)`` → the new :class:`~surreal_proto._auth.Tokens` (3.x). Without
    ``tokens``, the session's remembered pair is used (the engine fills it in)."""
    if tokens is None:
        return Call(method="refresh", shape=parse_token_result, writes=True,
                    remembered_tokens=True)
    return _rpc("refresh", m.refresh_params(tokens), parse_token_result)


def revoke(tokens: Tokens | Mapping[str, Any]) -> Call:
    """``revoke(tokens)`` → ``None`` (3.x)."""
    return _rpc("revoke", m.revoke_params(tokens), _nothing)


# --------------------------------------------------------------------------- variables


def let(key: str, value: Any) -> Call:
    """``let(key, value)`` → ``None`` (answered client-side over HTTP)."""
    return _rpc("let", m.let_params(key, value), _nothing)


def unset(key: str) -> Call:
    """``unset(key)`` → ``None``."""
    return _rpc("unset", m.unset_params(key), _nothing)


# --------------------------------------------------------------------------- queries


def query(sql: str, vars: Mapping[str, Any] | None = None) -> Call:
    """``query(sql, vars=None)`` → one value per statement; a failed statement raises
    :class:`~surreal_proto.QueryError` carrying every statement's outcome."""
    return _rpc("query", m.query_params(sql, vars), query_values)


def _raw_statements(raw: Any) -> list[StatementResult]:
    return parse_query_result(raw)


def query_raw(sql: str, vars: Mapping[str, Any] | None = None) -> Call:
    """``query_raw(sql, vars=None)`` → a list of
    :class:`~surreal_proto._results.StatementResult` (``status``, ``result``, ``time``,
    ``type``, ``error``); never raises for statement errors."""
    return _rpc("query", m.query_params(sql, vars), _raw_statements)


def run(name: str, args: Sequence[Any] | None = None, version: str | None = None) -> Call:
    """``run(name, args=None, version=None)`` → the function's value."""
    return _rpc("run", m.run_params(name, args, version))


# --------------------------------------------------------------------------- data


def select(target: m.Target) -> Call:
    """``select(target)`` → a record or ``None`` for a record id; a list otherwise."""
    return _shaped("select", m.select_params(target))


def create(target: m.Target, data: Mapping[str, Any] | None = None) -> Call:
    """``create(target, data=None)`` → the created record."""
    return _shaped("create", m.create_params(target, data))


def insert(table: str | Table | None, data: Any) -> Call:
    """``insert(table, data)`` → a list."""
    return _shaped("insert", m.insert_params(table, data))


def insert_relation(table: str | Table | None, data: Any) -> Call:
    """``insert_relation(table, data)`` → a list."""
    return _shaped("insert_relation", m.insert_relation_params(table, data))


def update(target: m.Target, data: Mapping[str, Any] | None = None) -> Call:
    """``update(target, data=None)`` → record(s) as ``select``."""
    return _shaped("update", m.update_params(target, data))


def upsert(target: m.Target, data: Mapping[str, Any] | None = None) -> Call:
    """``upsert(target, data=None)`` → record(s) as ``select``."""
    return _shaped("upsert", m.upsert_params(target, data))


def merge(target: m.Target, data: Mapping[str, Any] | None = None) -> Call:
    """``merge(target, data=None)`` → record(s) as ``select``."""
    return _shaped("merge", m.merge_params(target, data))


def patch(target: m.Target, patches: Sequence[Mapping[str, Any]] | None,
          diff: bool = False) -> Call:
    """``patch(target, patches, diff=False)`` → record(s), or the applied operations."""
    return _shaped("patch", m.patch_params(target, patches, diff))


def delete(target: m.Target) -> Call:
    """``delete(target)`` → the deleted record(s)."""
    return _shaped("delete", m.delete_params(target))


def relate(in_: Any, relation: m.Target, out: Any,
           data: Mapping[str, Any] | None = None) -> Call:
    """``relate(in_, relation, out, data=None)`` → the edge(s)."""
    return _shaped("relate", m.relate_params(in_, relation, out, data))


# --------------------------------------------------------------------------- live queries


def live(table: m.Target, diff: bool = False) -> Call:
    """``live(table, diff=False)`` → the live query ``UUID`` (WebSocket only)."""
    return _shaped("live", m.live_params(table, diff))


def kill(live_id: UUID | str) -> Call:
    """``kill(live_id)`` → ``None``; ends the subscription of that live query. The id may be
    the one ``live()`` returned before a reconnect: the engine sends the current one."""
    return _rpc("kill", m.kill_params(live_id), _nothing)


# --------------------------------------------------------------------------- HTTP endpoints


def import_(source: str | bytes) -> Call:
    """``import_(source)`` → ``None``: HTTP ``POST /import`` of a SurrealQL script."""
    if not isinstance(source, str | bytes):
        raise LocalProtocolError(
            f"import_() takes SurrealQL text (str or bytes), not {type(source).__name__}")
    return Call(method=IMPORT, params=(source,), shape=_nothing, writes=True)


def export(options: Mapping[str, Any] | None = None) -> Call:
    """``export()`` → the SurrealQL text (HTTP ``/export``; ``options`` as §3.3)."""
    if options is not None and not isinstance(options, Mapping):
        raise LocalProtocolError(
            f"export() options must be a mapping, not {type(options).__name__}")
    return Call(method=EXPORT, params=(None if options is None else dict(options),))


# --------------------------------------------------------------------------- sessions, txns


def attach() -> Call:
    """``attach`` (3.x): start with ``session=<new UUID>`` (``ClientEngine.new_session``)."""
    return _rpc("attach", (), _nothing)


def detach() -> Call:
    """``detach`` (``close_session()``): start with the session to remove."""
    return _rpc("detach", (), _nothing)


def _txn_id(raw: Any) -> UUID:
    if isinstance(raw, UUID):
        return raw
    raise RemoteProtocolError(f"begin returned {type(raw).__name__}, not a transaction UUID")


def begin() -> Call:
    """``begin`` (``begin_transaction()``, 3.x WebSocket) → the transaction ``UUID``."""
    return _rpc("begin", (), _txn_id)


def commit(txn: UUID | str) -> Call:
    """``commit(txn)`` → ``None``."""
    return _rpc("commit", m.commit_params(txn), _nothing)


def cancel(txn: UUID | str) -> Call:
    """``cancel(txn)`` → ``None``."""
    return _rpc("cancel", m.cancel_params(txn), _nothing)


def _in_txn_shape(method: str, shape: Callable[[Any], Any], raw: Any) -> Any:
    return shape(transaction_result(method, raw))


def in_transaction(call: Call, txn: UUID) -> Call:
    """The form of ``call`` that runs inside transaction ``txn`` (API.md §5, §9.2).

    Data methods become one ``query`` statement with bound variables
    (:func:`~surreal_proto._methods.as_transaction_query`), shaped by
    :func:`~surreal_proto._results.transaction_result` and then the method's own shaping, so
    the caller gets what the method returns outside a transaction (and its typed error).
    ``query``, ``query_raw``, ``live`` and ``kill`` keep their method and carry ``txn`` in
    the envelope.

    Raises:
        LocalProtocolError: the method cannot run inside a transaction (auth, ``use``,
            ``let``...; run them on the session instead).
        EncodingError: a function name that cannot be written into a query (``run``).
    """
    if call.method in m.TRANSACTION_REWRITE_METHODS:
        sql, bound = m.as_transaction_query(call.method, call.params)
        return replace(call, method="query", params=(sql, bound), txn=txn, writes=True,
                       shape=partial(_in_txn_shape, call.method, call.shape))
    if call.method in TRANSACTION_METHODS:
        return replace(call, txn=txn, writes=True)
    raise LocalProtocolError(
        f"{call.method} cannot run inside a transaction; call it on the session instead")
