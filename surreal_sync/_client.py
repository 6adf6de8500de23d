"""``Surreal``: the blocking SurrealDB client (API.md §2-§8)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from surreal_proto import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ClientEngine,
    ClientState,
    LocalProtocolError,
    ReconnectPolicy,
    ServerVersion,
)
from surreal_proto import calls as c

from ._driver import Driver
from ._methods import Methods
from ._session import Session

if TYPE_CHECKING:
    import ssl as ssl_module  # loaded by the caller who passes a context; wss loads it itself

__all__ = ["Surreal"]


class Surreal(Methods):
    """A blocking SurrealDB client, safe to share between threads.

    Construction does no I/O: the first call (or :meth:`connect`) connects. Any number of
    threads may call methods at once; their requests are in flight together on one
    connection and each reply goes to its caller.

    Args:
        url: ``ws://``, ``wss://``, ``http://``, ``https://`` (``/rpc`` optional),
            ``mem://``, ``memory``, ``surrealkv://PATH``, ``file://PATH``.
        namespace, database: selected after every connect and reconnect.
        auth: a token, a credentials mapping (``signin`` keys), or a callable returning
            either (called on connect, reconnect and renewal).
        prepare: ``prepare(client)`` runs after every connect or reconnect, once auth and
            namespace/database are applied and before waiting calls go out. The calls it
            makes on ``client`` from its own thread go out during setup (calls from other
            threads wait for it to finish).
        timeout: deadline of every call in seconds (``None``: none).
        connect_timeout: deadline of TCP + TLS + WebSocket handshake.
        reconnect: ``True`` (default policy), ``False``, or a :class:`ReconnectPolicy`.
        ssl: an ``ssl.SSLContext`` for ``wss``/``https`` (default: verifying).
        headers: extra headers for the WebSocket upgrade and every HTTP request.
        max_message_size: largest incoming message (``None``: the engine's default).
        http_client: an ``httpx.Client`` to carry ``http(s)`` calls instead of the built-in
            transport (proxies, HTTP/2, custom auth). Each exchange runs in the calling
            thread and cannot be interrupted: the client's own timeouts bound it (a call
            past ``timeout`` fails when its exchange returns). The client is yours: it
            stays open at ``close()``.
        on_state_change: called as ``on_state_change(old, new)`` with
            :class:`~surreal_proto.ClientState` values on every state change (in whichever
            thread observed it, without the client's lock; exceptions are logged).
        live_queue_size: notifications each live query holds before dropping the oldest.
        keepalive_interval, keepalive_timeout: WebSocket ping after this much silence, and
            how long to wait for any sign of life (also the limit for a stalled send).

    Raises:
        UnsupportedEngineError: the URL cannot be used.
        UnsupportedFeatureError: ``http_client`` with a URL that is not ``http(s)``.
        LocalProtocolError: invalid options or credentials, an async ``http_client``.
    """

    def __init__(self, url: str, *, namespace: str | None = None,
                 database: str | None = None,
                 auth: str | Mapping[str, Any] | Callable[[], Any] | None = None,
                 prepare: Callable[[Surreal], Any] | None = None,
                 timeout: float | None = 30.0, connect_timeout: float | None = 10.0,
                 reconnect: bool | ReconnectPolicy = True,
                 ssl: ssl_module.SSLContext | None = None,
                 headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 max_message_size: int | None = None, http_client: Any = None,
                 on_state_change: Callable[[ClientState, ClientState], Any] | None = None,
                 live_queue_size: int = 1024, keepalive_interval: float | None = 30.0,
                 keepalive_timeout: float = 20.0) -> None:
        provider = auth if callable(auth) and not isinstance(auth, str | Mapping) else None
        if http_client is not None and (callable(getattr(http_client, "aclose", None))
                                        or not callable(getattr(http_client, "stream", None))):
            raise LocalProtocolError(
                f"http_client must be an httpx.Client, not {type(http_client).__name__} "
                "(surreal_asyncio and surreal_trio take an httpx.AsyncClient)")
        size = DEFAULT_MAX_MESSAGE_SIZE if max_message_size is None else max_message_size
        engine = ClientEngine(
            url, namespace=namespace, database=database,
            auth=None if provider is not None else auth,  # type: ignore[arg-type]
            auth_provider=provider is not None, has_prepare=prepare is not None,
            timeout=timeout, connect_timeout=connect_timeout, headers=headers,
            max_message_size=size, reconnect=reconnect, keepalive_interval=keepalive_interval,
            keepalive_timeout=keepalive_timeout, live_queue_size=live_queue_size,
            http_client=http_client is not None,
            wall_clock_offset=time.time() - time.monotonic(), rng=random.random)
        self._driver = Driver(
            engine, client=self, ssl_context=ssl, connect_timeout=connect_timeout,
            stall_timeout=keepalive_timeout, auth_provider=provider, prepare=prepare,
            on_state_change=on_state_change, http_client=http_client, max_message_size=size)

    # ------------------------------------------------------------------ lifecycle

    def connect(self) -> None:
        """Connect now, authenticate and select namespace/database (at once if already
        connected; after :meth:`close`, a fresh connection)."""
        self._driver.connect()

    def close(self) -> None:
        """Close (idempotent): waiting calls fail with ``ConnectionClosedError``, live
        iterators end, the background thread stops, every socket is closed."""
        self._driver.close()

    def __enter__(self) -> Surreal:
        self.connect()  # an open client keeps its session
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def new_session(self) -> Session:
        """Attach a new session (3.x, WebSocket) with its own auth and state."""
        return Session(self._driver, self._driver.new_session())

    def health(self) -> bool:
        """Whether the server answers (``GET /health`` over HTTP, ``ping`` otherwise);
        never raises for an unreachable server."""
        result: bool = self._run(c.health())
        return result

    def import_(self, source: str | bytes) -> None:
        """Import a SurrealQL script (HTTP ``/import``, also for a ``ws(s)`` URL)."""
        self._run(c.import_(source))

    def export(self) -> str:
        """Export the database as SurrealQL text (HTTP ``/export``)."""
        result: str = self._run(c.export())
        return result

    # ------------------------------------------------------------------ properties

    @property
    def url(self) -> str:
        """The URL as given."""
        return self._driver.engine.url

    @property
    def namespace(self) -> str | None:
        """The selected namespace."""
        result: str | None = self._driver.read(lambda e: e.namespace)
        return result

    @property
    def database(self) -> str | None:
        """The selected database."""
        result: str | None = self._driver.read(lambda e: e.database)
        return result

    @property
    def state(self) -> ClientState:
        """The connection state."""
        result: ClientState = self._driver.read(lambda e: e.state)
        return result

    @property
    def server_version(self) -> ServerVersion | None:
        """The server's version once connected, else ``None``."""
        result: ServerVersion | None = self._driver.read(lambda e: e.server_version)
        return result

    def __repr__(self) -> str:
        # Without the lock: a repr must never block (a debugger, a log line in a callback).
        return f"Surreal({self.url!r}, state={self._driver.engine.state.name})"

