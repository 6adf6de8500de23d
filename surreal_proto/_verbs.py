"""One thin method per RPC method of ``protocol.md`` §4, shared by every transport.

Each method builds the positional ``params`` list and calls the connection's ``send_request``
(one implementation for every transport, :class:`~surreal_proto._connection.BaseConnection`),
returning the request id. ``send_request`` refuses with ``UnsupportedFeatureError``, before
anything is queued, what the transport or the server's version cannot do
(:func:`~surreal_proto._version.check_supported`). The outcome arrives later as an event
(``ResponseReceived``, ``ErrorReceived``, ``RequestTimedOut`` or ``RequestFailed``) carrying
that id.

Driving contract: after each call, send ``data_to_send()``, then handle ``events()``.

Params are built by the per-method builders of :mod:`surreal_proto._methods` (targets: a
``str`` with ``:`` becomes a server-parsed record id, without it a table; arity per §4.2;
argument checks) and :func:`surreal_proto._auth.wire_credentials` (official credential keys to
wire keys, §7.1), so a bad argument raises ``EncodingError`` / ``LocalProtocolError`` before
anything is queued. Methods without params (``ping``, ``attach``...) send ``[]``.

Every method takes the keyword options of :class:`RequestOptions`: ``now`` (required),
``timeout``, and the 3.x envelope fields ``session`` and ``txn`` (§2.4, §9).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack
from uuid import UUID

from . import _methods as m
from ._auth import wire_credentials
from ._events import RequestId
from ._recordid import Table
from ._rpc import DEFAULT_TIMEOUT, Timeout
from ._values import NullType

__all__ = ["RequestOptions", "RpcMethods"]


class _TimingOptions(TypedDict, total=False):
    now: Required[float]
    """The current time (any monotonic clock), for the request's deadline."""
    timeout: Timeout
    """Seconds until ``RequestTimedOut``; ``None`` = none; default: the connection's."""


class _SessionOptions(_TimingOptions, total=False):
    session: UUID | None
    """The 3.x attached session to run in (``protocol.md`` §9.1); ``None`` = default."""


class RequestOptions(_SessionOptions, total=False):
    """Keyword options of every request method."""

    txn: UUID | None
    """The 3.x transaction to run in (``protocol.md`` §9.2). Some methods ignore it."""


