"""Fixtures of the fault tests: a proxy in front of the shared reference server, a dedicated
reference server on ``surrealkv://`` storage to restart, and a hang guard.

Every test runs under ``faulthandler.dump_traceback_later``: a test that hangs dumps every
thread's stack and ends the run instead of blocking CI.
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator

import pytest

from tests._server import ReferenceServer
from tests.conftest import ServerInfo
from tests.faults.proxy import Proxy

#: Seconds after which a hanging test aborts the run (with every thread's stack).
HANG_GUARD = 90.0


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    faulthandler.dump_traceback_later(HANG_GUARD, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def proxy(surreal_server: ServerInfo) -> Iterator[Proxy]:
    """A fault-injecting proxy in front of the shared server (closed after the test)."""
    with Proxy(surreal_server.host, surreal_server.port) as made:
        yield made


@pytest.fixture(scope="session")
def restartable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    """A reference server of its own on ``surrealkv://`` storage, for tests that restart it
    (data survives a restart; the port stays the same)."""
    if os.environ.get("SURREAL_TEST_URL"):
        pytest.skip("restart tests need the reference server")
    directory = tmp_path_factory.mktemp("surrealkv")
    server = ReferenceServer(storage=f"surrealkv://{directory / 'data'}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
