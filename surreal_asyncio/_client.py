"""``AsyncSurreal``: the asyncio SurrealDB client (API.md §2-§8)."""

from __future__ import annotations

import random
import ssl as _ssl
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from surreal_proto import (
    ClientEngine,
    ClientState,
    LocalProtocolError,
    ReconnectPolicy,
    ServerVersion,
    calls,
)

from ._driver import Driver
from ._methods import Methods
from ._session import Session

__all__ = ["AsyncSurreal"]


class AsyncSurreal(Methods):
    """A SurrealDB client for asyncio: one connection shared by any number of tasks.

    Construction does no I/O; the first call (or :meth:`connect`, or ``async with``)
    connects, and concurrent first calls open one connection. Calls from many tasks are in
    flight together, matched by id. Cancelling a waiting task (``task.cancel()``,
    ``asyncio.timeout``) abandons its request: the late reply is dropped and the connection
    stays usable. The client belongs to the event loop it is used in; using it from another
    loop while it is open raises ``LocalProtocolError``.

    Args:
        url: ``ws://``, ``wss://``, ``http://``, ``https://`` (the server), ``mem://``,
            ``memory``, ``surrealkv://PATH``, ``file://PATH`` (the in-process engine of the
            ``embedded`` extra).
        namespace: selected after every connect and reconnect (with ``database``).
        database: see ``namespace``.
        auth: a token, a credentials mapping, or a callable (sync or async) returning
            either, called on every connect, reconnect and renewal.
        prepare: ``async def prepare(db)`` (or a plain function) run after every connect or
            reconnect, once auth and namespace/database are applied, before queued calls.
        timeout: default deadline in seconds of every call (``None``: none).
        connect_timeout: deadline of TCP + TLS + WebSocket handshake.
        reconnect: ``True`` (default backoff), ``False``, or a ``ReconnectPolicy``
            (WebSocket).
        ssl: the ``ssl.SSLContext`` for ``wss``/``https``; the default verifies certificates
            and host names.
        headers: extra headers for the WebSocket upgrade and every HTTP request.
        max_message_size: largest incoming message; ``None``: the engine's default.
        http_client: an ``httpx.AsyncClient`` to carry ``http(s)`` calls instead of the
            built-in transport (proxies, HTTP/2, custom auth, mocking); ``base_url`` is not
            needed. It stays the caller's: ``close()`` leaves it open.
        on_state_change: called with ``(old, new)`` :class:`~surreal_proto.ClientState`
            on every state change (may return an awaitable).
        live_queue_size: bound of each live query's queue (the oldest is dropped beyond).
        keepalive_interval: WebSocket ping after this much silence (``None``: never).
        keepalive_timeout: how long to wait for any sign of life after a ping.

    Raises:
        UnsupportedEngineError: the URL's scheme is not supported.
        UnsupportedFeatureError: ``http_client`` with a URL that is not ``http(s)``.
        LocalProtocolError: invalid options (credentials, headers, a sync ``http_client``).
    """

    def __init__(self, url: str, *, namespace: str | None = None,
                 database: str | None = None,
                 auth: str | Mapping[str, Any] | Callable[[], Any] | None = None,
                 prepare: Callable[[Any], Any] | None = None, timeout: float | None = 30.0,
                 connect_timeout: float | None = 10.0,
                 reconnect: bool | ReconnectPolicy = True, ssl: _ssl.SSLContext | None = None,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 max_message_size: int | None = None, http_client: Any = None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None = None,
                 live_queue_size: int = 1024, keepalive_interval: float | None = 30.0,
                 keepalive_timeout: float = 20.0) -> None:
        if http_client is not None and not callable(getattr(http_client, "aclose", None)):
            raise LocalProtocolError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__} "
                "(surreal_sync takes an httpx.Client)")
        provider = auth if callable(auth) else None
        options: dict[str, Any] = {}
        if max_message_size is not None:
            options["max_message_size"] = max_message_size
        engine = ClientEngine(
            url, namespace=namespace, database=database,
            auth=None if provider is not None else auth,  # type: ignore[arg-type]
            auth_provider=provider is not None, has_prepare=prepare is not None,
            timeout=timeout, connect_timeout=connect_timeout, headers=headers,
            reconnect=reconnect, keepalive_interval=keepalive_interval,
            keepalive_timeout=keepalive_timeout, live_queue_size=live_queue_size,
            http_client=http_client is not None,
            wall_clock_offset=time.time() - time.monotonic(), rng=random.random, **options)
        self._driver = Driver(engine, client=self, ssl_context=ssl, http_client=http_client,
                              max_message_size=max_message_size, auth_provider=provider,
                              prepare=prepare, on_state_change=on_state_change)

    async def _run(self, call: calls.Call) -> Any:
        return await self._driver.call(call)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect now (at once if connected): open the link, apply ``auth``,
        ``namespace``/``database`` and ``prepare``.

        Raises:
            SurrealConnectionError: refused, unreachable, handshake refused (``TLSError``
                for TLS, ``HandshakeError``...); ``UnsupportedEngineError`` for ``mem://``
                without the ``embedded`` extra; the setup's own errors.
        """
        await self._driver.connect()

    async def close(self) -> None:
        """Close (idempotent): calls in flight fail with ``ConnectionClosedError``, live
        iterators end, sockets and background tasks are gone when this returns. A later
        call or ``connect()`` opens a fresh connection."""
        await self._driver.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def new_session(self) -> Session:
        """A new 3.x session on this connection (WebSocket): ``await db.new_session()``
        attaches it; ``async with db.new_session() as session:`` also detaches it."""
        return Session(self._driver)

    async def health(self) -> bool:
        """Whether the server answers (``GET /health`` over HTTP, ``ping`` otherwise);
        never raises for an unreachable or failing server."""
        return await self._run(calls.health())  # type: ignore[no-any-return]

    async def import_(self, source: str | bytes) -> None:
        """Import a SurrealQL script (HTTP ``/import``, also for a ``ws(s)`` URL)."""
        await self._run(calls.import_(source))

    async def export(self) -> str:
        """Export the database as SurrealQL (HTTP ``/export``)."""
        return await self._run(calls.export())  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """The URL as given."""
        return self._driver.engine.url

    @property
    def namespace(self) -> str | None:
        """The selected namespace, as the server confirmed it."""
        return self._driver.engine.namespace

    @property
    def database(self) -> str | None:
        """The selected database."""
        return self._driver.engine.database

    @property
    def state(self) -> ClientState:
        """Where the client is in its life (``ClientState``)."""
        return self._driver.engine.state

    @property
    def server_version(self) -> ServerVersion | None:
        """The server's version, known once connected."""
        return self._driver.engine.server_version

    def __repr__(self) -> str:
        return f"AsyncSurreal({self.url!r}, state={self.state.name})"
