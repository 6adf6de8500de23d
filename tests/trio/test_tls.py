"""``wss`` and ``https`` against the TLS reference server: the ``trustme`` CA through the
``ssl`` option succeeds; without it (the default context verifies) the connect fails with
``TLSError``, the ssl error as its cause."""

from __future__ import annotations

import ssl

import httpx
import pytest

from surreal_trio import AsyncSurreal, TLSError
from tests.conftest import ServerInfo
from tests.trio.helpers import guard

pytestmark = [pytest.mark.trio, pytest.mark.integration]


def urls(server: ServerInfo) -> list[str]:
    return [server.ws_url, server.http_url]


@guard()
async def test_tls_with_the_ca(surreal_tls_server: ServerInfo) -> None:
    server = surreal_tls_server
    root = {"username": server.user, "password": server.password}
    for url in urls(server):
        assert url.startswith(("wss://", "https://"))
        async with AsyncSurreal(url, ssl=server.ssl_context(), auth=root, namespace="tls",
                                database="tls") as db:
            assert await db.query("RETURN 'secure'") == ["secure"]


@guard()
async def test_tls_without_the_ca_fails(surreal_tls_server: ServerInfo) -> None:
    for url in urls(surreal_tls_server):
        with pytest.raises(TLSError) as info:
            async with AsyncSurreal(url, reconnect=False):
                pass  # pragma: no cover
        assert isinstance(info.value.__cause__, ssl.SSLError)
        db = AsyncSurreal(url)
        with pytest.raises(TLSError):
            await db.ping()
        await db.close()


@guard()
async def test_tls_through_an_httpx_client(surreal_tls_server: ServerInfo) -> None:
    server = surreal_tls_server
    root = {"username": server.user, "password": server.password}
    async with (httpx.AsyncClient(verify=server.ssl_context() or True) as client,
                AsyncSurreal(server.http_url, http_client=client, auth=root) as db):
        assert await db.query("RETURN 'secure'") == ["secure"]
    async with httpx.AsyncClient() as client:  # verifies against the system CAs
        with pytest.raises(TLSError):
            async with AsyncSurreal(server.http_url, http_client=client):
                pass  # pragma: no cover
