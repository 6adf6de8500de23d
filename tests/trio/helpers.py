"""Shared pieces of the trio adapter's integration tests."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio

from surreal_trio import AsyncSurreal
from tests.conftest import DbInfo

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: Every transport the client speaks to a database: WebSocket, HTTP (the built-in transport,
#: and a user's ``httpx.AsyncClient``) to the reference server, and the in-process engine.
TRANSPORTS = ("ws", "http", "httpx", "mem")


def guard(seconds: float = 20.0) -> Callable[[F], F]:
    """Run the test under ``trio.fail_after(seconds)``: nothing can hang CI."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with trio.fail_after(seconds):
                return await fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@dataclass
class Target:
    """Where a test's client connects, and how."""

    kind: str
    url: str
    namespace: str
    database: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def http(self) -> bool:
        """Over HTTP (built-in or httpx): no live queries, sessions or transactions."""
        return self.kind in ("http", "httpx")

    def client(self, **options: Any) -> AsyncSurreal:
        """A client for this target, signed in as root (servers) with the test's ns/db."""
        merged = {"namespace": self.namespace, "database": self.database, **self.options,
                  **options}
        return AsyncSurreal(self.url, **merged)


def target_for(kind: str, db: DbInfo, http_client: Any = None) -> Target:
    server = db.server
    root = {"username": server.user, "password": server.password}
    ssl_context = server.ssl_context()
    options: dict[str, Any] = {"auth": root}
    if ssl_context is not None:
        options["ssl"] = ssl_context
    if kind == "ws":
        return Target(kind, server.ws_url, db.namespace, db.database, options)
    if kind == "http":
        return Target(kind, server.http_url, db.namespace, db.database, options)
    if kind == "httpx":
        options["http_client"] = http_client
        return Target(kind, server.http_url, db.namespace, db.database, options)
    return Target(kind, "mem://", db.namespace, db.database)


def open_fds() -> int:
    """File descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))
