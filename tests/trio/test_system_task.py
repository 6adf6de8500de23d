"""The client used without ``async with`` runs its service as a trio system task: one the
user forgets to close is cleaned up when ``trio.run`` ends."""

from __future__ import annotations

import pytest
import trio

from surreal_trio import AsyncSurreal
from tests.conftest import ServerInfo
from tests.trio.helpers import open_fds

pytestmark = pytest.mark.integration


def test_forgotten_client_is_cleaned_up_when_the_run_ends(surreal_server: ServerInfo) -> None:
    """Without ``async with`` and without ``close()``, the service runs as a system task;
    trio cancels it when the run ends, which closes the socket."""
    fds = open_fds()

    async def main() -> None:
        with trio.fail_after(10):
            db = AsyncSurreal(surreal_server.ws_url)
            await db.ping()
            assert db._driver._service is not None

    trio.run(main)
    assert open_fds() == fds


def test_client_built_outside_trio_run(surreal_server: ServerInfo) -> None:
    """Construction does no I/O and needs no running trio: the client is built at module
    level, as in the seed, and used inside ``trio.run``."""
    db = AsyncSurreal(surreal_server.ws_url, namespace="outside", database="run",
                      auth={"username": surreal_server.user,
                            "password": surreal_server.password})

    async def main() -> None:
        with trio.fail_after(10):
            async with db:
                assert await db.query("RETURN $session.db") == ["run"]

    trio.run(main)
