"""Fixtures of the security tests: the reference server's root token, client options."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_sync import Surreal
from tests.conftest import DbInfo, ServerInfo

from .adapters import ADAPTERS


@pytest.fixture(scope="session")
def root_token(surreal_server: ServerInfo) -> str:
    """An access token of the root user (``authenticate`` is cheaper than a signin)."""
    with Surreal(surreal_server.ws_url) as db:
        token = db.signin({"username": surreal_server.user,
                           "password": surreal_server.password}).access
    assert token is not None
    return token


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    """Each adapter in turn: ``sync``, ``asyncio``, ``trio``."""
    value: str = request.param
    return value


@pytest.fixture
def options(surreal_db: DbInfo, root_token: str) -> dict[str, Any]:
    """Client options: root on the test's own namespace and database."""
    return {"namespace": surreal_db.namespace, "database": surreal_db.database,
            "auth": root_token, "timeout": 10.0, "reconnect": False}
