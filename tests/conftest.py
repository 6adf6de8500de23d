"""Shared fixtures: the reference server (or an external real server) and fresh databases.

* ``surreal_server`` (session): a :class:`ServerInfo` for a running server. By default the
  reference server (``tests/server/server.mjs``, the real engine from npm ``@surrealdb/node``);
  with ``SURREAL_TEST_URL`` set (e.g. ``ws://127.0.0.1:8000``), that real ``surreal start``
  server instead, signed in with ``SURREAL_TEST_USER``/``SURREAL_TEST_PASS`` (default
  ``root``/``root``).
* ``surreal_tls_server`` (session): the reference server over TLS, with a ``trustme`` CA whose
  certificate covers ``127.0.0.1`` and ``localhost`` (skipped with ``SURREAL_TEST_URL``).
* ``surreal_db`` (function): a :class:`DbInfo` with a namespace/database pair no other test uses.

Each server starts once per test session. Mark tests that use them ``integration``.
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests._server import ReferenceServer
from tests.rawws import RawWs


@dataclass(frozen=True)
class ServerInfo:
    """Where a test server is, and its root credentials."""

    ws_url: str
    """``ws://host:port`` (or ``wss://``), without ``/rpc``."""
    http_url: str
    """``http://host:port`` (or ``https://``)."""
    user: str
    password: str
    reference: ReferenceServer | None = None
    """The reference server process (``None`` for an external server)."""
    ca: Any = None
    """For TLS servers: the ``trustme.CA`` that signed the server's certificate."""
    cert_paths: tuple[Path, Path] | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.ws_url.startswith("wss:")

    @property
    def host(self) -> str:
        return urlsplit(self.http_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.http_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts this server's CA (``None`` for plain servers)."""
        if self.ca is None:
            return None
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def failure_context(self) -> str:
        """The reference server's stderr tail, for assertion messages."""
        return self.reference.stderr_tail() if self.reference is not None else ""


@dataclass(frozen=True)
class DbInfo:
    """A namespace/database pair for one test, on ``server``."""

    server: ServerInfo
    namespace: str
    database: str


def _external_server() -> ServerInfo | None:
    url = os.environ.get("SURREAL_TEST_URL")
    if not url:
        return None
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    netloc = parts.netloc
    return ServerInfo(
        ws_url=f"{'wss' if secure else 'ws'}://{netloc}",
        http_url=f"{'https' if secure else 'http'}://{netloc}",
        user=os.environ.get("SURREAL_TEST_USER", "root"),
        password=os.environ.get("SURREAL_TEST_PASS", "root"),
    )


@pytest.fixture(scope="session")
def surreal_server() -> Iterator[ServerInfo]:
    external = _external_server()
    if external is not None:
        yield external
        return
    server = ReferenceServer()
    server.start()
    try:
        yield ServerInfo(
            ws_url=server.ws_url,
            http_url=server.http_url,
            user=server.user,
            password=server.password,
            reference=server,
        )
    finally:
        server.stop()


@pytest.fixture(scope="session")
def surreal_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    if os.environ.get("SURREAL_TEST_URL"):
        pytest.skip("the TLS reference server is not used with SURREAL_TEST_URL")
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    directory = tmp_path_factory.mktemp("tls")
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    cert.private_key_pem.write_to_path(str(key_path))
    server = ReferenceServer(tls=(cert_path, key_path))
    server.start()
    try:
        yield ServerInfo(
            ws_url=server.wss_url,
            http_url=server.https_url,
            user=server.user,
            password=server.password,
            reference=server,
            ca=ca,
            cert_paths=(cert_path, key_path),
        )
    finally:
        server.stop()


@pytest.fixture
def surreal_db(surreal_server: ServerInfo) -> DbInfo:
    """A fresh namespace/database pair, created on the server (3.x ``use`` creates them)."""
    suffix = uuid.uuid4().hex[:12]
    info = DbInfo(surreal_server, namespace=f"test_ns_{suffix}", database=f"test_db_{suffix}")
    with RawWs(surreal_server.ws_url, ssl_context=surreal_server.ssl_context()) as ws:
        ws.signin_root(surreal_server.user, surreal_server.password)
        ws.use(info.namespace, info.database)
    return info
