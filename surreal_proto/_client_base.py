"""The lower half of the client engine: call records, dispatch onto links, and replies.

:class:`_EngineBase` holds the engine's state (see ``ClientEngine`` in :mod:`._client` for
the public interface and the adapter loop) and does the per-call work:

* every call, the user's and the engine's own (setup steps, re-authentication, the version
  probe), is a :class:`_Rec` in ``_calls`` with one deadline in a heap;
* ``_queue`` holds user calls waiting for the connection to be ready; ``_urgent`` holds the
  engine's own calls and the ``prepare`` callable's (``setup=True``), which go out first and
  also during setup;
* ``_dispatch`` puts a record on a link (resolving ``kill`` ids, pseudo-methods, HTTP
  renewal); ``_drain`` feeds the links' events back until nothing moves;
* a reply becomes ``CallSucceeded``/``CallFailed``, after the session tracker learnt from it
  and decided about expiry errors (``protocol.md`` §7.8: re-authenticate and retry once).

Invariant: a record leaves ``_calls`` exactly once, through ``_fail``, ``_complete`` or an
internal owner callback, or silently when the caller cancelled it.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from ._calls import EXPORT, IMPORT, Call
from ._client_events import (
    CallFailed,
    CallId,
    CallSucceeded,
    CancelHttpRequest,
    ClientEvent,
    ClientState,
    NotificationsQueued,
    ReconnectPolicy,
    StateChanged,
    SubscriptionEnded,
)
from ._client_links import Link, LinkRole, LinkSettings
from ._errors import (
    ConnectionClosedError,
    SurrealError,
    SurrealTimeoutError,
)
from ._events import (
    Connected,
    ConnectionClosed,
    ErrorReceived,
    LiveNotificationReceived,
    LiveQueryEnded,
    ProtocolViolation,
    RequestFailed,
    RequestTimedOut,
    ResponseReceived,
)
from ._expiry import AUTH_METHODS, RecoveryAction
from ._http_base import BaseHttpConnection
from ._http_connection import HttpConnection, HttpContext
from ._http_requests import HttpRequestConnection
from ._log import LazyLogger
from ._replay import PlannedCall
from ._session import SessionTracker
from ._subscriptions import LiveNotification, Subscription, SubscriptionTable
from ._url import Endpoint
from ._version import ServerVersion
from ._ws import WebSocketConnection

__all__ = ["PUBLIC_NAMES", "Owner", "_EngineBase", "_Rec"]

_log: Final = LazyLogger("surreal_proto.client")

#: Auth successes after which the session expiry is learnt (``protocol.md`` §7.8 step 2).
_AUTH_SUCCESS: Final = frozenset({"signin", "signup", "authenticate", "refresh"})

#: Finds a query that may start a live query (``LIVE SELECT``): its subscriptions are made
#: at once (case-insensitive search, no upper-cased copy of the text).
_LIVE: Final = re.compile("live", re.IGNORECASE)

#: Pseudo-methods as the user knows them.
PUBLIC_NAMES: Final = {IMPORT: "import_", EXPORT: "export", "/health": "health"}
#: Closed links whose last bytes the adapter has not taken yet (it should, at CloseLink).
_FINAL_OUT_MEMORY: Final = 16

#: Completion callback of an engine-owned call: ``(record, result, error, now)``; exactly
#: one of ``result`` (on success) or ``error`` is meaningful.
Owner = Callable[["_Rec", Any, "SurrealError | None", float], None]


class _Rec:
    """One call in flight through the engine (a user call or one of the engine's own)."""

    __slots__ = ("call", "call_id", "deadline", "link_id", "method", "name", "owner", "params",
                 "request_id", "retried", "session", "setup", "timeout", "txn")

    def __init__(self, call_id: CallId, call: Call, session: UUID | None,
                 timeout: float | None, deadline: float | None, owner: Owner | None,
                 setup: bool) -> None:
        self.call_id = call_id
        self.call = call
        #: The public method's name, for messages (a transaction rewrites ``update`` into
        #: ``query``; ``health`` becomes ``ping``).
        self.name = PUBLIC_NAMES.get(call.method, call.method)
        self.method = call.method
        self.params = call.params
        self.txn = call.txn
        self.session = session
        self.timeout = timeout
        self.deadline = deadline
        #: ``None`` for a user call; else the engine's completion callback.
        self.owner = owner
        #: A ``prepare`` call (goes out during setup).
        self.setup = setup
        #: Already retried once after re-authentication (``protocol.md`` §7.8).
        self.retried = False
        self.link_id: int | None = None
        self.request_id: Any = None


class _EngineBase:
    """State and per-call machinery of the client engine (see the module docstring)."""

    def __init__(self, endpoint: Endpoint, *, settings: LinkSettings,
                 namespace: str | None, database: str | None,
                 auth: str | dict[str, Any] | None, auth_provider: bool, has_prepare: bool,
                 timeout: float | None, connect_timeout: float | None,
                 policy: ReconnectPolicy | None, live_queue_size: int, http_pool_size: int,
                 learn_session_expiry: bool, wall_clock_offset: float,
                 rng: Callable[[], float], session_id_factory: Callable[[], UUID]) -> None:
        self._endpoint = endpoint
        self._transport = endpoint.transport
        self._settings = settings
        self._namespace = namespace
        self._database = database
        self._auth = auth
        self._auth_provider = auth_provider
        self._has_prepare = has_prepare
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._policy = policy if self._transport == "ws" else None
        self._pool_size = http_pool_size
        self._learn_expiry = learn_session_expiry and self._transport != "http"
        self._offset = wall_clock_offset
        self._rng = rng
        self._session_ids = session_id_factory
        self._state = ClientState.IDLE
        self._events: list[ClientEvent] = []
        self._ids = itertools.count(1)
        self._calls: dict[CallId, _Rec] = {}
        self._deadlines: list[tuple[float, CallId]] = []
        self._queue: deque[_Rec] = deque()
        self._urgent: deque[_Rec] = deque()
        self._links: dict[int, Link] = {}
        self._main: Link | None = None
        self._final_out: dict[int, bytes] = {}
        self._subs = SubscriptionTable(live_queue_size)
        self._close_waiters: list[CallId] = []
        self._warned = False
        self._tracker = self._new_tracker()
        self._context = HttpContext(headers=settings.headers)
        self._server_version: ServerVersion | None = None

    if TYPE_CHECKING:
        # Provided by the setup layer (_client_setup._SetupEngine).
        def _link_ready(self, link: Link, now: float) -> None: ...
        def _on_link_closed(self, link: Link, event: ConnectionClosed, now: float) -> None: ...
        def _start_chain(self, step: PlannedCall, now: float, *,
                         waiters: Iterable[tuple[_Rec, SurrealError | None]] = (),
                         on_finish: Callable[[Any, SurrealError | None, float], None]
                         | None = None) -> None: ...
        def _after_auth(self, session: UUID | None, now: float) -> None: ...
        def _open_aux(self, rec: _Rec, now: float) -> None: ...
        def _retire(self, link: Link, now: float) -> None: ...
        def _open_link(self, role: LinkRole, now: float) -> Link: ...

    def _new_tracker(self) -> SessionTracker:
        return SessionTracker(namespace=self._namespace, database=self._database,
                              auth=self._auth, auth_provider=self._auth_provider,
                              http=self._transport == "http")

    # ------------------------------------------------------------------ small helpers

    def _emit(self, event: ClientEvent) -> None:
        self._events.append(event)

    def _set_state(self, new: ClientState) -> None:
        old = self._state
        if new is not old:
            _log.debug("client state %s -> %s", old.name, new.name)
            self._state = new
            self._emit(StateChanged(old=old, new=new))

    def _wall(self, now: float) -> float:
        # The session tracker works in Unix time (JWT ``exp``, ``$session.exp``).
        return now + self._offset

    # ------------------------------------------------------------------ records

    def _new_rec(self, call: Call, session: UUID | None, timeout: float | None, now: float,
                 owner: Owner | None = None, setup: bool = False) -> _Rec:
        call_id = next(self._ids)
        deadline = None if timeout is None else now + timeout
        rec = _Rec(call_id, call, session, timeout, deadline, owner, setup)
        self._calls[call_id] = rec
        if deadline is not None:
            heapq.heappush(self._deadlines, (deadline, call_id))
        return rec

    def _internal(self, method: str, params: Iterable[Any], session: UUID | None,
                  owner: Owner, now: float) -> None:
        call = Call(method=method, params=tuple(params))
        self._urgent.append(self._new_rec(call, session, self._timeout, now, owner))

    def _requeue(self, recs: Iterable[_Rec]) -> None:
        # Back to the front of the queue, in their original order.
        for rec in reversed(list(recs)):
            rec.link_id = rec.request_id = None
            self._queue.appendleft(rec)

    def _detach_rec(self, rec: _Rec, now: float) -> None:
        # Take a record off whatever holds it (a link, a queue), abandoning its request.
        link = self._links.get(rec.link_id) if rec.link_id is not None else None
        if link is not None:
            link.requests.pop(rec.request_id, None)
            conn = link.conn
            if isinstance(conn, HttpRequestConnection):
                in_flight = conn.in_flight
                conn.abandon(rec.request_id)
                if conn.in_flight < in_flight:  # handed out: the adapter may cancel it
                    self._emit(CancelHttpRequest(link_id=link.link_id,
                                                 request_id=rec.request_id))
            elif conn is not None:
                conn.abandon(rec.request_id)
            if link.role is LinkRole.AUX:
                self._retire(link, now)
        elif rec in self._queue:
            self._queue.remove(rec)
        elif rec in self._urgent:
            self._urgent.remove(rec)

    # ------------------------------------------------------------------ outcomes

    def _complete(self, rec: _Rec, raw: Any) -> None:
        self._calls.pop(rec.call_id, None)
        try:
            value = rec.call.shape(raw)
        except SurrealError as error:
            self._failed(rec, error)
        else:
            self._events.append(CallSucceeded(call_id=rec.call_id, value=value))

    def _fail(self, rec: _Rec, error: SurrealError, now: float) -> None:
        self._calls.pop(rec.call_id, None)
        if rec.owner is not None:
            rec.owner(rec, None, error, now)
        else:
            self._failed(rec, error)

    def _failed(self, rec: _Rec, error: SurrealError) -> None:
        fallback = rec.call.fallback
        if fallback is not None:
            try:
                value = fallback(error)
            except SurrealError as final:
                error = final
            else:
                self._emit(CallSucceeded(call_id=rec.call_id, value=value))
                return
        self._emit(CallFailed(call_id=rec.call_id, error=error))

    def _fail_all(self, make_error: Callable[[], SurrealError], now: float) -> None:
        """Fail every user call with a fresh error each; forget the engine's own calls and
        everything waiting on a setup step."""
        recs = list(self._calls.values())
        self._calls.clear()
        self._queue.clear()
        self._urgent.clear()
        for link in list(self._links.values()):
            link.requests.clear()
            if link.role is LinkRole.AUX:
                self._retire(link, now)  # its call fails here: the link has no more use
        for rec in recs:
            if rec.owner is None:
                self._failed(rec, make_error())

    def _expire_calls(self, now: float) -> None:
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            _, call_id = heapq.heappop(heap)
            rec = self._calls.get(call_id)
            if rec is None:
                continue
            self._detach_rec(rec, now)
            error = SurrealTimeoutError(
                f"{rec.name}() did not complete within {rec.timeout:g} s; the request was "
                "abandoned (a write may still have run on the server)")
            self._fail(rec, error, now)

    def _next_call_deadline(self) -> float | None:
        heap = self._deadlines
        while heap and heap[0][1] not in self._calls:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # ------------------------------------------------------------------ dispatch

    def _pump(self, now: float) -> None:
        if self._transport == "http":
            self._pump_http(now)
            return
        link = self._main
        if link is None or not link.ready:
            return
        urgent = self._urgent
        while urgent:
            self._dispatch(link, urgent.popleft(), now)
        if self._state is ClientState.OPEN:
            queue = self._queue
            while queue:
                self._dispatch(link, queue.popleft(), now)

    def _pump_http(self, now: float) -> None:
        while True:
            if self._urgent:
                queue = self._urgent
            elif self._queue and self._state is ClientState.OPEN:
                queue = self._queue
            else:
                return
            if queue[0].call.local:
                rec = queue.popleft()
                self._complete(rec, None)
                continue
            link = next((ln for ln in self._links.values()
                         if ln.role is LinkRole.POOL and ln.idle), None)
            if link is None:
                self._grow_pool(now)
                return
            self._dispatch(link, queue.popleft(), now)

    def _grow_pool(self, now: float) -> None:
        # Only reached with calls to send, so OPEN or SETTING_UP: while CONNECTING nothing is
        # sendable and the first link alone is opening.
        pool = [ln for ln in self._links.values() if ln.role is LinkRole.POOL]
        opening = sum(1 for ln in pool if not ln.ready)
        waiting = len(self._urgent) + (len(self._queue) if self._state is ClientState.OPEN
                                       else 0)
        for _ in range(min(self._pool_size - len(pool), waiting - opening)):
            self._open_link(LinkRole.POOL, now)

    def _dispatch(self, link: Link, rec: _Rec, now: float) -> None:
        method = rec.method
        if rec.call.local:
            self._complete(rec, None)
            return
        conn = link.conn
        assert conn is not None
        try:
            if method in (IMPORT, EXPORT, "/health"):
                if not isinstance(conn, BaseHttpConnection):
                    self._open_aux(rec, now)
                    return
                request_id = self._send_endpoint(conn, rec, now)
            else:
                if (rec.owner is None and self._transport == "http"
                        and method not in AUTH_METHODS):
                    step = self._tracker.http_renewal_needed(self._wall(now),
                                                             session=rec.session)
                    if step is not None:
                        # protocol.md §7.8 item 4: renew ahead of the token's exp first.
                        self._start_chain(step, now, waiters=[(rec, None)])
                        return
                if method == "kill":
                    rec.params = self._current_kill_params(rec.params)
                request_id = conn.send_request(method, rec.params, session=rec.session,
                                               txn=rec.txn, timeout=None, now=now)
        except SurrealError as error:
            self._fail(rec, error, now)
            return
        rec.link_id = link.link_id
        rec.request_id = request_id
        link.requests[request_id] = rec

    @staticmethod
    def _send_endpoint(conn: BaseHttpConnection, rec: _Rec, now: float) -> Any:
        if rec.method == IMPORT:
            return conn.send_import(rec.params[0], timeout=None, now=now)
        if rec.method == EXPORT:
            return conn.send_export(rec.params[0], timeout=None, now=now)
        return conn.send_health(timeout=None, now=now)

    def _current_kill_params(self, params: tuple[Any, ...]) -> tuple[Any, ...]:
        # The user may hold the id live() returned before a reconnect (protocol.md §8.3).
        sub = self._subs.find(params[0])
        if sub is None or sub.ended:
            return params
        return (sub.current_live_id, *params[1:])

    # ------------------------------------------------------------------ link events

    def _drain(self, now: float) -> None:
        """Move queued calls onto links and process the links' events until nothing moves."""
        handlers = self._handlers
        while True:
            if self._urgent or self._queue:
                self._pump(now)
            busy = False
            for link in list(self._links.values()):
                conn = link.conn
                if conn is None:
                    continue
                events = conn.events()
                if events:
                    busy = True
                    for event in events:
                        handlers[type(event)](self, link, event, now)
            if not busy:
                return

    def _on_response(self, link: Link, event: ResponseReceived, now: float) -> None:
        rec = link.requests.pop(event.request_id, None)
        if rec is not None:  # else: the caller gave up, or the client closed meanwhile
            self._deliver(rec, event.result, now)
            if link.role is LinkRole.AUX:
                self._retire(link, now)

    def _on_error_reply(self, link: Link, event: ErrorReceived, now: float) -> None:
        rec = link.requests.pop(event.request_id, None)
        if rec is not None:
            self._reject(rec, event.error, now)
            if link.role is LinkRole.AUX:
                self._retire(link, now)

    def _on_request_failed(self, link: Link, event: RequestFailed, now: float) -> None:
        # A lost connection fails every request before ConnectionClosed, which handles them
        # (retry or not); anything else failed this one request (a malformed reply, or an
        # httpx exchange: there the adapter's exception can be any error, and no
        # ConnectionClosed follows).
        if link.transport == "httpx" or not isinstance(event.error, ConnectionClosedError):
            rec = link.requests.pop(event.request_id, None)
            if rec is not None:
                self._fail(rec, event.error, now)

    def _on_live_ended(self, link: Link, event: LiveQueryEnded, now: float) -> None:
        if event.reason != "closed":  # the connection's end is handled with the link's
            self._end_live(event.live_id, event.reason)

    def _on_violation(self, link: Link, event: ProtocolViolation, now: float) -> None:
        self._emit(event)

    def _on_connected(self, link: Link, event: Connected, now: float) -> None:
        link.ready = True
        link.connect_deadline = None
        self._link_ready(link, now)

    _handlers: Final[dict[type[Any], Callable[[Any, Link, Any, float], None]]] = {
        ResponseReceived: _on_response,
        ErrorReceived: _on_error_reply,
        RequestFailed: _on_request_failed,
        LiveNotificationReceived: lambda self, link, event, now: self._on_notification(event),
        LiveQueryEnded: _on_live_ended,
        ProtocolViolation: _on_violation,
        Connected: _on_connected,
        ConnectionClosed: lambda self, link, event, now: self._on_link_closed(link, event, now),
        # Never emitted: requests go out without a connection deadline (the engine keeps
        # the deadlines, _expire_calls).
        RequestTimedOut: lambda self, link, event, now: None,
    }

    def _drop_link(self, link: Link) -> None:
        # Forget a link; keep its last bytes (a Close frame) for data_to_send().
        self._links.pop(link.link_id, None)
        conn = link.conn
        if isinstance(conn, WebSocketConnection | HttpConnection):
            data = conn.data_to_send()
            if data:
                final = self._final_out
                final[link.link_id] = data
                if len(final) > _FINAL_OUT_MEMORY:
                    del final[next(iter(final))]

    # ------------------------------------------------------------------ replies

    def _deliver(self, rec: _Rec, raw: Any, now: float) -> None:
        if rec.owner is not None:
            self._calls.pop(rec.call_id, None)
            rec.owner(rec, raw, None, now)
            return
        method = rec.method
        ended = self._tracker.on_success(method, rec.params, rec.session, raw, now + self._offset)
        for live_id in ended.live_queries:
            self._end_live(live_id, method if method in ("detach", "reset") else "kill")
        if self._transport == "ws" and (
                method == "live" or (method == "query" and _LIVE.search(rec.params[0]))):
            self._sync_subs(rec.session, now)
        elif method in _AUTH_SUCCESS:
            self._after_auth(rec.session, now)
        elif method == "version":
            self._learn_version(raw)
        self._complete(rec, raw)

    def _learn_version(self, raw: Any) -> None:
        self._server_version = ServerVersion.parse_or_none(raw) or self._server_version

    def _reject(self, rec: _Rec, error: SurrealError, now: float) -> None:
        if rec.owner is not None:
            self._fail(rec, error, now)
            return
        decision = self._tracker.on_error(error, rec.method, rec.params, rec.session,
                                          self._wall(now), retried=rec.retried)
        if decision.action is RecoveryAction.RAISE:
            self._fail(rec, decision.error, now)
        elif decision.action is RecoveryAction.REAUTH_AND_RETRY:
            assert decision.reauth is not None
            self._start_chain(decision.reauth, now, waiters=[(rec, decision.error)])
        else:
            # WAIT_AND_RETRY: the tracker says a re-authentication of this session runs; every
            # one the tracker starts runs as a chain here, so it exists.
            self._chains[decision.session].waiters.append((rec, decision.error))

    if TYPE_CHECKING:
        _chains: dict[UUID | None, Any]

    # ------------------------------------------------------------------ subscriptions

    def _sync_subs(self, session: UUID | None, now: float) -> None:
        # A live() or LIVE SELECT succeeded: give each new live query its subscription now,
        # so its id keeps working after a reconnect re-keys it (protocol.md §8.3).
        conn = self._main.conn if self._main is not None else None
        for live_id, spec in self._tracker.live_queries.items():
            if spec.session == session and self._subs.find(live_id) is None:
                self._subs.create(live_id, session)
                if isinstance(conn, WebSocketConnection) and live_id not in conn.live_queries:
                    # 2.x LIVE SELECT through query: the reply does not say it is one.
                    conn.register_live_query(live_id, session, now=now)

    def _on_notification(self, event: LiveNotificationReceived) -> None:
        sub = self._subs.current(event.live_id)
        if sub is None:
            _log.debug("dropping a notification for an ended subscription")
            return
        note = LiveNotification(sub.live_id, event.action, event.record, event.result)
        if sub.push(note):
            self._emit(NotificationsQueued(sub_id=sub.sub_id))

    def _end_sub(self, sub: Subscription, reason: str) -> None:
        # sub is active (found through the table); its live query is forgotten everywhere.
        self._subs.end(sub, reason)
        self._tracker.drop_live(sub.current_live_id)
        self._emit(SubscriptionEnded(sub_id=sub.sub_id, reason=reason))

    def _end_live(self, live_id: UUID, reason: str) -> None:
        sub = self._subs.current(live_id)
        if sub is not None:  # else: already ended
            self._end_sub(sub, reason)

    def _end_all_subs(self, reason: str) -> None:
        for sub in self._subs:
            self._end_sub(sub, reason)

    def _closed_error(self, cause: SurrealError | None) -> SurrealError:
        error = ConnectionClosedError("the connection was lost before the reply arrived")
        error.__cause__ = cause
        return error
