"""The HTTP transport of the core: SurrealDB RPC over HTTP/1.1, one exchange at a time.

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
:mod:`surreal_proto._http`; replies, deadlines and events come from the shared
:class:`~surreal_proto.RpcLayer`. (With your own HTTP client, such as ``httpx``, drive
:class:`~surreal_proto._http_requests.HttpRequestConnection` instead: no bytes, any number of
requests at once.)

Decisions:

* **Correlation by exchange order.** HTTP replies carry no ``id`` (``protocol.md`` §3.1).
  ``send_request`` still returns an id from the ``RpcLayer``, and the reply to the exchange in
  progress is handed to the layer *with* that id. One exchange runs at a time (HTTP/1.1
  pipelining is not used): requests queue in the core and the next request's bytes appear in
  ``data_to_send()`` as soon as the previous response is complete. For parallel calls, run a
  small pool of connections that share one :class:`HttpContext`.
* **A fast path, with h11 as the reference.** The common exchange (a plain request; an
  ``HTTP/1.1`` response with one ``Content-Length``) is written and read by
  :mod:`surreal_proto._http_fast`, without ``h11``'s per-event objects and state machine.
  Anything else (chunked or unframed bodies, 1xx, odd or broken heads, requests with
  framing headers of their own) is handed to a fresh ``h11.Connection`` for that exchange:
  it is sent the same request and fed every byte received for the exchange, so it reads
  the response, and reports any error, exactly as if it had carried the whole connection.
  After the response the connection returns to the fast path (with ``h11``'s unread bytes).
* **Shared with** :class:`~surreal_proto._http_requests.HttpRequestConnection` (one
  implementation, in :class:`~surreal_proto._http_base.BaseHttpConnection`): the client-side
  session (local ``use``/``let``/``unset``/``invalidate``/``reset``, merged query variables),
  the auth rules (``signin``/``signup``/``refresh`` adopt the returned token,
  ``authenticate`` is checked by the server before it is adopted), the methods refused over
  HTTP, the status mapping, and the ``/health``, ``/version``, ``/import`` and ``/export``
  starters. See that module's docstring.
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
from collections.abc import Callable
from typing import Final

import h11

from ._connection import StreamConnection
from ._errors import ConnectionClosedError, LocalProtocolError, RemoteProtocolError, SurrealError
from ._events import RequestId
from ._http import _header
from ._http_base import BaseHttpConnection, _Exchange
from ._http_context import HttpContext
from ._http_fast import Head, parse_head, plain_request_bytes
from ._log import LazyLogger
from ._state import ConnectionState, Input

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "HttpConnection", "HttpContext"]

_log: Final = LazyLogger("surreal_proto.http")

#: 128 MiB, the same bound as a WebSocket message (``DEFAULT_MAX_MESSAGE_SIZE``): any reply a
#: stock server sends fits, and one runaway reply cannot take more memory than that.
DEFAULT_MAX_RESPONSE_SIZE: Final = 128 * 1024 * 1024


class HttpConnection(BaseHttpConnection, StreamConnection):
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

    _CLOSED_MESSAGE = "the HTTP connection ended before the reply arrived"

    def __init__(self, host: str, *, base_path: str = "", context: HttpContext | None = None,
                 max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
                 default_timeout: float | None = None,
                 id_factory: Callable[[], RequestId] | None = None) -> None:
        if not host or any(c in host for c in "\r\n\0 /"):
            raise LocalProtocolError(f"invalid HTTP host {host!r}")
        super().__init__(base_path=base_path, context=context, default_timeout=default_timeout,
                         id_factory=id_factory)
        self._host = host
        self._max_response_size = max_response_size
        # None on the fast path; an h11 connection for an exchange handed to it.
        self._h11: h11.Connection | None = None
        self._raw = bytearray()  # the fast path's bytes received for the current exchange
        self._head: Head | None = None  # the fast path's head of the current response
        self._queue: deque[_Exchange] = deque()
        self._current: _Exchange | None = None

    # ------------------------------------------------------------------ properties

    @property
    def idle(self) -> bool:
        """Whether the connection is open with no exchange in progress or queued (a pool
        hands new calls to idle connections first)."""
        return (self._machine.state is ConnectionState.OPEN and self._current is None
                and not self._queue)

    # ------------------------------------------------------------------ caller actions

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
        if self._h11 is None:
            self._raw += data
        else:
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
        if self._current is not None and self._h11 is not None:
            # A reply delimited by end of stream completes now (protocol.md §3.1 replies
            # normally have a Content-Length; a proxy may not keep it). On the fast path the
            # reply has a Content-Length and is still short: nothing completes.
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

    def _enqueue(self, exchange: _Exchange) -> None:
        self._queue.append(exchange)
        self._start_next()

    def _start_next(self) -> None:
        while self._current is None and self._queue:
            exchange = self._queue.popleft()
            if not self._rpc.is_pending(exchange.request_id):
                continue  # abandoned or timed out while queued: never sent
            data = plain_request_bytes(self._host, exchange.request)
            self._out += self._to_h11(exchange) if data is None else data
            self._rpc.mark_sent(exchange.request_id)
            self._current = exchange

    def _to_h11(self, exchange: _Exchange) -> bytes:
        # Hand the exchange to a fresh h11 connection: send it the request (returned, as h11
        # writes it) and feed it the bytes received so far (module docstring).
        connection = h11.Connection(h11.CLIENT)
        request = exchange.request
        headers = [("Host", self._host), *request.headers]
        if request.body or request.method == "POST":
            headers.append(("Content-Length", str(len(request.body))))
        out = connection.send(h11.Request(method=request.method, target=request.target,
                                          headers=headers))
        assert out is not None
        if request.body:
            data = connection.send(h11.Data(data=request.body))
            assert data is not None
            out += data
        end = connection.send(h11.EndOfMessage())
        assert end is not None
        out += end
        if self._raw:
            connection.receive_data(bytes(self._raw))
            self._raw = bytearray()
        self._h11 = connection
        return out

    def _pump(self, now: float) -> None:
        limit = self._max_response_size
        while self._current is not None:
            exchange = self._current
            if self._h11 is None:
                if not self._pump_fast(exchange, limit, now):
                    return
                continue
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
                reusable = (self._h11.our_state is h11.DONE
                            and self._h11.their_state is h11.DONE)
                if reusable:
                    # Back to the fast path, with what h11 received beyond this response.
                    self._raw = bytearray(self._h11.trailing_data[0])
                    self._h11 = None
                self._complete(exchange, bytes(exchange.body), now, reusable=reusable)
            # InformationalResponse (1xx): nothing to do; the final response follows.

    def _pump_fast(self, exchange: _Exchange, limit: int | None, now: float) -> bool:
        # One step of the fast path: False when it needs more bytes (or the connection
        # ended), True when the pump goes on (a response completed, or h11 took over).
        head = self._head
        if head is None:
            parsed = parse_head(self._raw)
            if parsed is None:
                return False
            if not isinstance(parsed, Head):
                self._to_h11(exchange)  # not the common case: h11 reads this response
                return True
            head = self._head = parsed
            exchange.status = head.status
            exchange.headers = head.headers
            self._note_version(head.headers)
            if limit is not None and head.length > limit:
                self._too_large(limit)
                return False
        end = head.body_start + head.length
        raw = self._raw
        if len(raw) < end:
            return False
        body = bytes(raw[head.body_start:end])
        del raw[:end]
        self._head = None
        self._complete(exchange, body, now, reusable=head.keep_alive)
        return True

    def _complete(self, exchange: _Exchange, body: bytes, now: float, *,
                  reusable: bool) -> None:
        self._settle(exchange, exchange.status, exchange.headers, body, now)
        self._current = None
        if self._eof:
            return  # the reply ended with the stream: receive_eof() ends the connection
        if reusable:
            self._start_next()
        else:
            # Connection: close, or an HTTP/1.0 reply: this connection carries no more.
            self._terminate(Input.RECEIVE_CLOSE, 1000, error=ConnectionClosedError(
                "the server closed the HTTP connection after its reply (Connection: close)",
                code=1000))

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
