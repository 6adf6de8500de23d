"""Fixtures of the trio adapter's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import DbInfo
from tests.trio.helpers import TRANSPORTS, Target, target_for


@pytest.fixture(params=TRANSPORTS)
async def target(request: pytest.FixtureRequest, surreal_db: DbInfo) -> AsyncIterator[Target]:
    """The test's database over ``ws``, ``http``, ``http`` through an ``httpx.AsyncClient``,
    and ``mem://``, in turn."""
    if request.param != "httpx":
        yield target_for(request.param, surreal_db)
        return
    verify = surreal_db.server.ssl_context() or True
    async with httpx.AsyncClient(verify=verify) as client:
        yield target_for("httpx", surreal_db, client)
