"""The fault proxy itself, against a local echo server: each fault does what it says."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.faults.proxy import Proxy


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=serve, args=(listener.accept()[0],),
                                 daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()


@pytest.fixture
def proxy(echo: int) -> Iterator[Proxy]:
    with Proxy("127.0.0.1", echo) as made:
        yield made


def connect(proxy: Proxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.settimeout(5)
    return sock


def read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n and (chunk := sock.recv(n - len(data))):
        data += chunk
    return data


def test_forwards_and_counts(proxy: Proxy) -> None:
    with connect(proxy) as a, connect(proxy) as b:
        a.sendall(b"hello")
        b.sendall(b"world")
        assert read(a, 5) == b"hello"
        assert read(b, 5) == b"world"
    assert proxy.accepted == 2


def test_cut_resets_every_connection(proxy: Proxy) -> None:
    with connect(proxy) as sock:
        sock.sendall(b"x")
        assert read(sock, 1) == b"x"
        proxy.cut()
        assert proxy.open_connections == 0
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1) == b""
    with connect(proxy) as sock:  # new connections are still accepted
        sock.sendall(b"y")
        assert read(sock, 1) == b"y"


def test_cut_after_forwards_only_the_first_bytes(proxy: Proxy) -> None:
    with connect(proxy) as sock:
        sock.sendall(b"a")
        assert read(sock, 1) == b"a"
        proxy.cut_after(3, "down")
        sock.sendall(b"0123456789")
        got = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(100):
                got += chunk
        assert got == b"012"


def test_stall_swallows_everything_but_new_connections_work(proxy: Proxy) -> None:
    with connect(proxy) as old:
        old.sendall(b"a")
        assert read(old, 1) == b"a"
        proxy.stall()
        old.sendall(b"b")
        old.settimeout(0.3)
        with pytest.raises(TimeoutError):
            old.recv(1)
        with connect(proxy) as new:
            new.sendall(b"c")
            assert read(new, 1) == b"c"


def test_delay_holds_each_chunk(proxy: Proxy) -> None:
    with connect(proxy) as sock:
        proxy.delay(0.3, "down")
        started = time.monotonic()
        sock.sendall(b"a")
        assert read(sock, 1) == b"a"
        assert time.monotonic() - started >= 0.3
        proxy.delay(0)
        sock.sendall(b"b")
        assert read(sock, 1) == b"b"


def test_corrupt_next_flips_one_byte_once(proxy: Proxy) -> None:
    with connect(proxy) as sock:
        proxy.corrupt_next(offset=1, mask=0x01)
        sock.sendall(b"abc")
        assert read(sock, 3) == b"acc"
        sock.sendall(b"abc")
        assert read(sock, 3) == b"abc"


@pytest.mark.parametrize("how", ["close", "unlisten"])
def test_refuse_then_accept_again(proxy: Proxy, how: str) -> None:
    proxy.refuse(how)  # type: ignore[arg-type]
    if how == "unlisten":
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
    else:
        try:
            sock = connect(proxy)
        except OSError:  # reset before connect() returned
            pass
        else:
            with sock, contextlib.suppress(ConnectionResetError):
                assert sock.recv(1) == b""
        assert proxy.refused == 1
    proxy.accept_again()
    with connect(proxy) as sock:
        sock.sendall(b"z")
        assert read(sock, 1) == b"z"
