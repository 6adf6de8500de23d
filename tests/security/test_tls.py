"""TLS refuses every certificate it cannot verify, and never falls back to plain text.

``tests/{sync,asyncio,trio}/test_tls.py`` cover the reference server over TLS: a trusted CA
through ``ssl=`` succeeds, the default context (which does not know the test CA) fails. Here
a small TLS peer serves certificates that are wrong in one way each (a host name it does not
cover, a self-signed certificate, an expired one) to clients of every adapter over ``wss://``
and ``https://``, while the client trusts the CA that signed them through ``ssl=``: each
fails with :class:`TLSError` whose cause is the ``ssl`` verification error, and every byte
the peer received was TLS (a handshake record), never a plain-text upgrade or request.

Unencrypted ``ws://``/``http://`` to a host other than this machine logs one warning per
client (``InsecureTransportDetected``, decided in the core from ``Endpoint.is_loopback``);
the test resolves a made-up host name to the reference server on 127.0.0.1, so no traffic
leaves the machine.
"""

from __future__ import annotations

import datetime
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from surreal_proto import SurrealError, TLSError
from tests.conftest import ServerInfo

from .adapters import Kit, run

pytestmark = pytest.mark.integration

NOW = datetime.datetime.now(datetime.UTC)


@dataclass
class TlsPeer:
    """A TLS server on ``localhost`` that records the first bytes of every connection."""

    cert_pem: bytes
    key_pem: bytes
    port: int = 0
    first_bytes: list[bytes] = field(default_factory=list)
    handshakes: int = 0
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, tmp: Path) -> None:
        cert, key = tmp / "cert.pem", tmp / "key.pem"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._sock = socket.create_server(("localhost", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5.0)
                try:
                    self.first_bytes.append(conn.recv(16, socket.MSG_PEEK))
                    with self._context.wrap_socket(conn, server_side=True) as tls:
                        self.handshakes += 1
                        tls.recv(1024)  # the upgrade or request: answered with nothing
                except (OSError, ssl.SSLError):
                    pass

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            self._sock.close()

    def urls(self) -> dict[str, str]:
        return {"wss": f"wss://localhost:{self.port}", "https": f"https://localhost:{self.port}"}


def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@dataclass
class Certs:
    ca: trustme.CA
    peers: dict[str, TlsPeer]

    def trusting_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certs]:
    ca = trustme.CA()

    def leaf(cert: trustme.LeafCert) -> tuple[bytes, bytes]:
        return b"".join(p.bytes() for p in cert.cert_chain_pems), cert.private_key_pem.bytes()

    made = {
        "good": leaf(ca.issue_cert("localhost")),
        "wrong host": leaf(ca.issue_cert("db.example.com")),
        "expired": leaf(ca.issue_cert("localhost",
                                      not_before=NOW - datetime.timedelta(days=30),
                                      not_after=NOW - datetime.timedelta(days=1))),
        "self-signed": _self_signed(),
    }
    peers: dict[str, TlsPeer] = {}
    try:
        for name, (cert, key) in made.items():
            peers[name] = TlsPeer(cert, key)
            peers[name].start(tmp_path_factory.mktemp(name.replace(" ", "-")))
        yield Certs(ca, peers)
    finally:
        for peer in peers.values():
            peer.stop()


def _verify_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


REASONS = {
    "wrong host": "Hostname mismatch",
    "expired": "certificate has expired",
    "self-signed": "self-signed certificate",
}


@pytest.mark.parametrize("scheme", ["wss", "https"])
@pytest.mark.parametrize("problem", sorted(REASONS))
def test_a_certificate_that_cannot_be_verified_is_a_tls_error(
        certs: Certs, adapter: str, scheme: str, problem: str) -> None:
    peer = certs.peers[problem]
    before = len(peer.first_bytes)

    async def scenario(kit: Kit) -> None:
        for context in (certs.trusting_context(), None):  # ssl= and the default context
            db = kit.make(peer.urls()[scheme], ssl=context, reconnect=False,
                          connect_timeout=5.0)
            with pytest.raises(TLSError) as caught:
                await db.query("RETURN 1")
            await db.close()
            cause = _verify_error(caught.value)
            assert cause is not None, repr(caught.value)
            if context is not None:
                assert REASONS[problem] in cause.verify_message, cause.verify_message
            assert "password" not in str(caught.value)

    run(adapter, scenario)
    sent = peer.first_bytes[before:]
    assert sent, "the client never connected"
    # Every connection began with a TLS handshake record (0x16, TLS 1.x): nothing in clear.
    assert all(b[:1] == b"\x16" and b[1:2] == b"\x03" for b in sent), sent
    assert peer.handshakes == 0


@pytest.mark.parametrize("scheme", ["wss", "https"])
def test_the_trusted_certificate_gets_past_tls(certs: Certs, adapter: str,
                                               scheme: str) -> None:
    # The control for the test above: the same peer with a good certificate completes the
    # handshake (then answers nothing, so the call fails, but not with TLSError).
    peer = certs.peers["good"]
    handshakes = peer.handshakes

    async def scenario(kit: Kit) -> None:
        db = kit.make(peer.urls()[scheme], ssl=certs.trusting_context(), reconnect=False,
                      connect_timeout=5.0, timeout=5.0)
        with pytest.raises(SurrealError) as caught:  # no WebSocket or HTTP answer
            await db.query("RETURN 1")
        await db.close()
        assert not isinstance(caught.value, TLSError)

    run(adapter, scenario)
    assert peer.handshakes > handshakes


# --------------------------------------------------------------------------- plain text


INSECURE = "surreal_sync", "surreal_asyncio", "surreal_trio"


@pytest.fixture
def remote_name(monkeypatch: pytest.MonkeyPatch, surreal_server: ServerInfo) -> str:
    """A host name that is not this machine's (by its spelling), resolved to 127.0.0.1."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("db.example.test", b"db.example.test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return "db.example.test"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING
            and ("unencrypted" in r.getMessage() or "not encrypted" in r.getMessage())]


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_plain_text_to_another_host_warns_once_per_client(
        adapter: str, scheme: str, remote_name: str, surreal_server: ServerInfo,
        root_token: str, caplog: pytest.LogCaptureFixture) -> None:
    port = surreal_server.ws_url.rsplit(":", 1)[1]
    url = f"{scheme}://{remote_name}:{port}"
    caplog.set_level(logging.DEBUG)

    async def scenario(kit: Kit) -> None:
        async with kit.open(url, auth=root_token, reconnect=False) as db:
            for _ in range(3):
                assert await db.query("RETURN 1") == [1]
        assert len(_warnings(caplog)) == 1
        async with kit.open(url, auth=root_token, reconnect=False) as db:
            assert await db.query("RETURN 2") == [2]
        assert len(_warnings(caplog)) == 2  # once per client

    run(adapter, scenario)
    (first, _) = _warnings(caplog)
    assert first.name.startswith(INSECURE)
    assert remote_name in first.getMessage()
    assert root_token not in caplog.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_plain_text_to_this_machine_does_not_warn(
        adapter: str, host: str, surreal_server: ServerInfo, root_token: str,
        caplog: pytest.LogCaptureFixture) -> None:
    port = surreal_server.ws_url.rsplit(":", 1)[1]
    caplog.set_level(logging.DEBUG)

    async def scenario(kit: Kit) -> None:
        for scheme in ("ws", "http"):
            async with kit.open(f"{scheme}://{host}:{port}", auth=root_token,
                                reconnect=False) as db:
                assert await db.query("RETURN 1") == [1]

    run(adapter, scenario)
    assert _warnings(caplog) == []
