"""Hostile-peer probes for the core, run in a fresh interpreter by ``test_limits.py``.

``python -m tests.security.limits_probe NAME`` runs one probe and prints one JSON line: what
the connection did (``outcome``), how many bytes it was fed before it stopped reading
(``fed``), and the memory the process gained while the probe ran: ``grew`` (peak RSS,
``ru_maxrss``, minus the RSS measured right before the probe, in bytes). A fresh process
makes the peak the probe's own. Each probe feeds the bytes in 64 KiB chunks, as a socket
would, and drains events and outgoing bytes after each chunk, as an adapter does.
"""

from __future__ import annotations

import itertools
import json
import resource
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any

from surreal_proto._events import ConnectionClosed, ProtocolViolation, ResponseReceived
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._state import ConnectionState
from tests.proto.helpers import ClientServerPair

CHUNK = 65536
LIMIT = 1 << 20
#: How much a probe may stream at most: far past every limit.
STREAM = 256 << 20
ZEROS = b"\x00" * CHUNK


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak() -> int:
    # VmHWM, the peak RSS of this process image. Not ru_maxrss: Linux carries that over
    # from the parent across fork and exec, so it may be the test runner's.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def ws_pair() -> ClientServerPair:
    pair = ClientServerPair(max_message_size=LIMIT, keepalive_interval=None)
    pair.open()
    pair.call("ping")
    return pair


def feed_ws(pair: ClientServerPair, head: bytes, body: Iterator[bytes]) -> dict[str, Any]:
    client = pair.client
    fed = 0
    events: list[Any] = []
    for chunk in itertools.chain((head,), body):
        client.receive_data(chunk, 1.0)
        fed += len(chunk)
        client.data_to_send()
        events += client.events()
        if client.state is ConnectionState.CLOSED:
            break
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    return {
        "outcome": f"closed {closed[0].code}: {closed[0].error}" if closed else "open",
        "violations": sum(isinstance(e, ProtocolViolation) for e in events),
        "error": type(closed[0].error).__name__ if closed else None,
        "fed": fed,
    }


def endless(piece: bytes = ZEROS, total: int = STREAM) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


def huge_declared_frame() -> dict[str, Any]:
    # A binary frame that declares 2**62 bytes, then an endless stream of its payload.
    return feed_ws(ws_pair(), b"\x82\x7f" + struct.pack("!Q", 1 << 62), endless())


def endless_fragments() -> dict[str, Any]:
    # A message that never ends: a first binary fragment, then 64 KiB continuation frames.
    frame = b"\x00\x7e" + struct.pack("!H", CHUNK - 4) + b"\x00" * (CHUNK - 4)
    return feed_ws(ws_pair(), b"\x02\x00", endless(frame))


def tiny_fragments() -> dict[str, Any]:
    # Millions of tiny frames: two-byte continuation frames of one message, forever.
    return feed_ws(ws_pair(), b"\x02\x02ab", endless(b"\x00\x02ab" * (CHUNK // 4), 4 << 20))


def empty_fragments() -> dict[str, Any]:
    # A million empty continuation frames (no size to count), then the message's last frame:
    # a complete, if odd, message that the connection survives.
    pair = ws_pair()
    result = feed_ws(pair, b"\x02\x00", endless(b"\x00\x00" * (CHUNK // 2), 2 << 20))
    pair.client.receive_data(b"\x80\x00" + pair.server.reply(1, "after"), 2.0)
    result["replied"] = any(isinstance(e, ResponseReceived) for e in pair.client.events())
    return result


def ping_flood() -> dict[str, Any]:
    # 8,192 pings; the pongs are drained after each chunk. Then a real reply still arrives.
    pair = ws_pair()
    result = feed_ws(pair, b"", endless(b"\x89\x00" * 8192, 2 * 8192))
    pair.client.receive_data(pair.server.reply(1, "pong"), 2.0)
    result["replied"] = any(isinstance(e, ResponseReceived) for e in pair.client.events())
    return result


def nested(opener: bytes) -> Callable[[], dict[str, Any]]:
    # 100,000 nested containers (or tags) in one 100 KB message: too deep for the decoder.
    def probe() -> dict[str, Any]:
        pair = ws_pair()
        result = feed_ws(pair, pair.server.raw(opener * 100_000 + b"\x00"), iter(()))
        pair.client.receive_data(pair.server.reply(1, "after"), 2.0)
        result["replied"] = any(isinstance(e, ResponseReceived) for e in pair.client.events())
        return result
    return probe


def http_client() -> HttpConnection:
    client = HttpConnection("localhost", context=HttpContext(namespace="n"),
                            max_response_size=LIMIT)
    client.connect(0.0)
    client.ping(timeout=None, now=0.0)
    client.data_to_send()
    return client


def feed_http(client: HttpConnection, head: bytes, body: Iterator[bytes]) -> dict[str, Any]:
    fed = 0
    events: list[Any] = []
    for chunk in itertools.chain((head,), body):
        client.receive_data(chunk, 1.0)
        fed += len(chunk)
        events += client.events()
        if client.state is ConnectionState.CLOSED:
            break
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    return {"outcome": f"closed {closed[0].code}: {closed[0].error}" if closed else "open",
            "error": type(closed[0].error).__name__ if closed else None, "fed": fed}


def http_huge_length() -> dict[str, Any]:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\n"
            b"Content-Length: 1000000000000\r\n\r\n")
    return feed_http(http_client(), head, endless())


def http_endless_chunked() -> dict[str, Any]:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/cbor\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % (CHUNK - 16) + b"\x00" * (CHUNK - 16) + b"\r\n"
    return feed_http(http_client(), head, endless(chunk))


PROBES: dict[str, Callable[[], dict[str, Any]]] = {
    "huge_declared_frame": huge_declared_frame,
    "endless_fragments": endless_fragments,
    "tiny_fragments": tiny_fragments,
    "empty_fragments": empty_fragments,
    "ping_flood": ping_flood,
    "nested_arrays": nested(b"\x81"),
    "nested_maps": nested(b"\xa1\x00"),
    "nested_tags": nested(b"\xd9\x03\xe8"),  # tag 1000, an unknown tag, around itself
    "http_huge_length": http_huge_length,
    "http_endless_chunked": http_endless_chunked,
}


def main(name: str) -> None:
    probe = PROBES[name]
    before = rss()
    result = probe()
    result["grew"] = max(0, peak() - before)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
