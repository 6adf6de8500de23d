"""WebSocket framing once the connection is open: the core reads the server's frames and builds
its own (``_read_frames``, ``_binary_frame``), wsproto only does the handshake and control
frames. These tests hold that framing to wsproto's: the same messages, the same pongs, the
same close codes, for any mix of frames cut anywhere (a differential test), and the exact
bytes of what we send.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from surreal_proto._errors import RemoteProtocolError
from surreal_proto._events import AnyEvent, ConnectionClosed, ProtocolViolation
from surreal_proto._rpc import RpcLayer
from surreal_proto._state import ConnectionState

from .helpers import FEED, ClientServerPair, only_closed

FUZZ = settings(max_examples=int(os.environ.get("SURREAL_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
          mask: bytes | None = None, length_bytes: int | None = None) -> bytes:
    """A server frame built by hand, so that it can also be wrong."""
    n = len(payload)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n < 0x10000 else 8
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    masked = 0x80 if mask is not None else 0
    if length_bytes == 0:
        head += bytes([masked | n])
    elif length_bytes == 2:
        head += bytes([masked | 126]) + struct.pack("!H", n)
    else:
        head += bytes([masked | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def reply(n: int, size: int = 0) -> bytes:
    """A reply to a request never sent (a ProtocolViolation naming ``n``), ``size`` bytes
    bigger than the smallest."""
    return cbor2.dumps({"id": n, "result": b"x" * size})


def fragments(opcode: int, payload: bytes, cuts: list[int],
              controls: list[bytes]) -> bytes:
    """``payload`` as one message in fragments cut at ``cuts``, ``controls`` in between."""
    bounds = sorted({c % (len(payload) + 1) for c in cuts} | {0, len(payload)})
    pieces = [payload[a:b] for a, b in itertools.pairwise(bounds)] or [b""]
    data = b""
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        data += frame(opcode if index == 0 else 0, piece, fin=last)
        if not last and index < len(controls):
            data += controls[index]
    return data


# ---------------------------------------------------------------------------- the reference


def wsproto_reading(data: bytes, cuts: list[int]) -> tuple[list[bytes], list[bytes], int | None]:
    """What a wsproto client makes of ``data``: the messages, the ping payloads, and the close
    code (a Close frame's, or the one wsproto fails the connection with)."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="h", target="/rpc", subprotocols=["cbor"])))
    list(server.events())
    client.receive_data(server.send(AcceptConnection(subprotocol="cbor")))
    list(client.events())
    messages: list[bytes] = []
    pings: list[bytes] = []
    chunks: list[bytes] = []
    for piece in split(data, cuts):
        client.receive_data(piece)
        for event in client.events():
            if isinstance(event, BytesMessage | TextMessage):
                data_ = event.data
                chunks.append(data_.encode() if isinstance(data_, str) else bytes(data_))
                if event.message_finished:
                    messages.append(b"".join(chunks))
                    chunks.clear()
            elif isinstance(event, Ping):
                pings.append(bytes(event.payload))
            elif isinstance(event, CloseConnection):
                return messages, pings, int(event.code)
    return messages, pings, None


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def expected_events(messages: list[bytes]) -> list[str]:
    """The events an RpcLayer with nothing pending makes of ``messages``, as text."""
    events: list[AnyEvent] = []
    layer = RpcLayer(events.append)
    for message in messages:
        layer.receive_message(message, 0.0)
    return [describe(e) for e in events]


def describe(event: AnyEvent) -> str:
    assert isinstance(event, ProtocolViolation), event
    return str(event.error)


def pongs_in(data: bytes) -> list[bytes]:
    """The Pong payloads in what the client sent (after the handshake)."""
    server = WSConnection(ConnectionType.SERVER)
    client = WSConnection(ConnectionType.CLIENT)
    server.receive_data(client.send(Request(host="h", target="/rpc")))
    list(server.events())
    server.send(AcceptConnection())
    server.receive_data(data)
    return [bytes(e.payload) for e in server.events() if isinstance(e, Pong)]


# ---------------------------------------------------------------------------- the differential

CONTROL = st.one_of(
    st.binary(max_size=125).map(lambda p: frame(0x9, p)),
    st.binary(max_size=125).map(lambda p: frame(0xA, p)),
)
MESSAGE = st.one_of(
    st.builds(lambda n, size: frame(0x2, reply(n, size)), st.integers(1, 10**6),
              st.sampled_from([0, 100, 200, 70_000])),
    st.builds(lambda n, size, cuts, controls: fragments(0x2, reply(n, size), cuts, controls),
              st.integers(1, 10**6), st.integers(0, 400), st.lists(st.integers(0), max_size=3),
              st.lists(CONTROL, max_size=3)),
    st.builds(lambda text, cuts: fragments(0x1, text.encode(), cuts, []),
              st.text(max_size=20), st.lists(st.integers(0), max_size=2)),
    CONTROL,
)
ENDING = st.sampled_from([
    b"",
    frame(0x8),  # Close without a code: 1005
    frame(0x8, struct.pack("!H", 1000) + b"bye"),
    frame(0x8, struct.pack("!H", 1013)),
    frame(0x8, struct.pack("!H", 4000) + "é".encode()),
    frame(0x8, b"\x03"),  # 1-byte payload
    frame(0x8, struct.pack("!H", 999)),  # invalid code
    frame(0x8, struct.pack("!H", 1000) + b"\xff"),  # reason not UTF-8: 1007
    frame(0x1, b"\xff\xfe"),  # text not UTF-8: 1007
    frame(0x3),  # reserved opcode
    frame(0xB),  # reserved control opcode
    frame(0x9, fin=False),  # fragmented control frame
    frame(0x9, b"x" * 126),  # control frame too long
    frame(0x2, b"x" * 10, length_bytes=2),  # 2-byte length for a short payload
    frame(0x2, b"x" * 10, length_bytes=8),  # 8-byte length for a short payload
    b"\x82\x7f" + struct.pack("!Q", 1 << 63),  # 8-byte length with the top bit set
    frame(0x2, b"x", rsv=4),  # RSV1 without an extension
    frame(0x2, b"x", mask=b"abcd"),  # a masked frame from the server
    frame(0x0, b"x"),  # CONTINUATION with no message started
    frame(0x2, b"x", fin=False) + frame(0x2, b"y"),  # a new message inside a message
    frame(0x1, "é".encode()[:1], fin=False) + frame(0x0, "é".encode()[1:]),  # split UTF-8
])


@FUZZ
@given(st.lists(MESSAGE, max_size=6), ENDING, st.lists(st.integers(0), max_size=10))
def test_frames_are_read_as_wsproto_reads_them(messages: list[bytes], ending: bytes,
                                               cuts: list[int]) -> None:
    data = b"".join(messages) + ending + frame(0x2, reply(424242))
    wanted, pings, code = wsproto_reading(data, cuts)
    pair = ClientServerPair(max_message_size=None, keepalive_interval=None)
    pair.open()
    sent = b""
    for piece in split(data, cuts):
        pair.client.receive_data(piece, 0.0)
        sent += pair.client.data_to_send()
    events = pair.client.events()
    if code is None:
        assert pair.client.state is ConnectionState.OPEN
    else:
        closed = only_closed(events)
        assert closed.code == code
        events = events[:-1]
    assert [describe(e) for e in events] == expected_events(wanted)
    assert pongs_in(sent) == pings


# ---------------------------------------------------------------------------- fixed cases


@FEED
@pytest.mark.parametrize(("data", "text"), [
    (frame(0x2, b"x" * 10, length_bytes=2), "2 bytes when 1 would have sufficed"),
    (frame(0x2, b"x" * 300, length_bytes=8), "8 bytes when 2 would have sufficed"),
    (b"\x82\x7f" + struct.pack("!Q", 1 << 63), "non-zero MSB"),
    (frame(0x2, b"x", fin=False) + frame(0x1, b"y"), "expected CONTINUATION"),
    (frame(0x9, fin=False), "fragment control frame"),
    (frame(0xB), "Invalid opcode 0xb"),
])
def test_broken_framing(bytewise: bool, data: bytes, text: str) -> None:
    pair = ClientServerPair(bytewise=bytewise, keepalive_interval=None)
    pair.open()
    closed = only_closed(pair.deliver(data))
    assert closed.code == 1002
    assert isinstance(closed.error, RemoteProtocolError)
    assert text in str(closed.error)


@FEED
def test_fragments_with_pings_between(bytewise: bool) -> None:
    pair = ClientServerPair(bytewise=bytewise, keepalive_interval=None)
    pair.open()
    request_id = pair.call("query", "RETURN 1")
    payload = cbor2.dumps({"id": request_id, "result": "z" * 300})
    data = fragments(0x2, payload, [100, 200], [frame(0x9, b"a"), frame(0xA, b"b")])
    (event,) = pair.deliver(data)
    assert event.result == "z" * 300  # type: ignore[union-attr]
    assert pair.server.control == [Pong(payload=b"a")]  # the ping answered, the pong not


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_any_bytes_like_input(kind: Any) -> None:
    pair = ClientServerPair(keepalive_interval=None)
    pair.client.connect(0.0)
    pair.flush()
    request_id = pair.call("ping")
    data = bytearray(pair.server.accept() + pair.server.reply(request_id, "pong"))
    pair.client.receive_data(kind(data), 0.0)
    data[:] = b"\x00" * len(data)  # the driver reuses its buffer
    events = pair.client.events()
    assert events[-1].result == "pong"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- what we send


def fixed_key() -> bytes:
    return b"\x01\x02\x03\x04"


@pytest.mark.parametrize("size", [0, 10, 125, 126, 3000, 70_000])
def test_sent_frames_are_masked_binary_frames(size: int) -> None:
    pair = ClientServerPair(keepalive_interval=None, mask_key_factory=fixed_key)
    pair.open()
    pair.client.send_request("query", ["x" * size], now=0.0)
    data = pair.client.data_to_send()
    pair.server.receive(data)
    assert pair.server.requests[-1]["params"] == ["x" * size]
    payload = cbor2.dumps({"id": 1, "method": "query", "params": ["x" * size]})
    assert data == frame(0x2, payload, mask=fixed_key())


def test_default_masking_keys_are_random_and_fresh() -> None:
    pair = ClientServerPair(keepalive_interval=None)
    pair.open()
    keys = set()
    for _ in range(300):  # more than one pool of keys
        pair.client.send_request("ping", now=0.0)
        data = pair.client.data_to_send()
        keys.add(data[2:6])
        pair.server.receive(data)
    assert len(keys) > 290
    assert len(pair.server.requests) == 300


def test_a_close_after_a_frame_in_the_same_read_is_still_handled() -> None:
    pair = ClientServerPair(keepalive_interval=None)
    pair.open()
    request_id = pair.call("ping")
    late = pair.server.reply(request_id, 2)
    events = pair.deliver(pair.server.reply(request_id, 1) + pair.server.close(1001, "away")
                          + late)
    assert [type(e).__name__ for e in events] == ["ResponseReceived", "ConnectionClosed"]
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1001
