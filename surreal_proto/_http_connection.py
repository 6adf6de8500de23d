"""The HTTP transport of the core: SurrealDB RPC over HTTP/1.1 (``h11``), one exchange at a time.

:class:`HttpConnection` is one keep-alive HTTP/1.1 connection to a SurrealDB server. It has the
driving contract and the events of :class:`~surreal_proto.WebSocketConnection`, and the same
request helpers (:class:`~surreal_proto._verbs.RpcMethods`), so an adapter's loop is the same
for both:

    after any call that feeds input or starts something (``connect``, ``send_request`` and the
    request helpers, ``receive_data``, ``receive_eof``, ``handle_timeout``, ``close``), send
    ``data_to_send()``, then handle ``events()``, then re-arm the timer from
    ``next_deadline()``. After :class:`~surreal_proto.ConnectionClosed`, flush once more and
    close the transport.

The HTTP request and response are built and read by the pure functions of
:mod:`surreal_proto._http` (an ``httpx`` adapter uses those directly); replies, deadlines and
events come from the shared :class:`~surreal_proto.RpcLayer`.

Decisions:

* **Correlation by exchange order.** HTTP replies carry no ``id`` (``protocol.md`` §3.1).
  ``send_request`` still returns an id from the ``RpcLayer``, and the reply to the exchange in
  progress is handed to the layer *with* that id. One exchange runs at a time (HTTP/1.1
  pipelining is not used): requests queue in the core and the next request's bytes appear in
  ``data_to_send()`` as soon as the previous response is complete. For parallel calls, run a
  small pool of connections that share one :class:`HttpContext`.
* **Session state is client-side** (``protocol.md`` §3.1 "How a stateless HTTP client carries
  context"; the JS ``HttpEngine`` does the same). ``use``, ``let``/``set``, ``unset``,
  ``invalidate`` and ``reset`` send nothing: they are validated, change the
  :class:`HttpContext`, and answer with ``ResponseReceived`` at once (an invalid call answers
  with ``ErrorReceived``, as the server would). Later requests carry the context as headers
  (``Surreal-NS``, ``Surreal-DB``, ``Authorization``), and ``query`` merges the ``let``
  variables into its ``vars``, the call's own vars winning (3.x precedence, §4.4). A local
  ``use`` does not create the namespace or database as a 3.x WebSocket ``use`` does.
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
  and a :class:`~surreal_proto.RemoteProtocolError`, and the connection stays usable). Any
  other status that SurrealDB gives (401, 403, 413, ...; table in :mod:`surreal_proto._http`)
  is ``ErrorReceived`` with the typed :class:`~surreal_proto.ServerError`, as on WebSocket;
  a status that is not a SurrealDB answer (404, ...) is ``RequestFailed`` with a
  :class:`~surreal_proto.HandshakeError`. Either way the layer settles the request
  (``RpcLayer.fail_request``), so the events are those of every transport.
* **Abandon / timeout policy: close.** h11 cannot cancel an exchange. When the request in
  progress is abandoned or times out, the connection is closed rather than drained: waiting
  for a reply nobody wants would hold every queued request behind a call that already
  overran its deadline. ``ConnectionClosed`` follows (``error=None``, code 1000); queued
  requests fail with ``RequestFailed`` and show ``sent=False`` in ``unanswered`` (always safe
  to re-send on a new connection). A *queued* request that is abandoned or times out is simply
  never sent, and the connection goes on.
* **Keep-alive.** After a complete response the connection is reused. When the server ends it
  (``Connection: close``, HTTP/1.0, or end of stream while idle) the connection ends with
  ``ConnectionClosed`` (code 1000, a :class:`~surreal_proto.ConnectionClosedError`); open a new
  one, with the same :class:`HttpContext`. End of stream in the middle of an exchange is code
  1006 (the request shows ``sent=True`` in ``unanswered``: its outcome is unknown).
* **Limits.** A response body larger than ``max_response_size`` ends the connection (code
  1009) as soon as its ``Content-Length`` or its received bytes pass the limit; nothing beyond
  one read is held. Broken HTTP framing or bytes with no request outstanding end it with code
  1002 and a :class:`~surreal_proto.RemoteProtocolError`.

Close codes in :class:`~surreal_proto.ConnectionClosed` mirror WebSocket's, for one event
type on every transport: 1000 orderly end, 1002 protocol error, 1006 lost mid-exchange, 1009
reply too large.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

import h11

from ._auth import parse_token_result
from ._connection import StreamConnection
from ._errors import (
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    SurrealError,
    ValidationError,
)
from ._events import AnyEvent, RequestId, ResponseReceived
from ._http import (
    CBOR_MEDIA_TYPE,
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
from ._state import ConnectionState, Input
from ._version import ServerVersion

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "HttpConnection", "HttpContext"]

_log: Final = LazyLogger("surreal_proto.http")

#: 128 MiB, the same bound as a WebSocket message (``DEFAULT_MAX_MESSAGE_SIZE``): any reply a
#: stock server sends fits, and one runaway reply cannot take more memory than that.
DEFAULT_MAX_RESPONSE_SIZE: Final = 128 * 1024 * 1024

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


class HttpConnection(StreamConnection):
    """A SurrealDB RPC client over one keep-alive HTTP/1.1 connection (see the module
    docstring for the decisions).

    ``send_request`` and the request helpers queue a ``POST /rpc``, or answer ``use``, ``let``/
    ``set``, ``unset``, ``invalidate`` and ``reset`` locally. A request carries the
    :class:`HttpContext` as it is when started: wait for a state-changing call (``signin``)
    before starting calls that depend on it. Timeouts count from the start, queueing
    included. ``session`` and ``txn`` are refused (``UnsupportedFeatureError``).

    Args:
        host: the ``Host`` header value (``"localhost:8000"``).
        base_path: a path prefix when SurrealDB is mounted below the root (``"/db"``).
        context: the client-side session (ns/db, variables, auth, and the extra headers sent
            on every request: ``HttpContext(headers=...)``); share one across a pool.
            Default: a new, empty one.
        max_response_size: largest response body in bytes; ``None`` = unlimited.
        default_timeout: deadline of requests started with :data:`DEFAULT_TIMEOUT`;
            ``None`` = no deadline.
        id_factory: returns request ids (int or str, one type); default 1, 2, 3, ...

    Raises:
        LocalProtocolError: ``host`` or ``base_path`` is invalid.
    """

    _TRANSPORT = "http"
    _CLOSED_MESSAGE = "the HTTP connection ended before the reply arrived"

    def __init__(self, host: str, *, base_path: str = "", context: HttpContext | None = None,
                 max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
                 default_timeout: float | None = None,
                 id_factory: Callable[[], RequestId] | None = None) -> None:
        if not host or any(c in host for c in "\r\n\0 /"):
            raise LocalProtocolError(f"invalid HTTP host {host!r}")
        if base_path and not base_path.startswith("/"):
            raise LocalProtocolError(f"base_path must start with '/', got {base_path!r}")
        super().__init__(default_timeout=default_timeout, id_factory=id_factory)
        self._host = host
        self._base_path = base_path
        self._rpc_target = base_path.rstrip("/") + "/rpc"
        self.context = context if context is not None else HttpContext()
        self._max_response_size = max_response_size
        self._h11 = h11.Connection(h11.CLIENT)
        self._queue: deque[_Exchange] = deque()
        self._current: _Exchange | None = None
        self._header_version: ServerVersion | None = None

    # ------------------------------------------------------------------ properties

    @property
    def server_version(self) -> ServerVersion | None:
        """The server version: from a ``version`` reply, else from the ``surreal-version``
        header of any response (``protocol.md`` §3.2); ``None`` until one arrived."""
        return self._rpc.server_version or self._header_version

    @property
    def idle(self) -> bool:
        """Whether the connection is open with no exchange in progress or queued (a pool
        hands new calls to idle connections first)."""
        return (self._machine.state is ConnectionState.OPEN and self._current is None
                and not self._queue)

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

    def abandon(self, request_id: RequestId) -> None:
        """Give up on a request (its caller was cancelled). No event follows for it. A queued
        request is never sent; the request in progress closes the connection (module
        docstring: h11 cannot cancel an exchange). Unknown ids are ignored.

        Then send ``data_to_send()`` and handle ``events()``.
        """
        super().abandon(request_id)
        self._drop_if_current(request_id)

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the transport. Never raises for bad bytes: they end the
        connection (``ConnectionClosed`` with code 1002); bytes after the end are discarded.

        Then send ``data_to_send()`` (the next queued request), handle ``events()`` and
        re-arm the timer from ``next_deadline()``.

        Raises:
            LocalProtocolError: before ``connect()`` or after ``receive_eof()``.
        """
        if not self._accept_data(data):
            return
        if self._current is None:
            self._fail(1002, RemoteProtocolError(
                "the server sent bytes while no request was outstanding"))
            return
        self._h11.receive_data(data)
        self._pump(now)

    def receive_eof(self) -> None:
        """Report that the transport reached end of stream. Idempotent.

        A response delimited by end of stream completes; otherwise the connection ends
        (code 1000 while idle: the server closed a keep-alive connection; 1006 in the middle
        of an exchange). Then handle ``events()`` and close the transport.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        if not self._accept_eof():
            return
        if self._current is not None:
            # A reply delimited by end of stream completes now (protocol.md §3.1 replies
            # normally have a Content-Length; a proxy may not keep it).
            self._h11.receive_data(b"")
            self._pump(0.0)
        if self._current is None:
            self._terminate(Input.RECEIVE_EOF, 1000, error=ConnectionClosedError(
                "the server closed the HTTP connection", code=1000))
        else:
            self._terminate(Input.RECEIVE_EOF, 1006, error=ConnectionClosedError(
                "the server closed the HTTP connection in the middle of an exchange",
                code=1006))

    # ------------------------------------------------------------------ time

    def handle_timeout(self, now: float) -> None:
        """Time out the requests due at ``now`` (``RequestTimedOut``). If the request in
        progress timed out, the connection closes (module docstring). Safe to call early or
        late. Then send ``data_to_send()`` and handle ``events()``."""
        super().handle_timeout(now)
        if self._current is not None:
            self._drop_if_current(self._current.request_id)

    # ------------------------------------------------------------------ internals

    def _emit(self, event: AnyEvent) -> None:
        current = self._current
        if (isinstance(event, ResponseReceived) and current is not None
                and event.request_id == current.request_id):
            self._after_success(current, event)
        super()._emit(event)

    def _after_success(self, current: _Exchange, event: ResponseReceived) -> None:
        # The exchange in progress succeeded: adopt the token it carried or returned.
        if current.adopt_token is not None:
            self.context.set_token(current.adopt_token)
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

    def _enqueue(self, exchange: _Exchange) -> None:
        self._queue.append(exchange)
        self._start_next()

    def _start_next(self) -> None:
        while self._current is None and self._queue:
            exchange = self._queue.popleft()
            if not self._rpc.is_pending(exchange.request_id):
                continue  # abandoned or timed out while queued: never sent
            request = exchange.request
            headers = [("Host", self._host), *request.headers]
            if request.body or request.method == "POST":
                headers.append(("Content-Length", str(len(request.body))))
            out = self._h11.send(h11.Request(method=request.method, target=request.target,
                                             headers=headers))
            assert out is not None
            self._out += out
            if request.body:
                data = self._h11.send(h11.Data(data=request.body))
                assert data is not None
                self._out += data
            end = self._h11.send(h11.EndOfMessage())
            assert end is not None
            self._out += end
            self._rpc.mark_sent(exchange.request_id)
            self._current = exchange

    def _pump(self, now: float) -> None:
        limit = self._max_response_size
        while self._current is not None:
            exchange = self._current
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof:
                    return  # end of stream before the reply was complete: receive_eof ends it
                self._fail(1002, RemoteProtocolError(f"broken HTTP response: {exc}"))
                return
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Response):
                exchange.status = event.status_code
                exchange.headers = list(event.headers)
                self._note_version(exchange.headers)
                length = _header(exchange.headers, "content-length")
                if limit is not None and length is not None and int(length) > limit:
                    self._too_large(limit)
                    return
            elif isinstance(event, h11.Data):
                exchange.body += event.data
                if limit is not None and len(exchange.body) > limit:
                    self._too_large(limit)
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._complete(exchange, now)
            # InformationalResponse (1xx): nothing to do; the final response follows.

    def _complete(self, exchange: _Exchange, now: float) -> None:
        body = bytes(exchange.body)
        status = exchange.status
        if exchange.method.startswith("/"):
            self._finish_endpoint(exchange, status, body)
        elif status == 200:
            media = _media_type(exchange.headers)
            if media is not None and media != CBOR_MEDIA_TYPE:
                self._rpc.fail_request(exchange.request_id, RemoteProtocolError(
                    f"the /rpc reply is {media!r}, not {CBOR_MEDIA_TYPE}"))
            else:
                self._rpc.receive_message(body, now, request_id=exchange.request_id)
        else:
            self._rpc.fail_request(exchange.request_id, error_for_status(
                status, exchange.headers, body, secrets=exchange.secrets))
        self._current = None
        if self._eof:
            return  # the reply ended with the stream: receive_eof() ends the connection
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            self._start_next()
        else:
            # Connection: close, or an HTTP/1.0 reply: this connection carries no more.
            self._terminate(Input.RECEIVE_CLOSE, 1000, error=ConnectionClosedError(
                "the server closed the HTTP connection after its reply (Connection: close)",
                code=1000))

    def _finish_endpoint(self, exchange: _Exchange, status: int, body: bytes) -> None:
        # Not an RPC reply: parse it here, then let the layer settle the request.
        try:
            result = _PARSERS[exchange.method](status, exchange.headers, body,
                                               exchange.secrets)
        except SurrealError as exc:
            self._rpc.fail_request(exchange.request_id, exc)
        else:
            self._rpc.resolve_request(exchange.request_id, result)

    def _note_version(self, headers: list[tuple[bytes, bytes]]) -> None:
        value = _header(headers, "surreal-version")
        if value is not None:
            self._header_version = ServerVersion.parse_or_none(value) or self._header_version

    def _drop_if_current(self, request_id: RequestId) -> None:
        current = self._current
        if (current is not None and current.request_id == request_id
                and not self._rpc.is_pending(request_id)):
            _log.debug("request %r abandoned mid-exchange; closing the connection",
                       request_id)
            self._terminate(Input.CLOSE_NOW, 1000)

    def _too_large(self, limit: int) -> None:
        self._fail(1009, ConnectionClosedError(
            f"the server sent a response larger than max_response_size ({limit} bytes)",
            code=1009, reason="response too large"))

    def _fail(self, code: int, error: SurrealError) -> None:
        self._terminate(Input.FAIL, code, error=error)

    def _drop_outgoing(self) -> None:
        self._current = None
        self._queue.clear()
