"""wss:// and https:// (API.md §3 ``ssl``): a trusted CA succeeds, the default context
(which does not trust the test CA) fails with ``TLSError``, and nothing is left open."""

from __future__ import annotations

import ssl

import pytest

from surreal_asyncio import AsyncSurreal, RecordID, TLSError
from tests.asyncio.helpers import aio, open_fds
from tests.conftest import ServerInfo

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["wss", "https"])
@aio
async def test_trusted_ca_succeeds(surreal_tls_server: ServerInfo, kind: str) -> None:
    server = surreal_tls_server
    url = server.ws_url if kind == "wss" else server.http_url
    context = server.ssl_context()
    assert context is not None
    async with AsyncSurreal(url, ssl=context, namespace="tls", database="tls",
                            auth={"username": server.user, "password": server.password}) as db:
        await db.upsert(RecordID("secure", 1), {"ok": True})
        assert await db.select(RecordID("secure", 1)) == {"id": RecordID("secure", 1),
                                                          "ok": True}


@pytest.mark.parametrize("kind", ["wss", "https"])
@aio
async def test_untrusted_certificate_is_a_tls_error(surreal_tls_server: ServerInfo,
                                                    kind: str) -> None:
    server = surreal_tls_server
    url = server.ws_url if kind == "wss" else server.http_url
    before = open_fds()
    for context in (None, ssl.create_default_context()):
        db = AsyncSurreal(url, ssl=context, reconnect=False)
        with pytest.raises(TLSError) as caught:
            await db.connect()
        assert isinstance(caught.value.__cause__, ssl.SSLError)
        await db.close()
    assert open_fds() == before
