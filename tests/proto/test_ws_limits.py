"""Incoming size limits and broken framing: the connection ends cleanly, nothing raises."""

from __future__ import annotations

import struct

import cbor2
import pytest
from wsproto.events import CloseConnection

from surreal_proto._errors import ConnectionClosedError, RemoteProtocolError
from surreal_proto._events import ResponseReceived
from surreal_proto._state import ConnectionState
from surreal_proto._ws import DEFAULT_MAX_MESSAGE_SIZE

from .helpers import FEED, ClientServerPair, only_closed

pytestmark = FEED


def opened(bytewise: bool, limit: int | None = 100) -> ClientServerPair:
    pair = ClientServerPair(bytewise=bytewise, max_message_size=limit, keepalive_interval=None)
    pair.open()
    return pair


def reply_of_size(request_id: int, size: int) -> bytes:
    """A CBOR reply whose encoding is exactly ``size`` bytes."""
    base = len(cbor2.dumps({"id": request_id, "result": ""}))
    for text_len in range(size):
        data = cbor2.dumps({"id": request_id, "result": "x" * text_len})
        if len(data) == size:
            return data
    raise AssertionError(f"no reply of {size} bytes (base {base})")


def test_default_limit_is_the_servers(bytewise: bool) -> None:
    assert DEFAULT_MAX_MESSAGE_SIZE == 128 * 1024 * 1024


def test_message_at_the_limit_is_accepted(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.raw(reply_of_size(request_id, 100)))
    assert isinstance(events[0], ResponseReceived)


def test_message_over_the_limit_ends_the_connection(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.raw(reply_of_size(request_id, 101)))
    closed = only_closed(events)
    assert closed.code == 1009
    assert isinstance(closed.error, ConnectionClosedError)
    assert "larger than max_message_size (100 bytes)" in str(closed.error)
    assert pair.server.control == [CloseConnection(code=1009, reason="message too big")]
    assert [p.request_id for p in closed.unanswered] == [request_id]


def test_fragments_are_counted_as_they_arrive(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.call("ping")
    payload = b"\x00" * 180
    data = pair.server.fragmented(payload, 3)  # three 60-byte frames, 180 > 100
    first_two = data[: 2 * (2 + 60)]
    closed = only_closed(pair.deliver(first_two))  # the third frame never needed
    assert closed.code == 1009


def test_a_huge_declared_frame_fails_without_waiting_for_it(bytewise: bool) -> None:
    pair = opened(bytewise)
    header = b"\x82\x7f" + struct.pack("!Q", 1 << 40)  # binary, 1 TiB declared
    closed = only_closed(pair.deliver(header + b"\x00" * 101))
    assert closed.code == 1009
    assert pair.client.state is ConnectionState.CLOSED


def test_text_is_counted_in_utf8_bytes(bytewise: bool) -> None:
    pair = opened(bytewise)
    closed = only_closed(pair.deliver(pair.server.text_frame("é" * 51)))  # 102 bytes
    assert closed.code == 1009


def test_no_limit(bytewise: bool) -> None:
    pair = opened(False, limit=None)  # a big message: always fed whole
    request_id = pair.call("ping")
    events = pair.deliver(pair.server.message({"id": request_id, "result": b"\x00" * 300_000}))
    assert isinstance(events[0], ResponseReceived)


def test_too_big_while_closing_sends_no_second_close(bytewise: bool) -> None:
    pair = opened(bytewise)
    request_id = pair.call("ping")
    big = pair.server.raw(reply_of_size(request_id, 150))
    pair.client.close(0.0)
    pair.flush()
    closed = only_closed(pair.deliver(big))
    assert closed.code == 1009
    assert pair.client.data_to_send() == b""


@pytest.mark.parametrize(("frame", "code", "text"), [
    (b"\x82\x81abcd\x00", 1002, "masked"),
    (b"\x83\x00", 1002, "opcode"),
    (b"\xc2\x00", 1002, "Reserved bit"),
    (b"\x88\x01\x03", 1002, "1 byte payload"),
    (b"\x88\x02\x03\x00", 1002, "invalid code"),
    (b"\x89\x7e\x00\x80" + b"\x00" * 128, 1002, "Control frame"),
    (b"\x80\x00", 1002, "CONTINUATION"),
    (b"\x81\x02\xff\xfe", 1007, "utf-8"),
])
def test_broken_framing_fails_the_connection(bytewise: bool, frame: bytes, code: int,
                                             text: str) -> None:
    pair = opened(bytewise)
    request_id = pair.call("ping")
    closed = only_closed(pair.deliver(frame + pair.server.reply(request_id, 1)))
    assert closed.code == code
    assert isinstance(closed.error, RemoteProtocolError)
    assert text in str(closed.error)
    close_frames = [e for e in pair.server.control if isinstance(e, CloseConnection)]
    assert [c.code for c in close_frames] == [code]
    assert pair.client.state is ConnectionState.CLOSED


def test_broken_framing_while_closing(bytewise: bool) -> None:
    pair = opened(bytewise)
    pair.client.close(0.0)
    pair.flush()
    closed = only_closed(pair.deliver(b"\x83\x00"))
    assert isinstance(closed.error, RemoteProtocolError)
    assert pair.client.data_to_send() == b""
