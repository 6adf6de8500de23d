"""The transport-independent RPC layer: request ids, envelopes, the pending map, deadlines,
classification of incoming messages, and live-query routing.

Every transport owns one :class:`RpcLayer`. The WebSocket transport hands it each complete
message; the HTTP transport hands it each ``/rpc`` response body together with the request id
the exchange belongs to (HTTP replies echo no ``id``, ``protocol.md`` §3.1); the embedded
transport hands it what ``execute()`` returns, with the id of the message executed. The layer
never does I/O and never reads a clock: every call that needs the time takes ``now``.

Invariants:

* Request ids come from ``id_factory`` (default: 1, 2, 3, ...). They are all ``int`` or all
  ``str`` (ids are compared by value, §2.6), never repeat a pending or abandoned id, and are
  the only thing that ties a reply to a request (replies arrive out of order, §2.7).
* A request leaves the pending map exactly once, with exactly one event: ResponseReceived,
  ErrorReceived, RequestFailed or RequestTimedOut, or silently through :meth:`abandon`. The
  layer emits every one of those events, including for outcomes that are not a reply body
  (an HTTP status, a local answer, an engine exception): transports settle such requests with
  :meth:`resolve_request` / :meth:`fail_request` and never build outcome events themselves.
* A reply for an abandoned or timed-out request is dropped (DEBUG log). A reply for an id we
  never used is a :class:`~surreal_proto.ProtocolViolation`; the next message is read normally.
* A message that cannot be read (bad CBOR, not a map) is a ProtocolViolation when nothing says
  which request it answers (WebSocket), and fails that request with RequestFailed when the
  transport says (``request_id=``: HTTP, embedded).
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Final, Literal, TypeAlias
from uuid import UUID

from ._codec import decode, encode
from ._errors import (
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    ServerError,
    SurrealError,
    server_error_from_wire,
)
from ._events import (
    AnyEvent,
    ErrorReceived,
    LiveNotificationReceived,
    LiveQueryEnded,
    PendingRequest,
    ProtocolViolation,
    RequestFailed,
    RequestId,
    RequestTimedOut,
    ResponseReceived,
)
from ._log import LazyLogger
from ._version import ServerVersion

__all__ = ["DEFAULT_TIMEOUT", "RpcLayer", "Timeout"]

_log: Final = LazyLogger("surreal_proto.rpc")


class _Default(Enum):
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT_TIMEOUT"


#: Pass as ``timeout`` to use the connection's ``default_timeout``.
DEFAULT_TIMEOUT: Final = _Default.DEFAULT

#: A per-request timeout: seconds, ``None`` for no deadline, or :data:`DEFAULT_TIMEOUT`.
Timeout: TypeAlias = float | Literal[_Default.DEFAULT] | None

def _as_uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


def _is_request_id(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


class _Pending:
    __slots__ = ("method", "params", "request_id", "sent", "seq", "session", "timeout", "txn")

    def __init__(self, request_id: RequestId, method: str, params: tuple[Any, ...],
                 session: UUID | None, txn: UUID | None, timeout: float | None, sent: bool,
                 seq: int) -> None:
        self.request_id = request_id
        self.method = method
        self.params = params
        self.session = session
        self.txn = txn
        self.timeout = timeout
        self.sent = sent
        self.seq = seq

    def snapshot(self) -> PendingRequest:
        return PendingRequest(request_id=self.request_id, method=self.method,
                              params=self.params, session=self.session, txn=self.txn,
                              sent=self.sent)


class RpcLayer:
    """Matches replies to requests and routes live notifications; shared by all transports.

    Driving contract (for the transport that owns it): events go to ``emit`` as they happen;
    the transport hands them to its caller through ``events()``, after ``data_to_send()``.

    Args:
        emit: called with each event, in order.
        id_factory: returns the next request id (``int`` or ``str``, one type per connection).
            Default: a counter from 1.
        default_timeout: seconds before a request times out when ``send_request`` is given
            :data:`DEFAULT_TIMEOUT`; ``None`` means no deadline.
        live_buffer_size: how many notifications for not-yet-known live queries to hold
            (``protocol.md`` §8.3); the oldest is dropped beyond it.
        live_buffer_ttl: seconds such a notification is held before it is dropped.
        dropped_memory: how many abandoned or timed-out ids to remember, so their late replies
            are dropped silently. Beyond it, a very late reply becomes a ProtocolViolation.
    """

    def __init__(self, emit: Callable[[AnyEvent], None], *,
                 id_factory: Callable[[], RequestId] | None = None,
                 default_timeout: float | None = None, live_buffer_size: int = 256,
                 live_buffer_ttl: float = 5.0, dropped_memory: int = 4096) -> None:
        self._emit = emit
        # Ids from our own counter are fresh ints by construction: only a caller's factory
        # needs checking (type, one type per connection, no repeats).
        self._checked_ids = id_factory is not None
        self._id_factory = id_factory or itertools.count(1).__next__
        self._id_type: type[int] | type[str] | None = None
        self.default_timeout = default_timeout
        self._live_buffer_size = live_buffer_size
        self._live_buffer_ttl = live_buffer_ttl
        self._dropped_memory = dropped_memory
        self._pending: dict[RequestId, _Pending] = {}
        self._deadlines: list[tuple[float, int, RequestId]] = []  # a heap, stale entries skipped
        self._seq = itertools.count()
        self._dropped: OrderedDict[RequestId, None] = OrderedDict()
        self._live: dict[UUID, UUID | None] = {}  # live query id -> session that owns it
        self._ended: OrderedDict[UUID, None] = OrderedDict()
        # Notifications for live queries not known yet (§8.3), with their expiry time.
        self._buffer: deque[tuple[float, LiveNotificationReceived]] = deque()
        self._server_version: ServerVersion | None = None

    # ------------------------------------------------------------------ properties

    @property
    def server_version(self) -> ServerVersion | None:
        """The server's version, from the last ``version`` reply that held one."""
        return self._server_version

    @property
    def pending_count(self) -> int:
        """How many requests wait for an outcome."""
        return len(self._pending)

    def pending_requests(self) -> list[PendingRequest]:
        """Snapshots of the requests waiting for an outcome, oldest first."""
        return [p.snapshot() for p in self._pending.values()]

    def is_pending(self, request_id: RequestId) -> bool:
        """Whether ``request_id`` still waits for an outcome."""
        return request_id in self._pending

    def get_pending(self, request_id: RequestId) -> PendingRequest | None:
        """A snapshot of one request that waits for an outcome, or ``None``."""
        pending = self._pending.get(request_id)
        return None if pending is None else pending.snapshot()

    @property
    def live_queries(self) -> dict[UUID, UUID | None]:
        """The known live queries: live id → the attached session that owns it (or ``None``)."""
        return dict(self._live)

    # ------------------------------------------------------------------ requests

    def start_request(self, method: str, params: Iterable[Any] = (), *,
                      session: UUID | None = None, txn: UUID | None = None,
                      timeout: Timeout = DEFAULT_TIMEOUT, now: float,
                      sent: bool = True) -> tuple[RequestId, bytes]:
        """Register a request and build its envelope (``protocol.md`` §2.4).

        Args:
            method: the RPC method, lower-case (§4).
            params: the positional params (always sent, possibly empty).
            session: the 3.x ``session`` envelope field (§9.1).
            txn: the 3.x ``txn`` envelope field (§9.2).
            timeout: seconds until :class:`RequestTimedOut`; ``None`` = never;
                :data:`DEFAULT_TIMEOUT` = ``default_timeout``.
            now: the current time, for the deadline.
            sent: ``False`` if the transport queues the envelope; call :meth:`mark_sent` when
                it goes out.

        Returns:
            The request id and the CBOR envelope. The transport must send the envelope.

        Raises:
            LocalProtocolError: ``id_factory`` returned a bad, mixed-type or repeated id.
            EncodingError: a param cannot be encoded. Nothing was registered.
        """
        request_id = self._next_id() if self._checked_ids else self._id_factory()
        param_tuple = params if type(params) is tuple else tuple(params)
        # A tuple is encoded as a CBOR array, like a list.
        envelope: dict[str, Any] = {"id": request_id, "method": method, "params": param_tuple}
        if session is not None:
            envelope["session"] = session
        if txn is not None:
            envelope["txn"] = txn
        payload = encode(envelope)
        self._register(request_id, method, param_tuple, session, txn, timeout, now, sent)
        return request_id, payload

    def register_request(self, method: str, params: Iterable[Any] = (), *,
                         session: UUID | None = None, txn: UUID | None = None,
                         timeout: Timeout = DEFAULT_TIMEOUT, now: float,
                         sent: bool = False) -> RequestId:
        """Register a request without building an envelope: for one the transport sends in
        its own form (an HTTP endpoint such as ``/health``) or answers itself (HTTP's local
        ``use``/``let``). Settle it with :meth:`resolve_request` or :meth:`fail_request`, or
        feed its reply to :meth:`receive_message` with ``request_id``.

        Args and raises: as :meth:`start_request` (nothing is encoded, so no EncodingError);
        ``sent`` defaults to ``False``.

        Returns:
            The request id.
        """
        request_id = self._next_id() if self._checked_ids else self._id_factory()
        self._register(request_id, method, tuple(params), session, txn, timeout, now, sent)
        return request_id

    def _next_id(self) -> RequestId:
        request_id = self._id_factory()
        if not _is_request_id(request_id):
            raise LocalProtocolError(
                f"id_factory returned a {type(request_id).__name__}; request ids must be int or"
                " str (protocol.md §2.4)")
        id_type = int if isinstance(request_id, int) else str
        if self._id_type is not None and id_type is not self._id_type:
            raise LocalProtocolError(
                f"id_factory returned a {id_type.__name__} after {self._id_type.__name__} ids;"
                " keep request ids one type (protocol.md §2.6)")
        if request_id in self._pending or request_id in self._dropped:
            raise LocalProtocolError(f"id_factory repeated the request id {request_id!r}")
        return request_id

    def _register(self, request_id: RequestId, method: str, params: tuple[Any, ...],
                  session: UUID | None, txn: UUID | None, timeout: Timeout, now: float,
                  sent: bool) -> None:
        if self._checked_ids:
            self._id_type = int if isinstance(request_id, int) else str
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        seq = next(self._seq)
        self._pending[request_id] = _Pending(request_id, method, params, session, txn,
                                             timeout, sent, seq)
        if timeout is not None:
            heapq.heappush(self._deadlines, (now + timeout, seq, request_id))

    def mark_sent(self, request_id: RequestId) -> bool:
        """Record that a queued request's envelope went out (see ``sent`` above). Returns
        whether it still waits for an outcome (``False``: abandoned or timed out meanwhile,
        so it must not go out)."""
        pending = self._pending.get(request_id)
        if pending is None:
            return False
        pending.sent = True
        return True

    def abandon(self, request_id: RequestId) -> None:
        """Forget a request whose caller gave up (cancelled, sync deadline). No event follows;
        its late reply is dropped. Unknown or finished ids are ignored."""
        pending = self._pending.pop(request_id, None)
        if pending is not None:
            _log.debug("request %r (%s) abandoned", request_id, pending.method)
            if pending.sent:
                self._remember_dropped(request_id)

    def resolve_request(self, request_id: RequestId, result: Any) -> None:
        """Settle a request with a result that is not a reply body (a local answer, an HTTP
        endpoint's parsed reply): :class:`ResponseReceived` follows, and the result has the
        effects a reply would have (a ``version`` sets :attr:`server_version`...). Unknown or
        finished ids are ignored."""
        pending = self._pending.pop(request_id, None)
        if pending is not None:
            self._succeed(pending, result, pending.session)

    def fail_request(self, request_id: RequestId, error: SurrealError) -> None:
        """Settle a request with an error that is not a reply body. A
        :class:`~surreal_proto.ServerError` is the server's (or engine's) answer, as a reply
        would carry it: :class:`ErrorReceived` (an HTTP 401, an embedded ``execute`` that
        raised, a local answer refusing bad params). Any other error means no answer came:
        :class:`RequestFailed` (an HTTP status that is not SurrealDB's, a malformed reply).
        Unknown or finished ids are ignored."""
        pending = self._pending.pop(request_id, None)
        if pending is not None:
            self._fail(pending, error, pending.session)

    def connection_lost(self, message: str, *, code: int | None = None, reason: str = "",
                        cause: BaseException | None = None) -> tuple[PendingRequest, ...]:
        """Fail every pending request and end every live query: the connection is over.

        Emits :class:`RequestFailed` (a fresh :class:`ConnectionClosedError` each, with
        ``cause`` as ``__cause__``) per request, then :class:`LiveQueryEnded` (``"closed"``)
        per live query.

        Returns:
            Snapshots of the requests that were pending, oldest first.
        """
        pending = list(self._pending.values())
        self._pending.clear()
        self._deadlines.clear()
        self._dropped.clear()
        self._buffer.clear()
        for p in pending:
            error = ConnectionClosedError(message, code=code, reason=reason)
            error.__cause__ = cause
            self._emit(RequestFailed(request_id=p.request_id, method=p.method, error=error))
        for live_id in list(self._live):
            self._end_live(live_id, "closed")
        return tuple(p.snapshot() for p in pending)

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`handle_timeout` has work to do, or ``None``."""
        # Drivers call this after every call: no lists, no min(), no helper calls.
        heap = self._deadlines
        pending = self._pending
        deadline = None
        while heap:
            due, seq, request_id = heap[0]
            entry = pending.get(request_id)
            if entry is not None and entry.seq == seq:
                deadline = due
                break
            heapq.heappop(heap)  # stale: that request already has its outcome
        if self._buffer:
            held = self._buffer[0][0]
            if deadline is None or held < deadline:
                deadline = held
        return deadline

    def handle_timeout(self, now: float) -> None:
        """Time out due requests (:class:`RequestTimedOut`) and drop expired buffered
        notifications. Safe to call at any time."""
        self._expire_buffer(now)
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if not self._is_current(entry):
                continue
            pending = self._pending.pop(entry[2])
            if pending.sent:
                self._remember_dropped(pending.request_id)
            self._emit(RequestTimedOut(request_id=pending.request_id, method=pending.method,
                                       timeout=pending.timeout))

    def _is_current(self, entry: tuple[float, int, RequestId]) -> bool:
        pending = self._pending.get(entry[2])
        return pending is not None and pending.seq == entry[1]

    def _remember_dropped(self, request_id: RequestId) -> None:
        self._dropped[request_id] = None
        if len(self._dropped) > self._dropped_memory:
            self._dropped.popitem(last=False)

    # ------------------------------------------------------------------ incoming

    def receive_message(self, data: bytes, now: float, *,
                        request_id: RequestId | None = None) -> None:
        """Classify one complete message from the server (``protocol.md`` §2.6).

        Args:
            data: the message's bytes (one WebSocket message, one HTTP body).
            now: the current time (for the live-notification buffer).
            request_id: for transports that know which request a message answers (HTTP,
                whose replies carry no ``id``; the embedded engine): that request. Its reply
                is then read whatever ``id`` it carries, and a message that cannot be read
                fails it with :class:`RequestFailed`.

        Never raises for bad bytes: they become a :class:`ProtocolViolation` event, or the
        ``RequestFailed`` of ``request_id``.
        """
        if self._buffer:
            self._expire_buffer(now)
        try:
            message = decode(data)
        except RemoteProtocolError as exc:
            self._unreadable(exc, request_id)
            return
        if type(message) is not dict and not isinstance(message, Mapping):
            self._unreadable(RemoteProtocolError(
                f"a message from the server is a {type(message).__name__}, not a map"
                " (protocol.md §2.6)"), request_id)
            return
        if request_id is not None:
            self._on_reply(request_id, message)
        elif "id" in message:
            self._on_reply(message["id"], message)
        else:
            self._on_idless(message, now)

    def _violation(self, error: RemoteProtocolError) -> None:
        _log.debug("protocol violation: %s", error)
        self._emit(ProtocolViolation(error=error))

    def _unreadable(self, error: RemoteProtocolError, request_id: RequestId | None) -> None:
        if request_id is None:
            self._violation(error)
            return
        pending = self._take_replied(request_id)
        if pending is not None:
            self._fail(pending, error, pending.session)

    def _take_replied(self, request_id: Any) -> _Pending | None:
        # The pending call a reply is for; None (after a log or a violation) if there is none.
        # (The type test first: an id from the server may be unhashable.)
        kind = type(request_id)
        pending = (self._pending.pop(request_id, None)
                   if kind is int or kind is str or _is_request_id(request_id) else None)
        if pending is None:
            if _is_request_id(request_id) and request_id in self._dropped:
                del self._dropped[request_id]
                _log.debug("dropping the late reply to abandoned request %r", request_id)
            else:
                self._violation(RemoteProtocolError(
                    f"a reply for unknown request id {request_id!r}"))
        return pending

    def _on_reply(self, request_id: Any, message: Mapping[str, Any]) -> None:
        # §2.6 step 2: a reply to the pending call with that id.
        pending = self._take_replied(request_id)
        if pending is None:
            return
        # The session the request ran in: what we sent (3.x echoes it, §2.5; 2.x does not).
        session = pending.session
        if session is None and "session" in message:
            session = _as_uuid(message["session"])
        if "error" in message:
            self._fail(pending, server_error_from_wire(message["error"]), session)
        elif "result" in message:
            self._succeed(pending, message["result"], session)
        else:
            self._fail(pending, RemoteProtocolError(
                f"the reply to request {request_id!r} has neither result nor error"), session)

    def _succeed(self, pending: _Pending, result: Any, session: UUID | None) -> None:
        self._emit(ResponseReceived(request_id=pending.request_id, method=pending.method,
                                    result=result, session=session, params=pending.params))
        self._after_success(pending, result)

    def _fail(self, pending: _Pending, error: SurrealError, session: UUID | None) -> None:
        if isinstance(error, ServerError):
            self._emit(ErrorReceived(request_id=pending.request_id, method=pending.method,
                                     error=error, session=session, params=pending.params))
        else:
            self._emit(RequestFailed(request_id=pending.request_id, method=pending.method,
                                     error=error))

    def _after_success(self, pending: _Pending, result: Any) -> None:
        method = pending.method
        if method == "live":
            live_id = _as_uuid(result)
            if live_id is not None:
                self._register_live(live_id, pending.session)
        elif method == "query" and (type(result) is list or (
                isinstance(result, Sequence) and not isinstance(result, str))):
            # 3.x statement results carry type "live" for LIVE SELECT (§6.5, §8.1). (Exact
            # type tests first: decoded results are lists of dicts, and ABC checks are slow.)
            for statement in result:
                if ((type(statement) is dict or isinstance(statement, Mapping))
                        and statement.get("type") == "live" and statement.get("status") == "OK"):
                    live_id = _as_uuid(statement.get("result"))
                    if live_id is not None:
                        self._register_live(live_id, pending.session)
        elif method == "kill":
            # Our own successful kill ends the stream; KILLED may never arrive (§8.2).
            live_id = _as_uuid(pending.params[0]) if pending.params else None
            if live_id is not None:
                self._end_live(live_id, "kill")
        elif method == "reset" or (method == "detach" and pending.session is not None):
            # reset and detach kill the session's live queries (§4.4, §8.1, §9.1).
            for live_id, owner in list(self._live.items()):
                if owner == pending.session:
                    self._end_live(live_id, method)
        elif method == "version":
            self._server_version = ServerVersion.parse_or_none(result) or self._server_version

    def _on_idless(self, message: Mapping[str, Any], now: float) -> None:
        body = message.get("result")
        if isinstance(body, Mapping) and "id" in body and "action" in body:
            # §2.6 step 3: a live notification (§8.2).
            live_id = _as_uuid(body["id"])
            action = body["action"]
            if live_id is None or not isinstance(action, str):
                self._violation(RemoteProtocolError(
                    f"a live notification with a malformed id or action: {live_id!r},"
                    f" {action!r}"))
                return
            note = LiveNotificationReceived(live_id=live_id, action=action,
                                            record=body.get("record"),
                                            result=body.get("result"),
                                            session=_as_uuid(message.get("session")))
            self._route(note, now)
        elif "error" in message:
            # §2.6 step 4: the server could not parse some request; no call to tie it to.
            error = server_error_from_wire(message["error"])
            violation = RemoteProtocolError(
                f"the server reported an error for no request: {error.message}")
            violation.__cause__ = error
            self._violation(violation)
        else:
            # §2.6 step 5: a reply to an id-less request (we send none). Ignore it.
            _log.debug("ignoring an id-less reply")

    # ------------------------------------------------------------------ live queries

    def register_live_query(self, live_id: UUID, session: UUID | None = None, *,
                            now: float) -> None:
        """Declare a live query the layer could not learn by itself (2.x ``LIVE SELECT``
        through ``query``, whose results carry no ``type``; a re-keyed query after a
        reconnect). Buffered notifications for it are emitted now, in order."""
        self._expire_buffer(now)
        self._register_live(live_id, session)

    def _register_live(self, live_id: UUID, session: UUID | None) -> None:
        self._live[live_id] = session
        held = [note for _, note in self._buffer if note.live_id == live_id]
        if held:
            self._buffer = deque(e for e in self._buffer if e[1].live_id != live_id)
            for note in held:
                self._deliver(note)

    def _route(self, note: LiveNotificationReceived, now: float) -> None:
        if note.live_id in self._live:
            self._deliver(note)
        elif note.live_id in self._ended:
            _log.debug("dropping a notification for ended live query %s", note.live_id)
        else:
            # §8.3: it may have overtaken the reply that names it; hold it for a while.
            if len(self._buffer) >= self._live_buffer_size:
                _, dropped = self._buffer.popleft()
                _log.warning("live notification buffer full; dropped one for %s",
                             dropped.live_id)
            self._buffer.append((now + self._live_buffer_ttl, note))

    def _deliver(self, note: LiveNotificationReceived) -> None:
        if note.action == "KILLED":
            self._end_live(note.live_id, "killed")
        else:
            self._emit(note)

    def _end_live(self, live_id: UUID, reason: str) -> None:
        self._ended[live_id] = None
        if len(self._ended) > self._dropped_memory:
            self._ended.popitem(last=False)
        if self._buffer:
            self._buffer = deque(e for e in self._buffer if e[1].live_id != live_id)
        if live_id in self._live:
            del self._live[live_id]
            self._emit(LiveQueryEnded(live_id=live_id, reason=reason))

    def _expire_buffer(self, now: float) -> None:
        while self._buffer and self._buffer[0][0] <= now:
            _, note = self._buffer.popleft()
            _log.warning("dropped a live notification for unknown live query %s", note.live_id)

