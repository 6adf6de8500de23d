"""Helpers for the surreal_asyncio tests: run a coroutine with a deadline, check that nothing
is left behind, pick a target (ws, http, mem), and a TCP proxy that can cut a connection.

pytest-asyncio is not used: each test is a plain function that runs its coroutine with
``asyncio.run`` through :func:`aio`, inside ``asyncio.timeout`` so nothing can hang CI.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from surreal_asyncio import AsyncSurreal
from surreal_asyncio._methods import Methods

T = TypeVar("T")
M = TypeVar("M", bound=Methods)

#: A generous per-test guard: the slowest test takes a few seconds.
GUARD = 30.0
#: Awaited after the test's coroutine, in its loop (closing httpx clients the test made).
_cleanups: list[Callable[[], Awaitable[Any]]] = []


def add_cleanup(cleanup: Callable[[], Awaitable[Any]]) -> None:
    """Await ``cleanup()`` when the running test's coroutine ends."""
    _cleanups.append(cleanup)


def run(make: Callable[[], Awaitable[T]], *, timeout: float = GUARD,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> T:
    """Run ``make()`` in a fresh event loop with a deadline; then check that it left no
    task behind (``asyncio.all_tasks()``)."""

    async def main() -> T:
        try:
            async with asyncio.timeout(timeout):
                result = await make()
        finally:
            while _cleanups:
                await _cleanups.pop()()
        await asyncio.sleep(0)
        current = asyncio.current_task()
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not left, f"tasks left behind: {left}"
        return result

    if loop_factory is None and os.environ.get("SURREAL_TEST_LOOP") == "uvloop":
        # The whole directory under uvloop: SURREAL_TEST_LOOP=uvloop.
        loop_factory = importlib.import_module("uvloop").new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(main())
    gc.collect()  # an unclosed socket warns here, in the test that left it (-W error)
    return result


def aio(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Make an ``async def`` test a plain one (fixtures keep working through
    ``__wrapped__``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run(lambda: fn(*args, **kwargs))

    return wrapper


def open_fds() -> int:
    """How many file descriptors this process has open (not counting ``/dev/null``, which
    uvloop opens once, lazily, on its first connection)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        count += target != "/dev/null"
    return count


@dataclass(frozen=True)
class Target:
    """Where a test connects: ``kind`` is ``ws``, ``http``, ``httpx`` (http on an
    ``httpx.AsyncClient``) or ``mem``."""

    kind: str
    url: str
    namespace: str
    database: str
    user: str | None = None
    password: str | None = None

    def client(self, **options: Any) -> AsyncSurreal:
        if self.kind == "httpx":
            import httpx

            http_client = httpx.AsyncClient()
            add_cleanup(http_client.aclose)
            options.setdefault("http_client", http_client)
        return AsyncSurreal(self.url, **options)

    async def ready(self, db: M) -> M:
        """Sign in as root (servers) and select this target's namespace and database."""
        if self.user is not None:
            await db.signin({"username": self.user, "password": self.password})
        await db.use(self.namespace, self.database)
        return db

    async def open(self, **options: Any) -> AsyncSurreal:
        return await self.ready(self.client(**options))


class Proxy:
    """A TCP proxy on 127.0.0.1 in the test's event loop, to cut connections on demand."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._tasks.add(handler)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._pairs.append((writer, up_writer))
        pumps = [asyncio.create_task(self._pump(reader, up_writer)),
                 asyncio.create_task(self._pump(up_reader, writer))]
        self._tasks.update(pumps)
        await asyncio.wait(pumps)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
        except OSError:
            pass
        finally:
            writer.close()

    def cut(self) -> None:
        """Abort every proxied connection (both sides see a reset)."""
        for client, upstream in self._pairs:
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()

    async def close(self) -> None:
        self.cut()
        if self._tasks:
            await asyncio.wait(self._tasks)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
