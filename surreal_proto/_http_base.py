"""What the two HTTP transports of the core share: the client-side session and the meaning of a
reply.

:class:`~surreal_proto._http_connection.HttpConnection` carries HTTP/1.1 itself (``h11``, one
exchange at a time); :class:`~surreal_proto._http_requests.HttpRequestConnection` hands whole
:class:`~surreal_proto._http.HttpRequest` objects to the caller's own client (``httpx``), any
number at once. They differ only in how an exchange travels. :class:`BaseHttpConnection` is the
rest, written once:

* **Session state is client-side** (``protocol.md`` §3.1 "How a stateless HTTP client carries
  context"; the JS ``HttpEngine`` does the same). ``use``, ``let``/``set``, ``unset``,
  ``invalidate`` and ``reset`` send nothing: they are validated, change the
  :class:`~surreal_proto._http_context.HttpContext`, and answer with ``ResponseReceived`` at
  once (an invalid call answers with ``ErrorReceived``, as the server would). Later requests
  carry the context as headers (``Surreal-NS``, ``Surreal-DB``, ``Authorization``), and
  ``query`` merges the ``let`` variables into its ``vars``, the call's own vars winning (3.x
  precedence, §4.4). A local ``use`` does not create the namespace or database as a 3.x
  WebSocket ``use`` does. A request carries the context as it is when *started*.
* **Auth.** ``signin``, ``signup`` and ``refresh`` go out *without* the current
  ``Authorization`` (an expired token would make the server answer 401 before the RPC runs,
  §7.6, and block the very call that recovers); on success the returned access token becomes
  the Bearer of later requests. ``authenticate(token)`` is **sent** with that token as the
  Bearer, so the server checks it at once; only on success does it replace the current auth.
  A rejected token therefore never poisons later calls (the official SDK stores it first).
* **Unsupported** before anything is sent (``UnsupportedFeatureError``): ``live``, ``kill``,
  ``begin``, ``commit``, ``cancel``, sessions (``attach``/``detach``/``sessions`` and the
  ``session`` field) and ``txn`` (§3.1 table, §9.3; the policy of
  :func:`~surreal_proto._version.check_supported`, applied by ``send_request``).
* **Status codes**: a 200 reply goes through the ``RpcLayer`` (``ResponseReceived`` or
  ``ErrorReceived``; a body that is not a CBOR map fails that request with ``RequestFailed``
  and a :class:`~surreal_proto.RemoteProtocolError`). Any other status that SurrealDB gives
  (401, 403, 413, ...; table in :mod:`surreal_proto._http`) is ``ErrorReceived`` with the typed
  :class:`~surreal_proto.ServerError`, as on WebSocket; a status that is not a SurrealDB answer
  (404, ...) is ``RequestFailed`` with a :class:`~surreal_proto.HandshakeError`. Either way the
  layer settles the request (``RpcLayer.fail_request``), so the events are those of every
  transport.
* **Other endpoints**: ``send_health``, ``send_http_version``, ``send_import`` and
  ``send_export``; their events carry ``method="/health"`` and so on.
* **Server version**: from a ``version`` reply, else from the ``surreal-version`` header of
  any response (``protocol.md`` §3.2).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from ._auth import parse_token_result
from ._connection import BaseConnection
from ._errors import LocalProtocolError, RemoteProtocolError, SurrealError, ValidationError
from ._events import AnyEvent, RequestId, ResponseReceived
from ._http import (
    CBOR_MEDIA_TYPE,
    HeaderPairs,
    HttpRequest,
    _header,
    _media_type,
    build_export_request,
    build_health_request,
    build_import_request,
    build_version_request,
    error_for_status,
    parse_export_response,
    parse_health_response,
    parse_import_response,
    parse_version_response,
)
from ._http_context import HttpContext
from ._log import LazyLogger
from ._methods import HTTP_LOCAL_METHODS
from ._rpc import DEFAULT_TIMEOUT, Timeout
from ._state import Input
from ._version import ServerVersion

__all__ = ["EXPORT", "HEALTH", "IMPORT", "VERSION", "BaseHttpConnection"]

_log: Final = LazyLogger("surreal_proto.http")

# Methods that carry their own credentials and must not carry the current Authorization
# (protocol.md §7.6: an expired bearer is refused before the RPC runs).
_OWN_CREDENTIALS: Final = frozenset({"signin", "signup", "refresh"})
_TOKEN_RESULTS: Final = frozenset({"signin", "signup", "refresh"})
# protocol.md §3.1: Accept must map to the same format as Content-Type, or the answer is 415.
_RPC_HEADERS: Final = (("Content-Type", CBOR_MEDIA_TYPE), ("Accept", CBOR_MEDIA_TYPE))

# Non-RPC endpoints, as they appear in the events' ``method`` (never an RPC method name).
HEALTH: Final = "/health"
VERSION: Final = "/version"
IMPORT: Final = "/import"
EXPORT: Final = "/export"


@dataclass(slots=True)
class _Exchange:
    # One HTTP exchange: the request, and what its reply needs (secrets to scrub, the token
    # authenticate adopts). status/headers/body collect a reply that arrives in pieces (h11).
    request_id: RequestId
    method: str
    request: HttpRequest
    secrets: tuple[str, ...]
    adopt_token: str | None = None  # authenticate: the token to adopt on success
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


_PARSERS: Final[dict[str, Callable[..., Any]]] = {
    HEALTH: lambda status, headers, body, secrets: parse_health_response(status, headers, body),
    VERSION: lambda status, headers, body, secrets: parse_version_response(status, headers,
                                                                           body),
    IMPORT: lambda status, headers, body, secrets: parse_import_response(
        status, headers, body, secrets=secrets),
    EXPORT: lambda status, headers, body, secrets: parse_export_response(
        status, headers, body, secrets=secrets),
}


class BaseHttpConnection(BaseConnection):
    """The part of an HTTP transport that does not depend on how exchanges travel (see the
    module docstring). A subclass queues each :class:`_Exchange` (``_enqueue``) and, when its
    reply is complete, hands it to ``_settle``.

    Args:
        base_path: a path prefix when SurrealDB is mounted below the root (``"/db"``).
        context: the client-side session; default: a new, empty one.
        default_timeout, id_factory: as :class:`~surreal_proto._connection.BaseConnection`.

    Raises:
        LocalProtocolError: ``base_path`` does not start with ``/``.
    """

    _TRANSPORT = "http"

    def __init__(self, *, base_path: str, context: HttpContext | None,
                 default_timeout: float | None,
                 id_factory: Callable[[], RequestId] | None) -> None:
        if base_path and not base_path.startswith("/"):
            raise LocalProtocolError(f"base_path must start with '/', got {base_path!r}")
        super().__init__(default_timeout=default_timeout, id_factory=id_factory)
        self._base_path = base_path
        self._rpc_target = base_path.rstrip("/") + "/rpc"
        #: The client-side session (ns/db, variables, auth, extra headers); may be shared.
        self.context = context if context is not None else HttpContext()
        self._header_version: ServerVersion | None = None
        self._settling: _Exchange | None = None

    # ------------------------------------------------------------------ properties

    @property
    def server_version(self) -> ServerVersion | None:
        """The server version: from a ``version`` reply, else from the ``surreal-version``
        header of any response (``protocol.md`` §3.2); ``None`` until one arrived."""
        return self._rpc.server_version or self._header_version

    # ------------------------------------------------------------------ caller actions

    def _start_request(self, method: str, params: tuple[Any, ...], *, session: UUID | None,
                       txn: UUID | None, timeout: Timeout, now: float) -> RequestId:
        # POST /rpc, or a local answer for use/let/unset/invalidate/reset (module docstring).
        # The request carries the HttpContext as it is now. (session and txn are None here:
        # send_request refused them for HTTP.)
        if method in HTTP_LOCAL_METHODS:
            return self._answer_locally(method, params, now)
        adopt: str | None = None
        if method == "authenticate" and params and isinstance(params[0], str):
            adopt = params[0]
            headers = self.context.headers(token=adopt)
        else:
            headers = self.context.headers(auth=method not in _OWN_CREDENTIALS)
        if method == "query":
            params = self.context.merge_query_vars(params)
        request_id, payload = self._rpc.start_request(method, params, timeout=timeout,
                                                      now=now, sent=False)
        request = HttpRequest(method="POST", target=self._rpc_target,
                              headers=(*_RPC_HEADERS, *headers), body=payload)
        secrets = self.context.secrets() + ((adopt,) if adopt else ())
        self._enqueue(_Exchange(request_id, method, request, secrets, adopt_token=adopt))
        return request_id

    def send_health(self, *, timeout: Timeout = DEFAULT_TIMEOUT, now: float) -> RequestId:
        """Queue ``GET /health``: the outcome is ``ResponseReceived(method="/health")`` with
        ``True`` (healthy) or ``False`` (5xx) as its result (``protocol.md`` §3.3).
        Raises as :meth:`send_request`."""
        request = build_health_request(extra_headers=self.context.extra_headers,
                                       base_path=self._base_path)
        return self._start_endpoint(HEALTH, request, timeout, now)

    def send_http_version(self, *, timeout: Timeout = DEFAULT_TIMEOUT,
                          now: float) -> RequestId:
        """Queue ``GET /version``: the result is the text ``surrealdb-X.Y.Z`` (``method``
        ``"/version"``). No auth needed. Raises as :meth:`send_request`."""
        request = build_version_request(extra_headers=self.context.extra_headers,
                                        base_path=self._base_path)
        return self._start_endpoint(VERSION, request, timeout, now)

    def send_import(self, sql: str | bytes, *, timeout: Timeout = DEFAULT_TIMEOUT,
                    now: float) -> RequestId:
        """Queue ``POST /import`` of a SurrealQL script with the context's auth and ns/db.
        The result (``method="/import"``) is the list of statement results; a failed
        statement gives ``ErrorReceived`` with a :class:`~surreal_proto.QueryError`.
        Raises as :meth:`send_request`."""
        ctx = self.context
        request = build_import_request(sql, namespace=ctx.namespace, database=ctx.database,
                                       token=ctx.token, basic=ctx.basic,
                                       extra_headers=ctx.extra_headers, base_path=self._base_path)
        return self._start_endpoint(IMPORT, request, timeout, now)

    def send_export(self, options: Mapping[str, Any] | None = None, *,
                    timeout: Timeout = DEFAULT_TIMEOUT, now: float) -> RequestId:
        """Queue the export (``GET /export``, or ``POST`` with JSON ``options``). The result
        (``method="/export"``) is the SurrealQL text. Raises as :meth:`send_request`."""
        ctx = self.context
        request = build_export_request(namespace=ctx.namespace, database=ctx.database,
                                       token=ctx.token, basic=ctx.basic, options=options,
                                       extra_headers=ctx.extra_headers, base_path=self._base_path)
        return self._start_endpoint(EXPORT, request, timeout, now)

    # ------------------------------------------------------------------ for the transports

    @abstractmethod
    def _enqueue(self, exchange: _Exchange) -> None:
        """Queue a registered request for sending."""

    def _settle(self, exchange: _Exchange, status: int, headers: HeaderPairs, body: bytes,
                now: float) -> None:
        # The reply to `exchange` is complete: let the layer settle the request (module
        # docstring, "Status codes"). Never raises.
        self._settling = exchange
        if exchange.method.startswith("/"):
            self._finish_endpoint(exchange, status, headers, body)
        elif status == 200:
            media = _media_type(headers)
            if media is not None and media != CBOR_MEDIA_TYPE:
                self._rpc.fail_request(exchange.request_id, RemoteProtocolError(
                    f"the /rpc reply is {media!r}, not {CBOR_MEDIA_TYPE}"))
            else:
                self._rpc.receive_message(body, now, request_id=exchange.request_id)
        else:
            self._rpc.fail_request(exchange.request_id, error_for_status(
                status, headers, body, secrets=exchange.secrets))
        self._settling = None

    def _note_version(self, headers: HeaderPairs) -> None:
        value = _header(headers, "surreal-version")
        if value is not None:
            self._header_version = ServerVersion.parse_or_none(value) or self._header_version

    # ------------------------------------------------------------------ internals

    def _emit(self, event: AnyEvent) -> None:
        settling = self._settling
        if (isinstance(event, ResponseReceived) and settling is not None
                and event.request_id == settling.request_id):
            self._after_success(settling, event)
        super()._emit(event)

    def _after_success(self, exchange: _Exchange, event: ResponseReceived) -> None:
        # The exchange succeeded: adopt the token it carried or returned.
        if exchange.adopt_token is not None:
            self.context.set_token(exchange.adopt_token)
        elif event.method in _TOKEN_RESULTS:
            try:
                access = parse_token_result(event.result).access
            except RemoteProtocolError:
                access = None
                _log.debug("%s returned no usable token; the auth is unchanged", event.method)
            if access is not None:
                try:
                    self.context.set_token(access)
                except LocalProtocolError:
                    _log.debug("%s returned a token HTTP cannot carry", event.method)

    def _answer_locally(self, method: str, params: tuple[Any, ...], now: float) -> RequestId:
        # protocol.md §3.1: answered from the client-side context; nothing is sent. The layer
        # gives the id and emits the answer, as for any other request.
        error, result, apply = self.context.prepare_local(method, params)
        request_id = self._rpc.register_request(method, params, timeout=None, now=now)
        if apply is not None:
            apply()
            self._rpc.resolve_request(request_id, result)
        else:
            self._rpc.fail_request(request_id, ValidationError(error or "invalid"))
        return request_id

    def _start_endpoint(self, name: str, request: HttpRequest, timeout: Timeout,
                        now: float) -> RequestId:
        self._machine.check(Input.SEND_REQUEST)
        request_id = self._rpc.register_request(name, timeout=timeout, now=now)
        self._enqueue(_Exchange(request_id, name, request, self.context.secrets()))
        self._machine.process(Input.SEND_REQUEST)
        return request_id

    def _finish_endpoint(self, exchange: _Exchange, status: int, headers: HeaderPairs,
                         body: bytes) -> None:
        # Not an RPC reply: parse it here, then let the layer settle the request.
        try:
            result = _PARSERS[exchange.method](status, headers, body, exchange.secrets)
        except SurrealError as exc:
            self._rpc.fail_request(exchange.request_id, exc)
        else:
            self._rpc.resolve_request(exchange.request_id, result)