class RpcMethods(ABC):
    """Typed request helpers. :class:`~surreal_proto._connection.BaseConnection` provides
    :meth:`send_request`."""

    __slots__ = ()

    @abstractmethod
    def send_request(self, method: str, params: Iterable[Any] = (), *,
                     session: UUID | None = None, txn: UUID | None = None,
                     timeout: Timeout = DEFAULT_TIMEOUT, now: float) -> RequestId:
        """Start a request; see the transport's documentation."""
        ...

    # ------------------------------------------------------------------ connection

    def ping(self, **options: Unpack[RequestOptions]) -> RequestId:
        """``ping``: check the connection (result ``NONE``). Returns the request id."""
        return self.send_request("ping", (), **options)

    def version(self, **options: Unpack[RequestOptions]) -> RequestId:
        """``version``: the server version string (params exactly ``[]``, §4.2). The
        connection records it as ``server_version``. Returns the request id."""
        return self.send_request("version", (), **options)

    def info(self, **options: Unpack[RequestOptions]) -> RequestId:
        """``info``: the ``$auth`` record, or ``NONE`` (§4.4). Returns the request id."""
        return self.send_request("info", (), **options)

    def use(self, namespace: str | NullType | None, database: str | NullType | None,
            **options: Unpack[RequestOptions]) -> RequestId:
        """``use [ns, db]``: select (3.x: and create) a namespace and database (§4.4).
        Returns the request id."""
        return self.send_request("use", m.use_params(namespace, database), **options)

    # ------------------------------------------------------------------ auth

    def signin(self, credentials: Mapping[str, Any],
               **options: Unpack[RequestOptions]) -> RequestId:
        """``signin [vars]`` with wire keys (``user``, ``pass``, ``NS``, ``DB``, ``AC``, §7).
        Returns the request id."""
        return self.send_request("signin", [wire_credentials(credentials)], **options)

    def signup(self, credentials: Mapping[str, Any],
               **options: Unpack[RequestOptions]) -> RequestId:
        """``signup [vars]`` (§7). Returns the request id."""
        return self.send_request("signup", [wire_credentials(credentials)], **options)

    def authenticate(self, token: str, **options: Unpack[RequestOptions]) -> RequestId:
        """``authenticate [token]``: an access JWT, never a refresh token (§4.2).
        Returns the request id."""
        return self.send_request("authenticate", (token,), **options)

    def invalidate(self, **options: Unpack[RequestOptions]) -> RequestId:
        """``invalidate``: drop the session's auth (§4.4). Returns the request id."""
        return self.send_request("invalidate", (), **options)

    def reset(self, **options: Unpack[RequestOptions]) -> RequestId:
        """``reset`` (2.2+): clear auth, ns/db and variables and kill the session's live
        queries (§4.4); on success those end with ``LiveQueryEnded(reason="reset")``.
        Returns the request id."""
        return self.send_request("reset", (), **options)

    def refresh(self, tokens: Any,
                **options: Unpack[RequestOptions]) -> RequestId:
        """``refresh [{access, refresh}]`` (3.x): a new token pair. Returns the request id."""
        return self.send_request("refresh", m.refresh_params(tokens), **options)

    def revoke(self, tokens: Any,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``revoke [{access, refresh}]`` (3.x). Returns the request id."""
        return self.send_request("revoke", m.revoke_params(tokens), **options)

    # ------------------------------------------------------------------ variables

    def let(self, name: str, value: Any, **options: Unpack[RequestOptions]) -> RequestId:
        """``let [name, value]``: set a session variable. Returns the request id."""
        return self.send_request("let", m.let_params(name, value), **options)

    def unset(self, name: str, **options: Unpack[RequestOptions]) -> RequestId:
        """``unset [name]``: remove a session variable. Returns the request id."""
        return self.send_request("unset", m.unset_params(name), **options)

    # ------------------------------------------------------------------ queries and data

    def query(self, sql: str, vars: Mapping[str, Any] | None = None,
              **options: Unpack[RequestOptions]) -> RequestId:
        """``query [sql, vars?]``: one result per statement (§6.5). A ``LIVE SELECT`` in it
        registers the live query (3.x). Returns the request id."""
        return self.send_request("query", m.query_params(sql, vars), **options)

    def select(self, target: m.Target, **options: Unpack[RequestOptions]) -> RequestId:
        """``select [what]`` (§4.3). Returns the request id."""
        return self.send_request("select", m.select_params(target), **options)

    def create(self, target: m.Target, data: Mapping[str, Any] | None = None,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``create [what, data?]``. Returns the request id."""
        return self.send_request("create", m.create_params(target, data), **options)

    def insert(self, table: str | Table | None, data: Any,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``insert [what, data]`` (exactly two params, §4.2). Returns the request id."""
        return self.send_request("insert", m.insert_params(table, data), **options)

    def insert_relation(self, table: str | Table | None, data: Any,
                        **options: Unpack[RequestOptions]) -> RequestId:
        """``insert_relation [table, data]`` (2.0+). Returns the request id."""
        return self.send_request("insert_relation", m.insert_relation_params(table, data),
                                 **options)

    def update(self, target: m.Target, data: Mapping[str, Any] | None = None,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``update [what, data?]``. Returns the request id."""
        return self.send_request("update", m.update_params(target, data), **options)

    def upsert(self, target: m.Target, data: Mapping[str, Any] | None = None,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``upsert [what, data?]`` (2.0+). Returns the request id."""
        return self.send_request("upsert", m.upsert_params(target, data), **options)

    def merge(self, target: m.Target, data: Mapping[str, Any] | None = None,
              **options: Unpack[RequestOptions]) -> RequestId:
        """``merge [what, data?]``. Returns the request id."""
        return self.send_request("merge", m.merge_params(target, data), **options)

    def patch(self, target: m.Target, patches: Sequence[Mapping[str, Any]] | None,
              diff: bool = False,
              **options: Unpack[RequestOptions]) -> RequestId:
        """``patch [what, patches, diff?]``: JSON-Patch ops. Returns the request id."""
        return self.send_request("patch", m.patch_params(target, patches, diff), **options)

    def delete(self, target: m.Target, **options: Unpack[RequestOptions]) -> RequestId:
        """``delete [what]``. Returns the request id."""
        return self.send_request("delete", m.delete_params(target), **options)

    def relate(self, in_: Any, relation: m.Target, out: Any,
               data: Mapping[str, Any] | None = None,
               **options: Unpack[RequestOptions]) -> RequestId:
        """``relate [from, table, to, data?]``. Returns the request id."""
        return self.send_request("relate", m.relate_params(in_, relation, out, data), **options)

    def run(self, name: str, args: Sequence[Any] | None = None, version: str | None = None,
            **options: Unpack[RequestOptions]) -> RequestId:
        """``run [name, version?, args?]``: call a function (``ml::`` models need a
        version). Returns the request id."""
        return self.send_request("run", m.run_params(name, args, version), **options)

    # ------------------------------------------------------------------ live queries

    def live(self, table: m.Target, diff: bool = False,
             **options: Unpack[RequestOptions]) -> RequestId:
        """``live [what, diff?]`` (WebSocket only, §8.1). On success the live query is known
        and its notifications (including ones that raced ahead, §8.3) follow as
        ``LiveNotificationReceived``. Returns the request id."""
        return self.send_request("live", m.live_params(table, diff), **options)

    def kill(self, live_id: UUID | str, **options: Unpack[RequestOptions]) -> RequestId:
        """``kill [uuid]``. On success ``LiveQueryEnded(reason="kill")`` follows the reply.
        Returns the request id."""
        return self.send_request("kill", m.kill_params(live_id), **options)

    # ------------------------------------------------------------------ sessions (3.x)

    def attach(self, session: UUID, **options: Unpack[_TimingOptions]) -> RequestId:
        """``attach``: create the session ``session`` (a UUID the client picks, §9.1); no
        params. Returns the request id."""
        return self.send_request("attach", (), session=session, **options)

    def detach(self, session: UUID, **options: Unpack[_TimingOptions]) -> RequestId:
        """``detach``: remove the session and its live queries (``LiveQueryEnded`` with
        ``reason="detach"`` follow the reply). Returns the request id."""
        return self.send_request("detach", (), session=session, **options)

    def sessions(self, **options: Unpack[_TimingOptions]) -> RequestId:
        """``sessions``: the attached session UUIDs. Returns the request id."""
        return self.send_request("sessions", (), **options)

    # ------------------------------------------------------------------ transactions (3.x)

    def begin(self, **options: Unpack[_SessionOptions]) -> RequestId:
        """``begin`` (3.x server WebSocket only, §9.2): the result is the transaction UUID to
        pass as ``txn``. No params; ``session`` picks the session. Returns the request id."""
        return self.send_request("begin", (), **options)

    def commit(self, txn: UUID | str, **options: Unpack[_SessionOptions]) -> RequestId:
        """``commit [txn]``. Returns the request id."""
        return self.send_request("commit", m.commit_params(txn), **options)

    def cancel(self, txn: UUID | str, **options: Unpack[_SessionOptions]) -> RequestId:
        """``cancel [txn]``. Returns the request id."""
        return self.send_request("cancel", m.cancel_params(txn), **options)

