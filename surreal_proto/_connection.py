"""What the three transports of the core share: the base of :class:`~surreal_proto.
WebSocketConnection`, :class:`~surreal_proto._http_connection.HttpConnection` and
:class:`~surreal_proto._embedded.EmbeddedConnection`.

The transports differ in how messages travel (WebSocket frames, HTTP exchanges, ``execute()``
calls), not in how requests are started, matched, timed out and ended. That part is written
once, here:

* The same public names: ``state``, ``server_version``, ``pending_count``,
  ``pending_requests()``, ``send_request`` (and the typed helpers of
  :class:`~surreal_proto._verbs.RpcMethods`), ``abandon``, ``connect``, ``close``,
  ``events()``, ``next_deadline()`` and ``handle_timeout``.
* One ``send_request``. It checks the state, then refuses what the transport or the server
  cannot do with :class:`~surreal_proto.UnsupportedFeatureError`
  (:func:`~surreal_proto._version.check_supported`: live queries and transactions off the
  server WebSocket, sessions over HTTP, methods and envelope fields the server's version does
  not have), before anything is registered, queued or sent. Only then does the transport
  (``_start_request``) handle the request.
* The same events for the same situations: every request outcome comes from the
  :class:`~surreal_proto.RpcLayer`, and the end of a connection is always every pending request
  failed (``RequestFailed``), every live query ended (``LiveQueryEnded``), then
  ``ConnectionClosed`` with the unanswered requests (``_terminate``).

Transports without a handshake (HTTP, the embedded engine) keep the default ``connect`` (``OPEN``
at once, then ``Connected``) and ``close`` (``CLOSE_NOW``: ``ConnectionClosed`` with code 1000 at
once). The WebSocket transport overrides both.

:class:`StreamConnection` adds what the two byte-stream transports share: the output buffer of
``data_to_send()`` and the bookkeeping at the start of ``receive_data`` and ``receive_eof``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final
from uuid import UUID

from ._errors import LocalProtocolError, SurrealError
from ._events import AnyEvent, Connected, ConnectionClosed, PendingRequest, RequestId
from ._log import LazyLogger
from ._rpc import DEFAULT_TIMEOUT, RpcLayer, Timeout
from ._state import ConnectionState, ConnectionStateMachine, Input
from ._verbs import RpcMethods
from ._version import RESTRICTED_METHODS, ServerVersion, Transport, check_supported

__all__ = ["BaseConnection", "StreamConnection"]

_log: Final = LazyLogger("surreal_proto.connection")


class BaseConnection(RpcMethods):
    """The part of a connection every transport shares (see the module docstring).

    Args:
        default_timeout: deadline of requests started with :data:`DEFAULT_TIMEOUT`;
            ``None`` = no deadline.
        id_factory: returns request ids (int or str, one type); default 1, 2, 3, ...
    """

    #: The transport's name for :func:`~surreal_proto._version.check_supported`.
    _TRANSPORT: ClassVar[Transport]
    #: The message of the ConnectionClosedError that pending requests fail with at the end.
    _CLOSED_MESSAGE: ClassVar[str]

    def __init__(self, *, default_timeout: float | None,
                 id_factory: Callable[[], RequestId] | None) -> None:
        self._machine = ConnectionStateMachine()
        self._events: list[AnyEvent] = []
        self._rpc = RpcLayer(self._emit, id_factory=id_factory, default_timeout=default_timeout)

    # ------------------------------------------------------------------ properties

    @property
    def state(self) -> ConnectionState:
        """The current :class:`~surreal_proto.ConnectionState`."""
        return self._machine.state

    @property
    def server_version(self) -> ServerVersion | None:
        """The server's version once known (a successful ``version`` request), else ``None``.
        Compare it with a :class:`~surreal_proto._version.ServerVersion` or a plain tuple:
        ``conn.server_version >= (3, 0, 0)``."""
        return self._rpc.server_version

    @property
    def pending_count(self) -> int:
        """How many requests wait for an outcome (queued ones included)."""
        return self._rpc.pending_count

    def pending_requests(self) -> list[PendingRequest]:
        """Snapshots of the requests waiting for an outcome, oldest first."""
        return self._rpc.pending_requests()

    # ------------------------------------------------------------------ output

    def events(self) -> list[AnyEvent]:
        """Take the events produced so far, oldest first. Call after sending the output."""
        events = self._events
        if not events:
            return []
        taken = events[:]
        events.clear()
        return taken

    # ------------------------------------------------------------------ caller actions

    def connect(self, now: float) -> None:
        """Mark the transport open. There is no handshake: the connection is ``OPEN`` at once
        and :class:`~surreal_proto.Connected` (``subprotocol="cbor"``, the encoding of every
        message) follows.

        Raises:
            LocalProtocolError: not ``IDLE``.
        """
        self._machine.process(Input.CONNECT)
        self._machine.process(Input.HANDSHAKE_ACCEPTED)
        self._events.append(Connected(subprotocol="cbor"))

    def send_request(self, method: str, params: Iterable[Any] = (), *,
                     session: UUID | None = None, txn: UUID | None = None,
                     timeout: Timeout = DEFAULT_TIMEOUT, now: float) -> RequestId:
        """Start an RPC request (``protocol.md`` §2.4). How it travels depends on the
        transport (see its class docstring).

        Then send the output; the outcome arrives as an event with the returned id
        (``ResponseReceived``, ``ErrorReceived``, ``RequestTimedOut`` or ``RequestFailed``).

        Args:
            method: the RPC method, lower-case (§4).
            params: positional params.
            session: the 3.x ``session`` envelope field (§9.1); ``None`` = default session.
            txn: the 3.x ``txn`` envelope field (§9.2).
            timeout: seconds until ``RequestTimedOut``; ``None`` = never; default: the
                connection's ``default_timeout``.
            now: the current time.

        Returns:
            The request id.

        Raises:
            LocalProtocolError: the state does not allow requests, or a bad id from
                ``id_factory``.
            UnsupportedFeatureError: the transport or the server's version cannot do
                ``method``, ``session`` or ``txn`` (``check_supported``); nothing changed.
            EncodingError: a param cannot be encoded; nothing was sent.
        """
        # The hot path of every request, so the checks that cannot fail are skipped: OPEN
        # leads to OPEN on SEND_REQUEST, and check_supported refuses only RESTRICTED_METHODS
        # or a session/txn.
        machine = self._machine
        if machine.state is not ConnectionState.OPEN:
            machine.check(Input.SEND_REQUEST)
        if session is not None or txn is not None or method in RESTRICTED_METHODS:
            check_supported(method, transport=self._TRANSPORT,
                            server_version=self.server_version,
                            session=session is not None, txn=txn is not None)
        request_id = self._start_request(
            method, params if type(params) is tuple else tuple(params), session=session,
            txn=txn, timeout=timeout, now=now)
        if machine.state is not ConnectionState.OPEN:
            machine.process(Input.SEND_REQUEST)
        return request_id

    def abandon(self, request_id: RequestId) -> None:
        """Give up on a request (its caller was cancelled). No event follows; a request not
        sent yet never is; a late reply is dropped. Unknown ids are ignored."""
        self._rpc.abandon(request_id)

    def close(self, now: float) -> None:
        """End the connection now: there is no closing handshake to wait for. Pending
        requests fail with ``RequestFailed`` and ``ConnectionClosed`` (code 1000,
        ``error=None``) follows at once. Idempotent.

        Then handle ``events()`` and close the transport.
        """
        if self._machine.state is not ConnectionState.CLOSED:
            self._terminate(Input.CLOSE_NOW, 1000)

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` next has work, or ``None``. Re-read it after every
        call."""
        return self._rpc.next_deadline()

    def handle_timeout(self, now: float) -> None:
        """Time out the requests due at ``now`` (``RequestTimedOut``). Safe to call early or
        late. Then handle ``events()``."""
        self._rpc.handle_timeout(now)

    # ------------------------------------------------------------------ for the transports

    @abstractmethod
    def _start_request(self, method: str, params: tuple[Any, ...], *, session: UUID | None,
                       txn: UUID | None, timeout: Timeout, now: float) -> RequestId:
        """Register the request with the RpcLayer and send, queue or answer it. Called by
        :meth:`send_request` once the state and the support checks passed."""

    @abstractmethod
    def _drop_outgoing(self) -> None:
        """Forget whatever waits to be sent or is half received: the connection ended."""

    def _emit(self, event: AnyEvent) -> None:
        # The RpcLayer's sink for events.
        self._events.append(event)

    def _terminate(self, event: Input, code: int, reason: str = "",
                   error: SurrealError | None = None) -> None:
        # The one way a connection ends (module docstring).
        self._machine.process(event)
        self._drop_outgoing()
        unanswered = self._rpc.connection_lost(self._CLOSED_MESSAGE, code=code, reason=reason,
                                               cause=error)
        self._events.append(ConnectionClosed(code=code, reason=reason, error=error,
                                             unanswered=unanswered))


