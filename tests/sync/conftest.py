"""Fixtures of the blocking client's tests: clients over ws, http and mem://, a hang guard.

Every test runs under ``faulthandler.dump_traceback_later``: a test that hangs dumps every
thread's stack and ends the run instead of blocking CI.
"""

from __future__ import annotations

import faulthandler
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from surreal_sync import Surreal
from tests.conftest import DbInfo, ServerInfo

#: The transports every method is tried on ("httpx": http:// through an ``httpx.Client``).
KINDS = ("ws", "http", "httpx", "mem")
#: Seconds after which a hanging test aborts the run (with every thread's stack).
HANG_GUARD = 60.0
#: The client ``timeout`` used in tests, so that a lost reply fails fast.
CALL_TIMEOUT = 10.0

Factory = Callable[..., Surreal]


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    faulthandler.dump_traceback_later(HANG_GUARD, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def url_for(kind: str, info: DbInfo) -> str:
    """The URL of the reference server (or the in-process engine) for a transport."""
    server = info.server
    return {"ws": server.ws_url, "http": server.http_url, "httpx": server.http_url,
            "mem": "mem://"}[kind]


def options_for(kind: str, info: DbInfo, token: str | None = None) -> dict[str, Any]:
    """Constructor options: the test's namespace/database and, on the server, root (by
    ``token`` if given: ``authenticate`` is much cheaper than a password ``signin``)."""
    options: dict[str, Any] = {"namespace": info.namespace, "database": info.database,
                               "timeout": CALL_TIMEOUT}
    if kind != "mem":
        options["auth"] = token or {"username": info.server.user,
                                    "password": info.server.password}
    return options


@pytest.fixture(scope="session")
def root_token(surreal_server: ServerInfo) -> str:
    """An access token of the root user (valid for the whole run)."""
    with Surreal(surreal_server.ws_url) as db:
        token = db.signin({"username": surreal_server.user,
                           "password": surreal_server.password}).access
    assert token is not None
    return token


@pytest.fixture
def connect(surreal_db: DbInfo, root_token: str) -> Iterator[Factory]:
    """``connect(kind, **options)``: a client signed in as root on the test's database;
    every client made is closed at the end."""
    made: list[Surreal] = []
    http_clients: list[httpx.Client] = []

    def factory(kind: str, **options: Any) -> Surreal:
        if kind == "httpx":
            http_clients.append(httpx.Client())
            options.setdefault("http_client", http_clients[-1])
        client = Surreal(url_for(kind, surreal_db),
                         **{**options_for(kind, surreal_db, root_token), **options})
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
    for http_client in http_clients:
        http_client.close()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each transport in turn."""
    value: str = request.param
    return value


@pytest.fixture
def db(connect: Factory, kind: str) -> Surreal:
    """A connected client on each transport in turn."""
    client = connect(kind)
    client.connect()
    return client


def open_fds() -> set[str]:
    """The file descriptors this process has open."""
    return set(os.listdir("/proc/self/fd"))


def threads() -> set[threading.Thread]:
    """The live threads (compare sets: a thread of an earlier test may still be ending)."""
    return set(threading.enumerate())
