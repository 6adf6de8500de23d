"""Connecting: options (auth provider, prepare, on_state_change, http_client), failures, one
connection for concurrent first calls, on-disk embedded engines."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from surreal_proto import ClientState
from surreal_sync import (
    ConnectionClosedError,
    InvalidAuthError,
    LocalProtocolError,
    RecordID,
    Surreal,
    SurrealConnectionError,
    SurrealError,
    UnsupportedEngineError,
    UnsupportedFeatureError,
)
from tests.conftest import DbInfo
from tests.faults.proxy import Proxy
from tests.sync.conftest import Factory, options_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    """A port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_auth_provider_prepare_and_state_callback(connect: Factory, kind: str,
                                                   surreal_db: DbInfo) -> None:
    asked: list[str] = []
    prepared: list[Any] = []
    states: list[tuple[ClientState, ClientState]] = []
    root = {"username": surreal_db.server.user, "password": surreal_db.server.password}

    def provider() -> dict[str, str]:
        asked.append(threading.current_thread().name)
        return root

    def prepare(client: Surreal) -> None:
        client.let("ready", True)  # runs during setup, before waiting calls
        prepared.append(client.query("RETURN $session.db"))

    options: dict[str, Any] = {"prepare": prepare,
                               "on_state_change": lambda old, new: states.append((old, new))}
    if kind != "mem":
        options["auth"] = provider
    db = connect(kind, **options)
    assert db.query("RETURN $ready") == [True]
    assert prepared == [[surreal_db.database]]
    assert len(asked) == (0 if kind == "mem" else 1)
    assert states[-1] == (ClientState.SETTING_UP, ClientState.OPEN)
    db.close()
    assert states[-1][1] is ClientState.CLOSED


def test_failing_callables(connect: Factory, caplog: pytest.LogCaptureFixture) -> None:
    def provider() -> str:
        raise RuntimeError("no credentials today")

    def on_state_change(old: ClientState, new: ClientState) -> None:
        raise RuntimeError("callback bug")

    db = connect("ws", auth=provider, on_state_change=on_state_change)
    with pytest.raises(SurrealError) as caught:
        db.query("RETURN 1")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert "on_state_change raised" in caplog.text  # logged, not raised


def test_a_failing_prepare_fails_the_waiting_calls(connect: Factory) -> None:
    def prepare(client: Surreal) -> None:
        raise RuntimeError("not today")

    db = connect("ws", prepare=prepare)
    with pytest.raises(SurrealError) as caught:
        db.query("RETURN 1")
    assert "not today" in str(caught.value) or isinstance(caught.value.__cause__,
                                                          RuntimeError)


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_wrong_credentials_are_typed(connect: Factory, scheme: str) -> None:
    db = connect(scheme, auth={"username": "root", "password": "wrong"})
    with pytest.raises(InvalidAuthError):
        db.query("RETURN 1")
    assert db.state is ClientState.IDLE


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_unreachable_server(scheme: str) -> None:
    db = Surreal(f"{scheme}://127.0.0.1:{free_port()}", reconnect=False)
    with pytest.raises(SurrealConnectionError) as caught:
        db.query("RETURN 1")
    assert isinstance(caught.value.__cause__, OSError)
    assert db.health() is False  # health answers instead of raising
    db.close()


def test_concurrent_first_calls_open_one_connection(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with Proxy(server.host, server.port) as proxy:
        db = Surreal(f"ws://127.0.0.1:{proxy.port}", **options_for("ws", surreal_db))
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(db.query("RETURN 1")))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert results == [[1]] * 8
        assert proxy.accepted == 1
        db.close()


def test_http_client_options(surreal_db: DbInfo) -> None:
    with httpx.Client() as client:
        with pytest.raises(UnsupportedFeatureError):  # it carries http(s) only
            Surreal(surreal_db.server.ws_url, http_client=client)
        unreachable = Surreal(f"http://127.0.0.1:{free_port()}", http_client=client)
        with pytest.raises(SurrealConnectionError):
            unreachable.connect()
        db = Surreal(surreal_db.server.http_url, http_client=client,
                     **options_for("http", surreal_db))
        assert db.query("RETURN 1") == [1]
        db.close()
        assert not client.is_closed  # the client is the caller's
    async_client = httpx.AsyncClient()
    with pytest.raises(LocalProtocolError):
        Surreal(surreal_db.server.http_url, http_client=async_client)


def test_bad_urls_are_refused_at_construction() -> None:
    with pytest.raises(UnsupportedEngineError):
        Surreal("ftp://example.com")


def test_embedded_on_disk(tmp_path: Path) -> None:
    url = f"surrealkv://{tmp_path / 'db'}"
    with Surreal(url, namespace="n", database="d") as db:
        db.create(RecordID("person", 1), {"name": "Ada"})
    with Surreal(url, namespace="n", database="d") as db:
        assert db.select(RecordID("person", 1)) == {"id": RecordID("person", 1),
                                                    "name": "Ada"}


def test_an_idle_keepalive_connection_dropped_by_the_server_is_replaced(
        surreal_db: DbInfo) -> None:
    # Servers and proxies close keep-alive connections that sit idle; the next call must go
    # out on a fresh connection instead of failing with OutcomeUnknownError on the dead one.
    server = surreal_db.server
    with (Proxy(server.host, server.port) as proxy,
          Surreal(f"http://127.0.0.1:{proxy.port}", **options_for("http", surreal_db)) as db):
        assert db.query("RETURN 1") == [1]
        before = proxy.accepted
        proxy.cut()  # while the client is idle
        time.sleep(0.7)
        assert db.query("RETURN 2") == [2]
        assert db.query("RETURN 3") == [3]
        assert proxy.accepted == before + 1


@pytest.mark.parametrize("kind", ["ws", "http"])
def test_a_reply_beyond_max_message_size_fails_promptly_and_the_client_goes_on(
        connect: Factory, kind: str) -> None:
    db = connect(kind, max_message_size=4096)
    db.query("CREATE big:1 SET blob = $blob RETURN NONE", {"blob": "x" * 20_000})
    # Sending the read again would only fetch the same reply: it fails with the size error
    # (before, it was re-fetched link after link until its deadline: SurrealTimeoutError).
    with pytest.raises(ConnectionClosedError, match=r"\(4096 bytes\)") as info:
        db.select(RecordID("big", 1))
    assert info.value.code == 1009
    assert db.query("RETURN 1") == [1]