class StreamConnection(BaseConnection):
    """A :class:`BaseConnection` over a byte stream (WebSocket, HTTP/1.1): an output buffer
    and the start of ``receive_data``/``receive_eof``."""

    def __init__(self, *, default_timeout: float | None,
                 id_factory: Callable[[], RequestId] | None) -> None:
        super().__init__(default_timeout=default_timeout, id_factory=id_factory)
        self._out = bytearray()
        self._eof = False

    def data_to_send(self) -> bytes:
        """Take the bytes to write to the transport (possibly empty). Call after every input
        or send; write them before handling ``events()``."""
        out = self._out
        if not out:
            return b""
        data = bytes(out)
        out.clear()
        return data

    def _accept_data(self, data: bytes) -> bool:
        # The start of receive_data: raise for misuse; True when there are bytes to parse.
        if self._eof:
            raise LocalProtocolError("receive_data() after receive_eof()")
        machine = self._machine
        if (machine.state is not ConnectionState.OPEN  # OPEN stays OPEN on RECEIVE_DATA
                and machine.process(Input.RECEIVE_DATA) is ConnectionState.CLOSED):
            _log.debug("discarding %d bytes received after the connection ended", len(data))
            return False
        return bool(data)  # b"" would mean end of stream to h11; EOF is receive_eof()

    def _accept_eof(self) -> bool:
        # The start of receive_eof (idempotent): True while the connection has not ended.
        self._machine.check(Input.RECEIVE_EOF)
        self._eof = True
        return self._machine.state is not ConnectionState.CLOSED
