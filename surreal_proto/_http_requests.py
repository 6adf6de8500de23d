"""The HTTP transport of the core for a caller-supplied HTTP client (``httpx``): whole requests
out, whole replies in, any number in flight.

An adapter given ``http_client=httpx.Client(...)`` or ``httpx.AsyncClient(...)`` (``API.md``
§3) has no bytes to feed: its client frames HTTP, pools connections, speaks HTTP/2, goes
through proxies. :class:`HttpRequestConnection` is the core for it. It has the request side of
every transport (``send_request`` and the :class:`~surreal_proto._verbs.RpcMethods` helpers,
``events()``, ``next_deadline()``, ``handle_timeout()``, ``abandon``, ``close``, ``state``,
``server_version``, ``pending_requests()``) and, like
:class:`~surreal_proto._embedded.EmbeddedConnection`, hands out whole messages instead of
``data_to_send()`` bytes. The driving contract:

    after any call that starts something (``connect``, ``send_request`` and the request
    helpers, ``send_health`` & co., ``handle_timeout``, ``close``): take
    ``requests_to_send()``; send each :class:`~surreal_proto._http.HttpRequest` to the base
    URL followed by its ``target``, with its ``method``, ``headers`` and ``body``; feed the
    reply back with ``receive_response(request_id, status, headers, body, now)``, or the
    exception the client raised with ``receive_failure(request_id, exc, now)``. After any
    call, handle ``events()`` and re-arm the timer from ``next_deadline()``. When a
    ``RequestTimedOut`` arrives for a request still in flight, cancel that HTTP call if you
    can.

A synchronous adapter, in full::

    for request_id, request in conn.requests_to_send():
        try:
            reply = client.request(request.method, request.target,
                                   headers=list(request.headers), content=request.body)
        except httpx.HTTPError as exc:
            conn.receive_failure(request_id, exc, now())
        else:
            conn.receive_response(request_id, reply.status_code, reply.headers,
                                  reply.content, now())
    for event in conn.events(): ...

(``httpx.Client(base_url=...)`` joins the base URL and the target. An async adapter runs each
exchange in its own task, keyed by request id, and cancels the task on ``abandon`` or
``RequestTimedOut``.)

Decisions:

* **One implementation of the HTTP session.** Everything but the carriage is
  :class:`~surreal_proto._http_base.BaseHttpConnection`, shared with the ``h11``
  :class:`~surreal_proto._http_connection.HttpConnection`: local ``use``/``let``/``unset``/
  ``invalidate``/``reset``, merged query variables, the token adopted after ``signin``/
  ``signup``/``refresh``, ``authenticate`` checked by the server before it is adopted, the
  methods refused over HTTP, the status → typed error mapping of :mod:`surreal_proto._http`,
  and ``send_health``/``send_http_version``/``send_import``/``send_export``. A request carries
  the :class:`~surreal_proto._http_context.HttpContext` as it is when *started*: wait for a
  ``signin`` before starting the calls that need its token.
* **Concurrency.** Requests are independent (HTTP replies carry no ``id``, ``protocol.md``
  §3.1, but each reply is fed back with the id of its request): any number may be in flight,
  answered in any order. There is no connection to lose: a failed exchange fails that request
  only, and the connection stays ``OPEN`` until ``close()``.
* **Abandon and timeouts** never end the connection (unlike ``h11``, whose exchange cannot be
  cancelled): a request not yet taken is never handed out; one in flight is forgotten, and its
  late reply or failure is dropped. Cancelling the HTTP call itself is the adapter's job.
* **Transport failures** (``receive_failure``). The core cannot import ``httpx``, so it reads
  the exception's class names (and those of its ``__cause__``/``__context__`` chain), as the
  client engine does for ``ssl`` and ``socket`` errors; any exception is accepted and becomes
  ``RequestFailed`` with an ``API.md`` §7 error whose ``__cause__`` is ``exc``:

  =================================================  =========================================
  exception (by class name)                          error
  =================================================  =========================================
  a :class:`~surreal_proto.SurrealError`             itself (the adapter already chose)
  ``SSLCertVerificationError``/``CertificateError``  :class:`~surreal_proto.TLSError`
  in the chain, or ``SSLError`` under a connect
  failure
  a timeout (``TimeoutException``, ``TimeoutError``)  :class:`~surreal_proto.SurrealTimeoutError`
  a connect failure (``ConnectError``,               :class:`~surreal_proto.SurrealConnectionError`
  ``ConnectTimeout``, ``PoolTimeout``,               (the request was not sent: safe to send
  ``ProxyError``, ``UnsupportedProtocol``,           again)
  ``ConnectionRefusedError``, ``gaierror``)
  anything else, for a call that cannot change       :class:`~surreal_proto.SurrealConnectionError`
  data (``is_retry_safe``; ``/health``,
  ``/version``, ``/export``)
  anything else, for a call that may write           :class:`~surreal_proto.OutcomeUnknownError`
  (``query``, ``create``, ``/import``, ...)          (it may have run: never re-sent blindly)
  =================================================  =========================================

  So a :class:`~surreal_proto.SurrealConnectionError` from this transport always means "did
  not run, or safe to run again", as ``API.md`` §8 asks of a dropped WebSocket.
* **No response size limit here**: the core sees a body only once the client has read all of
  it. Bound it in the adapter (stream the reply, stop past a limit, report the failure).

Secrets: :class:`~surreal_proto._http.HttpRequest`'s ``repr`` hides ``Authorization`` and the
body; error messages quote the server's text and the exception's text with the token and the
Basic password replaced by ``***``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._errors import (
    OutcomeUnknownError,
    SurrealConnectionError,
    SurrealError,
    SurrealTimeoutError,
    TLSError,
)
from ._events import AnyEvent, RequestId, RequestTimedOut
from ._http import HeaderPairs, HttpRequest, _scrub
from ._http_base import EXPORT, HEALTH, VERSION, BaseHttpConnection, _Exchange
from ._http_context import HttpContext
from ._log import LazyLogger
from ._replay import is_retry_safe
from ._state import ConnectionState, Input

__all__ = ["HttpRequestConnection", "transport_error"]

_log: Final = LazyLogger("surreal_proto.http")

# Class names (anywhere in the MRO) of exceptions raised before the request left the client.
# httpx: ConnectError, ConnectTimeout, PoolTimeout, ProxyError, UnsupportedProtocol; the
# standard library: ConnectionRefusedError, socket.gaierror (name resolution).
_NOT_SENT: Final = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "ProxyError",
                              "UnsupportedProtocol", "ConnectionRefusedError", "gaierror"})
_TLS_VERIFY: Final = frozenset({"SSLCertVerificationError", "CertificateError"})
_TIMEOUT: Final = frozenset({"TimeoutException", "TimeoutError"})  # httpx; builtin (and socket)
_SAFE_ENDPOINTS: Final = frozenset({HEALTH, VERSION, EXPORT})  # read only; /import writes
_MAX_CHAIN: Final = 8


def _chain(exc: BaseException) -> list[BaseException]:
    # exc, then its __cause__ (or __context__) chain: httpx wraps httpcore, which wraps ssl.
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < _MAX_CHAIN:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def transport_error(exc: Exception, method: str, params: tuple[object, ...] = (), *,
                    secrets: tuple[str, ...] = ()) -> SurrealError:
    """The ``API.md`` §7 error for an exception an HTTP client raised while carrying one
    request (the table in this module's docstring); ``exc`` becomes its ``__cause__``.

    Args:
        exc: what the client raised (``httpx.ConnectError``, ``httpx.ReadTimeout``, ...).
        method: the request's method (``"query"``) or endpoint (``"/health"``).
        params: its params, to tell a read-only call from a write (:func:`is_retry_safe`).
        secrets: strings to replace by ``***`` in the quoted exception text.

    Returns:
        The error, not raised. A :class:`~surreal_proto.SurrealError` ``exc`` is returned as
        it is.
    """
    if isinstance(exc, SurrealError):
        return exc
    top = _names(exc)
    everywhere = set().union(*(_names(e) for e in _chain(exc)))
    not_sent = bool(top & _NOT_SENT) or bool(everywhere & _TLS_VERIFY)
    text = _scrub(str(exc), secrets)
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    error: SurrealError
    if everywhere & _TLS_VERIFY:
        error = TLSError(f"TLS certificate verification failed ({what}); the {method!r} "
                         "request was not sent")
    elif not_sent and "SSLError" in everywhere:
        error = TLSError(f"the TLS handshake failed ({what}); the {method!r} request was not "
                         "sent")
    elif top & _TIMEOUT:
        if not_sent:
            error = SurrealTimeoutError(f"the HTTP client timed out before sending the "
                                        f"{method!r} request ({what})")
        else:
            error = SurrealTimeoutError(f"the HTTP client timed out waiting for the reply to "
                                        f"{method!r} ({what}); it may have run on the server")
    elif not_sent:
        error = SurrealConnectionError(f"could not connect to send the {method!r} request "
                                       f"({what}); it was not sent")
    elif (method in _SAFE_ENDPOINTS
          or (not method.startswith("/") and is_retry_safe(method, params))):
        error = SurrealConnectionError(f"the HTTP exchange of {method!r} failed ({what}); the "
                                       "call changes no data and may be sent again")
    else:
        error = OutcomeUnknownError(
            f"the HTTP exchange of {method!r} failed after the request was sent ({what}): it "
            "may or may not have run on the server, and it was not sent again")
    error.__cause__ = exc
    return error


class HttpRequestConnection(BaseHttpConnection):
    """A SurrealDB RPC client whose HTTP exchanges the caller's own HTTP client carries (see
    the module docstring for the driving contract and the decisions).

    ``connect(now)`` marks it ready (there is no handshake; ``Connected`` follows);
    ``close(now)`` ends it at once (pending requests fail with ``RequestFailed``, then
    ``ConnectionClosed`` with code 1000), after which the adapter cancels what is still in
    flight. The HTTP client itself belongs to the adapter (or to its user).

    Args:
        base_path: a path prefix when SurrealDB is mounted below the root (``"/db"``): it is
            put in front of every request's ``target``.
        context: the client-side session (ns/db, variables, auth, and the extra headers sent
            on every request: ``HttpContext(headers=...)``). Default: a new, empty one.
        default_timeout: deadline of requests started with
            :data:`~surreal_proto.DEFAULT_TIMEOUT`; ``None`` = no deadline.
        id_factory: returns request ids (int or str, one type); default 1, 2, 3, ...

    Raises:
        LocalProtocolError: ``base_path`` does not start with ``/``.
    """

    _CLOSED_MESSAGE = "the HTTP client connection was closed before the reply arrived"

    def __init__(self, *, base_path: str = "", context: HttpContext | None = None,
                 default_timeout: float | None = None,
                 id_factory: Callable[[], RequestId] | None = None) -> None:
        super().__init__(base_path=base_path, context=context, default_timeout=default_timeout,
                         id_factory=id_factory)
        self._outbox: list[_Exchange] = []
        self._in_flight: dict[RequestId, _Exchange] = {}

    # ------------------------------------------------------------------ output

    def requests_to_send(self) -> list[tuple[RequestId, HttpRequest]]:
        """Take the requests to send now, oldest first, as ``(request_id, request)`` pairs
        (abandoned or timed-out ones are left out). Send them all, in any order and as
        concurrently as you like; report each outcome with :meth:`receive_response` or
        :meth:`receive_failure` and its ``request_id``."""
        taken: list[tuple[RequestId, HttpRequest]] = []
        for exchange in self._outbox:
            request_id = exchange.request_id
            if self._rpc.is_pending(request_id):
                self._rpc.mark_sent(request_id)
                self._in_flight[request_id] = exchange
                taken.append((request_id, exchange.request))
        self._outbox.clear()
        return taken

    @property
    def in_flight(self) -> int:
        """How many handed-out requests wait for :meth:`receive_response` or
        :meth:`receive_failure`."""
        return len(self._in_flight)

    # ------------------------------------------------------------------ caller actions

    def abandon(self, request_id: RequestId) -> None:
        """Give up on a request (its caller was cancelled). No event follows for it; a request
        not handed out yet never is; a late reply or failure is dropped. The connection goes
        on. Cancel the HTTP call itself if it is in flight. Unknown ids are ignored."""
        super().abandon(request_id)
        self._in_flight.pop(request_id, None)

    # ------------------------------------------------------------------ input

    def receive_response(self, request_id: RequestId, status: int, headers: HeaderPairs,
                         body: bytes, now: float) -> None:
        """Feed the complete reply to a request from :meth:`requests_to_send`.

        Args:
            request_id: the id it was handed out with.
            status: the HTTP status code.
            headers: the reply headers: a mapping (``httpx.Headers``) or ``(name, value)``
                pairs, ``str`` or ``bytes``.
            body: the whole body, content-decoded (``httpx.Response.content``).
            now: the current time.

        The request's outcome follows as an event (module docstring of
        :mod:`surreal_proto._http_base`, "Status codes"). Never raises for a bad reply.
        Replies to requests that were abandoned, timed out, already answered or never handed
        out, and every reply after ``close()``, are dropped. Then handle ``events()``.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        exchange = self._take(request_id)
        if exchange is not None:
            self._note_version(headers)
            self._settle(exchange, status, headers, bytes(body), now)

    def receive_failure(self, request_id: RequestId, exc: Exception, now: float) -> None:
        """Report that the HTTP client raised ``exc`` instead of returning a reply to the
        request ``request_id``. It fails with ``RequestFailed`` and the error of
        :func:`transport_error` (a timeout, TLS, connection or outcome-unknown error, with
        ``exc`` as ``__cause__``); the connection stays open. Ids as for
        :meth:`receive_response`. Then handle ``events()``.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        exchange = self._take(request_id)
        if exchange is None:
            return
        pending = self._rpc.get_pending(request_id)
        assert pending is not None  # in flight implies pending (timeouts leave _in_flight)
        self._rpc.fail_request(request_id, transport_error(
            exc, exchange.method, tuple(pending.params), secrets=exchange.secrets))

    # ------------------------------------------------------------------ internals

    def _take(self, request_id: RequestId) -> _Exchange | None:
        # The start of receive_*: raise for misuse; the exchange in flight, or None to drop.
        if self._machine.process(Input.RECEIVE_DATA) is ConnectionState.CLOSED:
            _log.debug("dropping the outcome of request %r: the connection is closed",
                       request_id)
            return None
        exchange = self._in_flight.pop(request_id, None)
        if exchange is None:
            _log.debug("dropping the outcome of request %r: not in flight (abandoned, timed "
                       "out, answered or never handed out)", request_id)
        return exchange

    def _enqueue(self, exchange: _Exchange) -> None:
        self._outbox.append(exchange)

    def _emit(self, event: AnyEvent) -> None:
        if isinstance(event, RequestTimedOut):
            self._in_flight.pop(event.request_id, None)  # its late outcome is dropped
        super()._emit(event)

    def _drop_outgoing(self) -> None:
        self._outbox.clear()
        self._in_flight.clear()
