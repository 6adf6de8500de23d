"""``AsyncSurreal`` and ``open_surreal``: the trio SurrealDB client (API.md §2-§8)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final
from uuid import UUID

import trio

from surreal_proto import (
    ClientState,
    ReconnectPolicy,
    ServerVersion,
    calls,
)

from ._driver import Driver
from ._methods import Methods
from ._session import Session, Transaction

__all__ = ["AsyncSurreal", "open_surreal"]

#: The longest ``async with`` waits for ``close()`` on exit.
_CLOSE_BOUND: Final = 10.0


class AsyncSurreal(Methods):
    """A SurrealDB client for trio: one connection shared by any number of tasks.

    ``async with AsyncSurreal(url) as db:`` connects on entry, runs its background work in
    a nursery it owns for the block, and closes on exit. Without ``async with``, the first
    call connects and ``await db.close()`` ends it (see ``_driver`` for where the
    background work runs then). Construction does no I/O.

    Args:
        url: ``ws://``, ``wss://``, ``http://``, ``https://``, ``mem://``, ``memory``,
            ``surrealkv://PATH`` or ``file://PATH``.
        namespace, database: selected after every connect and reconnect.
        auth: a token, a credentials mapping, or a callable (sync or async) returning
            either, asked on connect, reconnect and renewal.
        prepare: ``async def prepare(db)`` (or a plain function), run after every connect
            once auth and namespace/database are applied, before queued calls proceed.
        timeout: default deadline of every call in seconds (``None`` = none).
        connect_timeout: deadline for TCP + TLS + handshake.
        reconnect: ``True`` (default backoff), ``False``, or a ``ReconnectPolicy``.
        ssl: an ``ssl.SSLContext`` for ``wss``/``https`` (default: verify certificates and
            host names).
        headers: extra headers for the WebSocket upgrade and every HTTP request.
        max_message_size: largest incoming message (``None``: the engine's default).
        http_client: an ``httpx.AsyncClient`` to carry ``http(s)`` calls instead of the
            built-in transport (proxies, HTTP/2, custom auth, mocking). It stays yours:
            ``close()`` does not close it.
        on_state_change: called as ``on_state_change(old, new)`` with ``ClientState``
            values on every state change (a plain function, or an async one run as a task).
        live_queue_size: bound of each live query's queue (the oldest is dropped).
        keepalive_interval, keepalive_timeout: WebSocket ping after this much silence and
            how long to wait for a sign of life (``None`` interval: no pings).

    Raises:
        UnsupportedEngineError: the URL cannot be used.
        UnsupportedFeatureError: ``http_client`` with a URL that is not ``http(s)://``.
        LocalProtocolError: bad options (``auth``, ``headers``...).
    """

    def __init__(self, url: str, *, namespace: str | None = None,
                 database: str | None = None, auth: Any = None,
                 prepare: Callable[[Any], Any] | None = None, timeout: float | None = 30.0,
                 connect_timeout: float | None = 10.0,
                 reconnect: bool | ReconnectPolicy = True, ssl: Any = None,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 max_message_size: int | None = None, http_client: Any = None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None = None,
                 live_queue_size: int = 1024, keepalive_interval: float | None = 30.0,
                 keepalive_timeout: float = 20.0) -> None:
        provider = auth if callable(auth) else None
        options: dict[str, Any] = {
            "namespace": namespace, "database": database,
            "auth": None if provider is not None else auth,
            "auth_provider": provider is not None, "has_prepare": prepare is not None,
            "timeout": timeout, "connect_timeout": connect_timeout, "headers": headers,
            "reconnect": reconnect, "keepalive_interval": keepalive_interval,
            "keepalive_timeout": keepalive_timeout, "live_queue_size": live_queue_size,
        }
        if max_message_size is not None:
            options["max_message_size"] = max_message_size
        self._driver = Driver(self, url, options, ssl_context=ssl, auth_provider=provider,
                              prepare=prepare, on_state_change=on_state_change,
                              http_client=http_client)
        self._nursery_manager: Any = None
        self._depth = 0

    def __repr__(self) -> str:
        return f"AsyncSurreal(url={self.url!r}, state={self.state.name})"

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """The URL as given."""
        return self._driver.engine.url

    @property
    def namespace(self) -> str | None:
        """The selected namespace."""
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
        """The server's version, once connected."""
        return self._driver.engine.server_version

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Connect now (any call connects first anyway); at once if connected."""
        await self._call(calls.connect())

    async def close(self) -> None:
        """Close (idempotent): calls in flight fail with ``ConnectionClosedError``, live
        iterators end, background tasks stop. A later call connects afresh."""
        await self._driver.close()

    async def __aenter__(self) -> AsyncSurreal:
        if self._depth == 0:
            manager = trio.open_nursery()
            self._driver.owner = await manager.__aenter__()
            self._nursery_manager = manager
        self._depth += 1
        try:
            await self.connect()
        except BaseException:
            await self._exit()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._exit()

    async def _exit(self) -> None:
        try:
            # Close even when the block was cancelled; bounded (the WebSocket close
            # handshake has its own 5 s timeout).
            with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_BOUND):
                await self.close()
        finally:
            self._depth -= 1
            if self._depth == 0:
                manager, self._nursery_manager = self._nursery_manager, None
                nursery, self._driver.owner = self._driver.owner, None
                if nursery is not None:
                    nursery.cancel_scope.cancel()  # nothing should be left; be sure
                try:
                    await manager.__aexit__(None, None, None)
                except BaseExceptionGroup as group:
                    raise _unwrap(group) from None

    # ------------------------------------------------------------------ client-only methods

    async def health(self) -> bool:
        """Whether the server answers (``GET /health`` over HTTP, ``ping`` otherwise);
        never raises for an unreachable server."""
        result: bool = await self._call(calls.health())
        return result

    async def new_session(self) -> Session:
        """Attach a new session on this connection (3.x WebSocket)."""
        session: UUID = await self._driver.new_session()
        return Session(self._driver, session)

    async def begin_transaction(self) -> Transaction:
        """Begin a transaction (3.x WebSocket); ``async with await
        db.begin_transaction() as txn:`` commits on success, cancels on an exception."""
        txn: UUID = await self._call(calls.begin())
        return Transaction(self._driver, None, txn)

    async def import_(self, source: str | bytes) -> None:
        """Import a SurrealQL script (HTTP ``/import``; also for a ``ws(s)`` URL)."""
        await self._call(calls.import_(source))

    async def export(self) -> str:
        """Export the selected database as SurrealQL (HTTP ``/export``)."""
        result: str = await self._call(calls.export())
        return result


def _unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException:
    # Users never see a group for one failure (as trio-websocket does).
    while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
        group = group.exceptions[0]  # type: ignore[assignment]
    return group


@asynccontextmanager
async def open_surreal(url: str, **options: Any) -> AsyncIterator[AsyncSurreal]:
    """``async with open_surreal(url, **options) as db:``: the trio-style spelling of
    ``async with AsyncSurreal(url, **options) as db:`` (same options)."""
    async with AsyncSurreal(url, **options) as db:
        yield db
