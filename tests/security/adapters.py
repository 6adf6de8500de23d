"""One scenario, three adapters: a test writes ``async def scenario(open_client)`` once and
:func:`run` plays it with ``surreal_sync``, ``surreal_asyncio`` or ``surreal_trio``.

The scenario gets a :class:`Kit`: ``kit.open(url, **options)`` is an async context manager
giving a connected client whose methods are awaited, ``kit.make(...)`` a client not connected
yet. For ``surreal_sync`` the blocking ``Surreal`` is wrapped so that each
method call returns an awaitable that has already run: the scenario coroutine then never
suspends, and :func:`run` drives it to its end with a single ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import trio

import surreal_asyncio
import surreal_sync
import surreal_trio

T = TypeVar("T")

ADAPTERS = ("sync", "asyncio", "trio")
#: The deadline of one scenario: nothing can hang the suite.
GUARD = 30.0


class Kit:
    """What a scenario gets: clients of one adapter, with awaited methods."""

    def __init__(self, name: str) -> None:
        #: ``sync``, ``asyncio`` or ``trio``.
        self.name = name

    def open(self, url: str, **options: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        """``async with kit.open(url, **options) as db``: connected, closed at the end."""
        if self.name == "sync":
            return _open_sync(url, **options)
        return self.make(url, **options)  # type: ignore[no-any-return]

    def make(self, url: str, **options: Any) -> Any:
        """A client that is not connected yet (``await db.close()`` when done)."""
        if self.name == "sync":
            return _Awaited(surreal_sync.Surreal(url, **options))
        if self.name == "asyncio":
            return surreal_asyncio.AsyncSurreal(url, **options)
        return surreal_trio.AsyncSurreal(url, **options)

    async def sleep(self, seconds: float) -> None:
        """Sleep in the adapter's own way (blocking for ``sync``)."""
        if self.name == "asyncio":
            await asyncio.sleep(seconds)
        elif self.name == "trio":
            await trio.sleep(seconds)
        else:
            time.sleep(seconds)


Scenario = Callable[[Kit], Coroutine[Any, Any, T]]


class _Awaited:
    """A blocking client seen through awaitable methods (each call runs at once)."""

    def __init__(self, db: surreal_sync.Surreal) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._db, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return call


@contextlib.asynccontextmanager
async def _open_sync(url: str, **options: Any) -> AsyncIterator[Any]:
    with surreal_sync.Surreal(url, **options) as db:
        yield _Awaited(db)


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("a blocking scenario awaited something that suspends")


def run(adapter: str, scenario: Scenario[T]) -> T:
    """Play ``scenario`` with ``adapter`` (one of :data:`ADAPTERS`), under :data:`GUARD`."""
    kit = Kit(adapter)
    if adapter == "sync":
        return _drive(scenario(kit))
    if adapter == "asyncio":
        async def main_asyncio() -> T:
            async with asyncio.timeout(GUARD):
                return await scenario(kit)
        return asyncio.run(main_asyncio())
    assert adapter == "trio"

    async def main_trio() -> T:
        with trio.fail_after(GUARD):
            return await scenario(kit)
    return trio.run(main_trio)
