"""wss:// and https:// against the reference server with a trustme certificate."""

from __future__ import annotations

import pytest

from surreal_sync import Surreal, TLSError
from tests.conftest import ServerInfo

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_tls_with_and_without_the_ca(surreal_tls_server: ServerInfo, scheme: str) -> None:
    server = surreal_tls_server
    url = server.ws_url if scheme == "ws" else server.http_url
    auth = {"username": server.user, "password": server.password}
    with Surreal(url, auth=auth, ssl=server.ssl_context()) as db:
        assert db.query("RETURN 1") == [1]
        assert db.health() is True
    # The default context verifies the certificate: the test CA is unknown to it.
    db = Surreal(url, auth=auth, reconnect=False)
    with pytest.raises(TLSError) as caught:
        db.query("RETURN 1")
    assert caught.value.__cause__ is not None
    db.close()
