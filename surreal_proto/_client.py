"""The client engine: the pure state machine behind one ``Surreal(url, **options)`` object.

:class:`ClientEngine` is what the three adapters (``surreal_sync``, ``surreal_asyncio``,
``surreal_trio``) drive, identically. It owns the transport connections (a WebSocket, a small
HTTP keep-alive pool, one link for the caller's ``httpx`` client, or the embedded engine; plus
short-lived HTTP links for ``import_``/``export`` on a ``ws(s)`` URL), the session tracker,
live-query subscriptions, deadlines, connection setup, re-authentication and reconnect. The
adapter opens sockets (or runs its HTTP client), moves bytes, reads its clock, waits, and calls
the user's callables. Nothing else.

The adapter loop (``docs/sansio.md`` has the long version)::

    engine = ClientEngine(url, namespace=..., auth=..., has_prepare=..., rng=random.random,
                          wall_clock_offset=time.time() - time.monotonic())
    # everything below runs under ONE lock (the engine is not thread-safe), with now = the
    # adapter's monotonic clock, and ends with flush():

    call_id = engine.start(calls.select("person"), now=now)   # any user method
    ... wait for CallSucceeded/CallFailed with that call_id ...
    engine.cancel(call_id, now=now)                            # the waiter was cancelled

    def flush():
        for link_id, stream in open_streams.items():           # 1. bytes out
            if data := engine.data_to_send(link_id): stream.write(data)
        for link_id, db in open_engines.items():               #    embedded: run requests
            for msg in engine.messages_to_send(link_id):
                execute msg.data in db (a worker thread for async adapters), then
                engine.receive_message(link_id, reply, now=now, request_id=msg.request_id)
                or engine.receive_failure(link_id, msg.request_id, exc, now=now)
        for link_id, base_url in httpx_links.items():          #    httpx: a task per request
            for request_id, req in engine.http_requests_to_send(link_id):
                start a task/thread, keyed (link_id, request_id), that runs outside the lock
                r = client.request(req.method, base_url + req.target,
                                   headers=list(req.headers), content=req.body)
                then, under the lock: engine.receive_http_response(link_id, request_id,
                r.status_code, r.headers, r.content, now=now), or if it raised,
                engine.receive_http_failure(link_id, request_id, exc, now=now); flush()
        for event in engine.events():                          # 2. then events
            OpenLink(link_id, transport, host, port, tls, server_hostname, embedded_url,
                     base_url):
                connect (TCP [+TLS with the ssl option] / embedded engine); then
                engine.link_opened(link_id, now=now) and start a reader that calls
                engine.receive_data(link_id, data, now=now) and, at end of stream,
                engine.receive_eof(link_id, now=now); on any failure (connect or read):
                engine.link_failed(link_id, exc, now=now). (connect_timeout is the
                engine's: it sends CloseLink when it passes.) Transport "httpx": no I/O,
                httpx_links[link_id] = base_url, then engine.link_opened(link_id, now=now)
            CloseLink(link_id): write data_to_send(link_id) one last time, close the
                socket (or db.close()), stop its reader (close later if still opening);
                httpx: cancel its tasks (the client itself stays open: it is the user's)
            CancelHttpRequest(link_id, request_id): cancel that task (its late outcome would
                be dropped anyway)
            CallSucceeded(call_id, value) / CallFailed(call_id, error): resolve the waiter
            ProviderNeeded(ticket, session): answer = auth_provider() outside the lock,
                then engine.provide_auth(ticket, answer, now=now) or
                engine.provider_failed(ticket, exc, now=now)
            PrepareNeeded(ticket): run prepare(client) outside the lock; every call it makes
                is started with setup=True; then engine.prepare_done(ticket, now=now) or
                engine.prepare_failed(ticket, exc, now=now)
            NotificationsQueued(sub_id) / SubscriptionEnded(sub_id, reason): wake the
                iterator of that Subscription (it takes items with sub.take() under the lock)
            StateChanged, ProtocolViolation, InsecureTransportDetected, ReconnectScheduled,
            AuthenticationLost, SessionRestoreFailed: log / forward to a user callback
        re-arm the timer at engine.next_deadline() (None: no timer)
    # the timer: engine.handle_timeout(now); flush()

``connect(now=)`` and ``close(now=)`` also return a call id, completed (``CallSucceeded`` with
``None``) when the connection is ready / when every link has closed. Outcomes carry only
API.md §7 errors, a fresh instance per call.

Decisions:

* **Lazy connect, one connection.** The first call (or ``connect``) opens the one link;
  calls made while connecting, setting up or reconnecting are queued.
* **Deadlines belong to calls.** ``timeout`` (default 30 s) runs from ``start`` through
  connecting, setup, re-authentication and reconnect waits; at the deadline the call fails
  with ``SurrealTimeoutError`` and its request is abandoned (a late reply is dropped).
* **Setup order** (API.md §3): ``auth`` (token → ``authenticate``, credentials →
  ``signin``, provider → ``ProviderNeeded``), ``namespace``/``database`` (``use``),
  ``prepare`` (``PrepareNeeded``), then queued calls. A failure there fails every waiting
  call with that error and leaves the client ``IDLE``.
* **HTTP pool**: up to ``http_pool_size`` (default 4) keep-alive connections sharing one
  client-side context; one exchange at a time per connection; a new one is opened only when
  every open one is busy.
* **``http_client=True``** (``http(s)`` URLs only): ONE ``httpx`` link
  (:class:`~surreal_proto._http_requests.HttpRequestConnection`, the same client-side
  session as the pool) carries every call, ``import_``/``export``/``health`` included, any
  number at once; the HTTP client pools connections, and the adapter bounds reply bodies by
  ``max_message_size``. Opening the link needs no I/O, so ``connect`` waits for the
  ``version`` probe, and fails if it could not reach SurrealDB. A failed exchange fails its
  call only (connection, timeout, TLS or ``OutcomeUnknownError``, as
  :func:`~surreal_proto._http_requests.transport_error` maps it; never re-sent); the link
  stays up until ``close()``.
* **Reconnect** (WebSocket; ``reconnect=True`` by default): backoff with jitter, then the
  session is replayed (sessions, auth, ``use``, ``let``, ``prepare``, live queries); calls
  that were in flight are sent again only if they cannot change data, the others fail with
  ``OutcomeUnknownError``; past the policy every waiting call fails with
  ``ReconnectFailedError``. Without reconnect, a dropped link fails every waiting call with
  ``ConnectionClosedError`` and the next call connects afresh.
* **Live queries** go to bounded per-subscription queues, oldest dropped when full
  (:mod:`._subscriptions`); a ``RECONNECTED`` marker shows each reconnect gap.
* **Times**: ``now`` is the adapter's monotonic clock. The session tracker reasons in Unix
  time (JWT ``exp``), so the engine adds ``wall_clock_offset`` for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Final
from uuid import UUID

from . import _methods as m
from ._calls import EXPORT, HEALTH, IMPORT, Call, attach, connect, in_transaction
from ._client_base import PUBLIC_NAMES
from ._client_events import (
    DEFAULT_RECONNECT,
    CallId,
    CallSucceeded,
    ClientEvent,
    ClientState,
    CloseLink,
    ReconnectPolicy,
)
from ._client_links import LinkRole, LinkSettings, connect_error
from ._client_setup import _SetupEngine
from ._embedded import EmbeddedConnection, EmbeddedMessage
from ._errors import (
    ConnectionClosedError,
    LocalProtocolError,
    UnsupportedFeatureError,
)
from ._events import RequestId
from ._http import HeaderPairs, HttpRequest
from ._http_connection import HttpConnection
from ._http_requests import HttpRequestConnection
from ._rpc import DEFAULT_TIMEOUT, Timeout
from ._subscriptions import Subscription
from ._url import parse_url
from ._version import RESTRICTED_METHODS, ServerVersion, check_supported
from ._ws import DEFAULT_MAX_MESSAGE_SIZE, WebSocketConnection

__all__ = ["DEFAULT_HTTP_POOL_SIZE", "DEFAULT_LIVE_QUEUE_SIZE", "ClientEngine"]

#: Keep-alive HTTP connections per client (``http(s)://`` URLs).
DEFAULT_HTTP_POOL_SIZE = 4
#: Notifications each live-query subscription holds before dropping the oldest.
DEFAULT_LIVE_QUEUE_SIZE = 1024


#: Methods :meth:`ClientEngine.start` checks or rewrites (``_resolve``); any other call
#: without a session, a transaction or remembered tokens goes as it is.
_RESOLVED: Final = RESTRICTED_METHODS | {HEALTH, IMPORT, EXPORT}


def _half() -> float:
    return 0.5


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
             ) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), str(v)) for k, v in pairs)


class ClientEngine(_SetupEngine):
    """The state machine of one client object (see the module docstring for the loop).

    Args:
        url: ``ws(s)://``, ``http(s)://``, ``mem://``, ``memory``, ``surrealkv://PATH``,
            ``file://PATH`` (API.md §2).
        namespace, database: selected after every connect and reconnect.
        auth: a token (``authenticate``) or a credentials mapping (``signin``) applied after
            every connect; or ``None``.
        auth_provider: the adapter holds a credentials provider callable (``auth=`` a
            callable): it is asked through ``ProviderNeeded``. Exclusive with ``auth``.
        has_prepare: the adapter holds a ``prepare`` callable (``PrepareNeeded``).
        timeout: default deadline of every call in seconds; ``None`` = none.
        connect_timeout: deadline of TCP + TLS + handshake of each link; ``None`` = none.
        headers: extra headers for the WebSocket upgrade and every HTTP request.
        max_message_size: largest incoming message (WebSocket) or response body (HTTP; with
            ``http_client``, the adapter bounds the body).
        reconnect: ``True`` (default policy), ``False``, or a :class:`ReconnectPolicy`.
            WebSocket only.
        keepalive_interval, keepalive_timeout: WebSocket ping after this much silence, and
            how long to wait for any sign of life; ``None`` interval disables it.
        close_timeout: how long ``close()`` waits for the server's WebSocket Close.
        live_queue_size: bound of each subscription's queue.
        http_pool_size: keep-alive connections for ``http(s)://`` (ignored with
            ``http_client``).
        http_client: the adapter carries ``http(s)://`` calls with its own HTTP client
            (``httpx``; API.md §3): one ``httpx`` link instead of the socket pool.
        learn_session_expiry: after each authentication, ask the session's expiry
            (``RETURN $session.exp``) to renew it before it runs out (WebSocket, embedded).
        wall_clock_offset: add to ``now`` to get Unix time (``time.time() -
            time.monotonic()``).
        rng: returns a float in ``[0, 1)`` for reconnect jitter (``random.random``);
            default: always 0.5 (no jitter).
        session_id_factory: makes the UUIDs of new sessions (default ``uuid.uuid4``).

    Raises:
        UnsupportedEngineError: the URL cannot be used.
        UnsupportedFeatureError: ``http_client`` with a URL that is not ``http(s)://``.
        LocalProtocolError: bad ``auth`` credentials, ``auth`` with ``auth_provider``, bad
            headers or options.
    """

    def __init__(self, url: str, *, namespace: str | None = None,
                 database: str | None = None, auth: str | Mapping[str, Any] | None = None,
                 auth_provider: bool = False, has_prepare: bool = False,
                 timeout: float | None = 30.0, connect_timeout: float | None = 10.0,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
                 reconnect: bool | ReconnectPolicy = True,
                 keepalive_interval: float | None = 30.0, keepalive_timeout: float = 20.0,
                 close_timeout: float = 5.0, live_queue_size: int = DEFAULT_LIVE_QUEUE_SIZE,
                 http_pool_size: int = DEFAULT_HTTP_POOL_SIZE, http_client: bool = False,
                 learn_session_expiry: bool = True, wall_clock_offset: float = 0.0,
                 rng: Callable[[], float] | None = None,
                 session_id_factory: Callable[[], UUID] | None = None) -> None:
        endpoint = parse_url(url)
        if live_queue_size < 1 or http_pool_size < 1:
            raise LocalProtocolError("live_queue_size and http_pool_size must be at least 1")
        if http_client and endpoint.transport != "http":
            raise UnsupportedFeatureError(
                f"http_client carries only http:// and https:// URLs, not {endpoint.scheme}://; "
                "use an http(s) URL, or drop http_client")
        policy = (DEFAULT_RECONNECT if reconnect is True else None if reconnect is False
                  else reconnect)
        settings = LinkSettings(endpoint=endpoint, headers=_headers(headers),
                                max_message_size=max_message_size,
                                keepalive_interval=keepalive_interval,
                                keepalive_timeout=keepalive_timeout,
                                close_timeout=close_timeout, http_client=http_client)
        if endpoint.transport == "ws":
            # Validate the upgrade headers now, not when the first link opens (no I/O).
            WebSocketConnection(endpoint.host_header, path=endpoint.rpc_path,
                                headers=settings.headers)
        super().__init__(
            endpoint, settings=settings, namespace=namespace, database=database,
            auth=None if auth is None else auth if isinstance(auth, str) else dict(auth),
            auth_provider=auth_provider, has_prepare=has_prepare, timeout=timeout,
            connect_timeout=connect_timeout, policy=policy, live_queue_size=live_queue_size,
            http_pool_size=1 if http_client else http_pool_size,
            learn_session_expiry=learn_session_expiry,
            wall_clock_offset=wall_clock_offset, rng=rng or _half,
            session_id_factory=session_id_factory or uuid.uuid4)
        self._init_setup()

    def __repr__(self) -> str:
        return f"ClientEngine(url={self._endpoint.url!r}, state={self._state.name})"

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """The URL as given."""
        return self._endpoint.url

    @property
    def endpoint(self) -> Any:
        """The parsed :class:`~surreal_proto._url.Endpoint`."""
        return self._endpoint

    @property
    def state(self) -> ClientState:
        """The :class:`ClientState`."""
        return self._state

    @property
    def namespace(self) -> str | None:
        """The default session's namespace (as the server confirmed it)."""
        return self._tracker.namespace

    @property
    def database(self) -> str | None:
        """The default session's database."""
        return self._tracker.database

    @property
    def server_version(self) -> ServerVersion | None:
        """The server's version, learnt while setting up each connection; ``None`` before."""
        return self._server_version

    # ------------------------------------------------------------------ calls

    def start(self, call: Call, *, session: UUID | None = None, txn: UUID | None = None,
              timeout: Timeout = DEFAULT_TIMEOUT, now: float, setup: bool = False) -> CallId:
        """Start a call; its outcome comes later as ``CallSucceeded``/``CallFailed``.

        Connects first if the client is not connected (or closed); queues the call while
        connecting, setting up or reconnecting.

        Args:
            call: from a :mod:`surreal_proto._calls` factory.
            session: a session from :meth:`new_session` (3.x), or ``None`` for the default.
            txn: a transaction id (``begin``'s result); data methods are rewritten into
                ``query`` (:func:`~surreal_proto._calls.in_transaction`).
            timeout: seconds, ``None`` for none, default: the ``timeout`` option.
            now: the adapter's clock.
            setup: the call is made by the ``prepare`` callable: it goes out during setup.

        Returns:
            The call id. Then flush.

        Raises:
            UnsupportedFeatureError: the transport or server cannot do this (live queries
                and transactions over HTTP or embedded, sessions over HTTP or on 2.x,
                ``import_``/``export`` on the embedded engine).
            LocalProtocolError: an unknown session, a method that cannot run in a
                transaction, ``refresh()`` with no remembered token pair.
            ConnectionClosedError: the session or transaction was lost with a connection.
            EncodingError: ``refresh()``'s remembered pair is incomplete.
        """
        name = call.method
        if (session is not None or txn is not None or name in _RESOLVED
                or call.remembered_tokens):
            call = self._resolve(call, session, txn)
        seconds = self._timeout if timeout is DEFAULT_TIMEOUT else timeout
        rec = self._new_rec(call, session, seconds, now, setup=setup)
        if call.method != name:  # resolved (health): the user knows it by its own name
            rec.name = PUBLIC_NAMES.get(name, name)
        state = self._state
        if call.local and state is ClientState.OPEN:
            self._complete(rec, None)
        elif setup and self._preparing:
            self._urgent.append(rec)
        else:
            self._queue.append(rec)
            if state in (ClientState.IDLE, ClientState.CLOSED):
                self._begin_connect(now)
        self._drain(now)
        return rec.call_id

    def _resolve(self, call: Call, session: UUID | None, txn: UUID | None) -> Call:
        # What start() does for a call that is not plain (see _RESOLVED).
        transport = self._transport
        method = call.method
        check_supported(method, transport=transport, server_version=self._server_version,
                        session=session is not None, txn=txn is not None)
        if method == HEALTH:
            call = replace(call, method="/health" if transport == "http" else "ping")
        elif method in (IMPORT, EXPORT) and transport == "embedded":
            raise UnsupportedFeatureError(
                f"{method[1:]}: the embedded engine has no /import or /export endpoint; "
                "they need a SurrealDB server (http(s):// or ws(s)://)")
        if session is not None:
            if session in self._lost_sessions:
                raise ConnectionClosedError(
                    "the session was lost when the connection dropped and could not be "
                    "attached again; start a new session")
            if method != "attach":
                try:
                    self._tracker.session(session)
                except LocalProtocolError:
                    raise LocalProtocolError(
                        "unknown session: it was closed, or belongs to a connection that was "
                        "closed") from None
        if call.remembered_tokens:
            tokens = self._tracker.session(session).auth.tokens
            call = replace(call, params=tuple(m.refresh_params(tokens)),
                           remembered_tokens=False)
        if txn is not None:
            if txn in self._lost_txns:
                raise ConnectionClosedError(
                    "the transaction was lost when the connection dropped; nothing in it was "
                    "committed")
            call = in_transaction(call, txn)
        return call

    def connect(self, *, timeout: Timeout = DEFAULT_TIMEOUT, now: float) -> CallId:
        """Connect now (API.md §4); the call id completes with ``None`` once the connection
        is open and set up (at once if it is). Then flush."""
        return self.start(connect(), timeout=timeout, now=now)

    def cancel(self, call_id: CallId, *, now: float) -> None:
        """The caller gave up (cancelled, sync deadline): abandon the call. No outcome
        follows; a late reply is dropped. Unknown or finished ids are ignored. Then flush."""
        rec = self._calls.pop(call_id, None)
        if rec is not None:
            self._detach_rec(rec, now)
        self._drain(now)

    def new_session(self, *, timeout: Timeout = DEFAULT_TIMEOUT,
                    now: float) -> tuple[UUID, CallId]:
        """Attach a new 3.x session (``new_session()``): returns its id and the ``attach``
        call; once that succeeded, start calls with ``session=`` the id. Then flush.

        Raises:
            UnsupportedFeatureError: over HTTP, or the server is 2.x.
        """
        check_supported("attach", transport=self._transport,
                        server_version=self._server_version)
        session = self._session_ids()
        return session, self.start(attach(), session=session, timeout=timeout, now=now)

    def close(self, *, now: float) -> CallId:
        """Close (idempotent): waiting calls fail with ``ConnectionClosedError``,
        subscriptions end, links close (WebSocket: Close handshake, at most
        ``close_timeout``). The returned call id completes when every link has closed. A
        later call or ``connect()`` opens a fresh connection. Then flush."""
        call_id = next(self._ids)
        if self._state is ClientState.CLOSING:
            self._close_waiters.append(call_id)
        elif self._state in (ClientState.IDLE, ClientState.CLOSED) and not self._links:
            self._set_state(ClientState.CLOSED)
            self._emit(CallSucceeded(call_id=call_id, value=None))
        else:
            self._close_waiters.append(call_id)
            self._abort_setup(now)
            self._fail_all(lambda: ConnectionClosedError("the client was closed"), now)
            self._end_all_subs("closed")
            self._reset()
            self._server_version = None
            self._set_state(ClientState.CLOSING)
            for link in list(self._links.values()):
                self._retire(link, now)
            self._maybe_closed(now)
        self._drain(now)
        return call_id

    # ------------------------------------------------------------------ live queries

    def subscribe_live(self, live_id: UUID | str, *, now: float) -> Subscription:
        """The subscription of a live query (API.md §5 ``subscribe_live``): by the id
        ``live()`` returned (before or after a reconnect) or one from a ``LIVE SELECT`` in
        ``query()``. An id the client does not know yet is registered, so its notifications
        are delivered from now on. Subscribing twice gives the same object.

        Raises:
            UnsupportedFeatureError: not a WebSocket connection.
            EncodingError: ``live_id`` is not a UUID.
        """
        check_supported("live", transport=self._transport)
        key = m.kill_params(live_id)[0]
        sub = self._subs.find(key)
        if sub is None:
            sub = self._subs.create(key, None)
            conn = self._main.conn if self._main is not None else None
            if isinstance(conn, WebSocketConnection):
                conn.register_live_query(key, None, now=now)
            self._drain(now)
        return sub

    def subscription(self, sub_id: int) -> Subscription | None:
        """The active subscription with this id, or ``None`` once it ended."""
        return self._subs.get(sub_id)

    # ------------------------------------------------------------------ adapter callbacks

    def provide_auth(self, ticket: int, answer: Any, *, now: float) -> None:
        """Answer a ``ProviderNeeded``: what the provider returned (a token or a credentials
        mapping). Late answers are ignored. Then flush."""
        self._provider_answered(ticket, answer, None, now)
        self._drain(now)

    def provider_failed(self, ticket: int, exc: BaseException, *, now: float) -> None:
        """Answer a ``ProviderNeeded`` whose provider raised ``exc``. Then flush."""
        self._provider_answered(ticket, None, exc, now)
        self._drain(now)

    def prepare_done(self, ticket: int, *, now: float) -> None:
        """The ``prepare`` callable of ``PrepareNeeded(ticket)`` returned: queued calls go
        out. Late answers are ignored. Then flush."""
        self._prepare_answered(ticket, None, now)
        self._drain(now)

    def prepare_failed(self, ticket: int, exc: BaseException, *, now: float) -> None:
        """The ``prepare`` callable raised ``exc``: on the first connect every waiting call
        fails with it (wrapped in ``SurrealConnectionError`` unless it is a
        ``SurrealError``); after a reconnect it is reported (``SessionRestoreFailed``) and
        the client goes on. Then flush."""
        self._prepare_answered(ticket, exc, now)
        self._drain(now)

    def link_opened(self, link_id: int, *, now: float) -> None:
        """The link of ``OpenLink(link_id)`` is usable (TCP/TLS up, or the embedded engine
        created). A link the engine already closed gets ``CloseLink`` again. Then flush."""
        link = self._links.get(link_id)
        if link is None:
            self._emit(CloseLink(link_id=link_id))
        else:
            if link.conn is not None:
                raise LocalProtocolError(f"link_opened({link_id}) twice")
            context = None
            if link.role is LinkRole.POOL:
                context = self._context
            elif link.role is LinkRole.AUX and link.aux_call is not None:
                context = self._aux_context(link.aux_call)
            link.open(self._settings, context, now)
        self._drain(now)

    def link_failed(self, link_id: int, exc: BaseException, *, now: float) -> None:
        """Opening (or reading from) the link failed with ``exc`` (refused, DNS, TLS,
        reset...). It is mapped to an API.md §7 error (``exc`` as ``__cause__``). Then
        flush; the engine sends ``CloseLink``."""
        link = self._links.get(link_id)
        if link is not None and not link.closing:
            self._abort_link(link, connect_error(exc, self._endpoint,
                                                 transport=link.transport), now)
        self._drain(now)

    def receive_data(self, link_id: int, data: bytes, *, now: float) -> None:
        """Bytes read from a link. Bytes for a link the engine closed are ignored. Then
        flush."""
        conn = self._stream(link_id)
        if conn is not None:
            conn.receive_data(data, now)
        self._drain(now)

    def receive_eof(self, link_id: int, *, now: float) -> None:
        """The link reached end of stream. Then flush."""
        conn = self._stream(link_id)
        if conn is not None:
            conn.receive_eof()
        self._drain(now)

    def _stream(self, link_id: int) -> WebSocketConnection | HttpConnection | None:
        link = self._links.get(link_id)
        conn = link.conn if link is not None else None
        return conn if isinstance(conn, WebSocketConnection | HttpConnection) else None

    def data_to_send(self, link_id: int) -> bytes:
        """Take the bytes to write to a link (possibly empty; also a closed link's last
        bytes, for ``CloseLink``)."""
        link = self._links.get(link_id)
        if link is None:
            return self._final_out.pop(link_id, b"")
        conn = link.conn
        if isinstance(conn, WebSocketConnection | HttpConnection):
            return conn.data_to_send()
        return b""

    def messages_to_send(self, link_id: int) -> list[EmbeddedMessage]:
        """Take the requests to execute on an embedded link (see the module docstring)."""
        link = self._links.get(link_id)
        conn = link.conn if link is not None else None
        if isinstance(conn, EmbeddedConnection):
            return conn.messages_to_send()
        return []

    def receive_message(self, link_id: int, reply: bytes, *, now: float,
                        request_id: RequestId | None = None) -> None:
        """What the embedded engine's ``execute`` returned for ``request_id``. Then flush."""
        link = self._links.get(link_id)
        conn = link.conn if link is not None else None
        if isinstance(conn, EmbeddedConnection):
            conn.receive_message(reply, now, request_id=request_id)
        self._drain(now)

    def receive_failure(self, link_id: int, request_id: RequestId, exc: Exception, *,
                        now: float) -> None:
        """The embedded engine's ``execute`` raised ``exc`` for ``request_id``. Then flush."""
        link = self._links.get(link_id)
        conn = link.conn if link is not None else None
        if isinstance(conn, EmbeddedConnection):
            conn.receive_failure(request_id, exc)
        self._drain(now)

    def http_requests_to_send(self, link_id: int) -> list[tuple[RequestId, HttpRequest]]:
        """Take the requests to send on an ``httpx`` link, as ``(request_id, request)``: send
        each to ``OpenLink.base_url + request.target``, concurrently (module docstring)."""
        conn = self._httpx(link_id)
        return [] if conn is None else conn.requests_to_send()

    def receive_http_response(self, link_id: int, request_id: RequestId, status: int,
                              headers: HeaderPairs, body: bytes, *, now: float) -> None:
        """The HTTP client's complete reply to ``request_id``: ``status``, ``headers`` (a
        mapping such as ``httpx.Headers``, or pairs) and the decoded ``body``. Replies for a
        closed link or an abandoned request are dropped. Then flush."""
        conn = self._httpx(link_id)
        if conn is not None:
            conn.receive_response(request_id, status, headers, body, now)
        self._drain(now)

    def receive_http_failure(self, link_id: int, request_id: RequestId, exc: Exception, *,
                             now: float) -> None:
        """The HTTP client raised ``exc`` for ``request_id`` (``httpx.ConnectError``,
        ``httpx.ReadTimeout``...): its call fails with the API.md §7 error
        :func:`~surreal_proto._http_requests.transport_error` picks (``exc`` as
        ``__cause__``); the link goes on. Then flush."""
        conn = self._httpx(link_id)
        if conn is not None:
            conn.receive_failure(request_id, exc, now)
        self._drain(now)

    def _httpx(self, link_id: int) -> HttpRequestConnection | None:
        link = self._links.get(link_id)
        conn = link.conn if link is not None else None
        return conn if isinstance(conn, HttpRequestConnection) else None

    def events(self) -> list[ClientEvent]:
        """Take the events produced so far, oldest first (after writing ``data_to_send``)."""
        events = self._events
        self._events = []
        return events

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` next has work (call deadlines, link timers, connect
        deadlines, reconnect backoff, session renewal), or ``None``. Re-read after each
        flush."""
        # Adapters call this after every flush: a running minimum, no lists.
        first = self._next_call_deadline()
        for link in self._links.values():
            at = link.connect_deadline
            if at is not None and (first is None or at < first):
                first = at
            if link.conn is not None:
                at = link.conn.next_deadline()
                if at is not None and (first is None or at < first):
                    first = at
        at = self._reconnect_at
        if at is not None and (first is None or at < first):
            first = at
        at = self._renewal_deadline()
        if at is not None and (first is None or at < first):
            first = at
        return first

    def _renewal_deadline(self) -> float | None:
        if self._state is not ClientState.OPEN or self._transport == "http":
            return None
        at = self._tracker.next_renewal_deadline()
        return None if at is None else at - self._offset

    def handle_timeout(self, now: float) -> None:
        """Do what is due: time out calls, link timers (keepalive, close handshake),
        connect deadlines, a reconnect attempt, session renewals. Safe to call early or
        late. Then flush."""
        self._expire_calls(now)
        for link in list(self._links.values()):
            if link.connect_deadline is not None and now >= link.connect_deadline:
                self._abort_link(link, connect_error(
                    TimeoutError(f"no connection within {self._connect_timeout:g} s"),
                    self._endpoint, transport=link.transport), now)
            elif link.conn is not None:
                link.conn.handle_timeout(now)
        if self._reconnect_at is not None and now >= self._reconnect_at:
            self._reconnect_due(now)
        renewal = self._renewal_deadline()
        if renewal is not None and now >= renewal:
            for step in self._tracker.renewals_due(self._wall(now)):
                self._start_chain(step, now)
        self._drain(now)
