"""Resource limits against hostile peers: a typed error, and memory that stays bounded.

Core (``limits_probe.py``, each probe in its own interpreter so that its peak RSS is its own;
all run at once): a WebSocket frame declaring 2**62 bytes, a message whose fragments never
end, millions of tiny (and of empty) fragments, a flood of pings, 100,000 nested arrays, maps
or tags, an HTTP response declaring a terabyte and an endless chunked one. With
``max_message_size`` = 1 MiB and up to 256 MiB on offer, each stops reading at the limit with
a :class:`ConnectionClosedError` (close code 1009), or skips the message it cannot decode
(nesting) and keeps working; the process never grows by more than :data:`BUDGET`.

Adapters: a fake server on a real socket (a real WebSocket handshake, then crafted bytes;
or a crafted HTTP response) streams an endless message at a client of each adapter: the call
fails with a typed error, and the server could push only a bounded amount before the client
stopped reading and closed.

cbor2 itself refuses to nest deeper than its ``max_depth`` (400 by default) with its
``CBORDecodeError``, which the core turns into :class:`RemoteProtocolError` (its own limit is
``DEFAULT_MAX_DEPTH`` = 256): no ``RecursionError``, no crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from surreal_proto import (
    ConnectionClosedError,
    SurrealError,
    SurrealTimeoutError,
)
from surreal_proto._codec import decode
from surreal_proto._errors import RemoteProtocolError
from tests.proto.helpers import FakeSurrealPeer

from . import limits_probe
from .adapters import Kit, run

ROOT = Path(__file__).resolve().parents[2]
#: The most a probe's process may grow (peak RSS) with a 1 MiB message limit.
BUDGET = 16 << 20


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, Any]]:
    """Every probe's JSON result, the probes run in parallel subprocesses."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    running = {name: subprocess.Popen(
        [sys.executable, "-m", "tests.security.limits_probe", name], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in limits_probe.PROBES}
    results: dict[str, dict[str, Any]] = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{name} crashed ({process.returncode}): {err[-2000:]}"
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.parametrize(("name", "fed_at_most"), [
    ("huge_declared_frame", 64),  # refused on the frame header alone
    ("endless_fragments", limits_probe.LIMIT + limits_probe.CHUNK + 64),
    ("tiny_fragments", limits_probe.LIMIT * 2 + limits_probe.CHUNK),  # 4 bytes carry 2
    ("http_huge_length", 256),  # refused on the Content-Length
    ("http_endless_chunked", limits_probe.LIMIT + 2 * limits_probe.CHUNK),
])
def test_too_big_is_refused_as_it_arrives(probes: dict[str, dict[str, Any]], name: str,
                                          fed_at_most: int) -> None:
    result = probes[name]
    assert result["outcome"].startswith("closed 1009"), result
    assert "larger than max_" in result["outcome"]
    assert result["error"] == "ConnectionClosedError"
    assert result["fed"] <= fed_at_most  # it stopped reading: 256 MiB were on offer
    assert result["grew"] < BUDGET, result


@pytest.mark.parametrize("name", ["empty_fragments", "ping_flood"])
def test_floods_of_small_frames_cost_no_memory(probes: dict[str, dict[str, Any]],
                                               name: str) -> None:
    result = probes[name]
    assert result["outcome"] == "open"
    assert result["replied"]  # the connection still works afterwards
    assert result["grew"] < BUDGET, result


@pytest.mark.parametrize("name", ["nested_arrays", "nested_maps", "nested_tags"])
def test_deep_nesting_is_a_skipped_message(probes: dict[str, dict[str, Any]],
                                           name: str) -> None:
    result = probes[name]
    assert result["outcome"] == "open"
    assert result["violations"] == 1  # ProtocolViolation: skipped, logged by the adapters
    assert result["replied"]
    assert result["grew"] < BUDGET, result


@pytest.mark.parametrize("opener", [b"\x81", b"\xa1\x00", b"\xd9\x03\xe8", b"\x9f"])
def test_deep_nesting_is_a_remote_protocol_error(opener: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="depth"):
        decode(opener * 100_000 + b"\x00")


# --------------------------------------------------------------------------- adapters


class HostileServer:
    """A server on a real socket: ``answer(conn, first_bytes)`` plays the hostile part.

    Counts the bytes it pushed (:attr:`pushed`) until the client stops reading or closes.
    """

    def __init__(self, answer: Callable[[socket.socket, bytes], None]) -> None:
        self._answer = answer
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self.pushed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(3.0)
                with contextlib.suppress(OSError):
                    self._answer(conn, conn.recv(65536))

    def push_forever(self, conn: socket.socket, head: bytes, limit: int = 256 << 20) -> None:
        conn.sendall(head)
        zeros = b"\x00" * 65536
        while self.pushed < limit and not self._stop.is_set():
            conn.sendall(zeros)  # blocks once the client stops reading: a timeout ends it
            self.pushed += len(zeros)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def _websocket(server: list[HostileServer]) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, data: bytes) -> None:
        peer = FakeSurrealPeer()
        peer.receive(data)
        conn.sendall(peer.accept())
        while not peer.requests:
            peer.receive(conn.recv(65536))
        # The reply to the first request: a frame declaring 1 TiB, and its payload forever.
        server[0].push_forever(conn, b"\x82\x7f" + struct.pack("!Q", 1 << 40))
    return answer


def _http(server: list[HostileServer]) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, data: bytes) -> None:
        server[0].push_forever(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\nfffffff\r\n")
    return answer


@pytest.fixture(params=["ws", "http"])
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[str, HostileServer]]:
    holder: list[HostileServer] = []
    make = _websocket if request.param == "ws" else _http
    server = HostileServer(make(holder))
    holder.append(server)
    try:
        yield f"{request.param}://127.0.0.1:{server.port}", server
    finally:
        server.close()


def test_an_endless_reply_is_a_typed_error(adapter: str,
                                           hostile: tuple[str, HostileServer]) -> None:
    url, server = hostile

    async def scenario(kit: Kit) -> SurrealError:
        db = kit.make(url, max_message_size=256 * 1024, reconnect=False, timeout=10.0,
                      connect_timeout=5.0)
        try:
            with pytest.raises(SurrealError) as caught:
                await db.query("RETURN 1")
        finally:
            await db.close()
        return caught.value

    error = run(adapter, scenario)
    assert not isinstance(error, SurrealTimeoutError)
    # Over HTTP the pooled connection is dropped at the limit too; the query ran, and is not
    # sent again (it would only get the same reply).
    assert isinstance(error, ConnectionClosedError), repr(error)
    assert error.code == 1009
    assert "(262144 bytes)" in str(error)
    # It stopped reading at the limit: what the server pushed is the limit plus what the
    # sockets' buffers hold, not the 256 MiB it had to offer.
    assert server.pushed < 32 << 20
