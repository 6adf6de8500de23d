"""Random, truncated and mutated server bytes never make ``receive_data`` raise.

Whatever arrives, the connection ends up in a defined state: events are only the documented
ones, ``ConnectionClosed`` comes at most once and last, and a closed connection has nothing
pending.
"""

from __future__ import annotations

import itertools
import os
from typing import get_args
from uuid import UUID

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surreal_proto._events import AnyEvent, ConnectionClosed
from surreal_proto._state import ConnectionState

from .helpers import NONE, ClientServerPair

LIVE = UUID("018e3e5c-0000-7000-8000-00000000000a")
EVENT_TYPES = get_args(AnyEvent)
# SURREAL_FUZZ_EXAMPLES=5000 for a long run; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("SURREAL_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def connecting() -> tuple[ClientServerPair, bytes]:
    """A client with three queued requests, and a realistic server transcript for it."""
    pair = ClientServerPair(max_message_size=4096, keepalive_interval=10.0)
    pair.client.connect(0.0)
    pair.client.live("person", now=0.0)
    pair.client.query("LIVE SELECT * FROM a", now=0.0, timeout=5.0)
    pair.client.version(now=0.0)
    pair.flush()
    server = pair.server
    transcript = server.accept()
    transcript += server.notify(LIVE, "CREATE", cbor2.CBORTag(8, ["person", 1]), {"a": 1})
    transcript += server.reply(1, LIVE)
    transcript += server.ping(b"hb")
    transcript += server.reply(2, [{"result": UUID(int=2), "status": "OK", "time": "1µs",
                                    "type": "live"}])
    transcript += server.fragmented(cbor2.dumps({"id": 3, "result": "surrealdb-3.2.4"}), 3)
    transcript += server.notify(LIVE, "KILLED")
    transcript += server.error(99, {"code": -32000, "message": "x"})
    transcript += server.message({"result": NONE})
    transcript += server.close()
    return pair, transcript


def check(pair: ClientServerPair, events: list[AnyEvent]) -> None:
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    closed = [i for i, e in enumerate(events) if isinstance(e, ConnectionClosed)]
    assert len(closed) <= 1
    if closed:
        assert closed[0] == len(events) - 1
    state = pair.client.state
    assert isinstance(state, ConnectionState)
    assert (state is ConnectionState.CLOSED) == bool(closed)
    if closed:
        assert pair.client.pending_count == 0
        assert pair.client.next_deadline() is None


def feed(pair: ClientServerPair, data: bytes, cuts: list[int], now: float = 1.0) -> None:
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        pair.client.receive_data(data[start:end], now)
        pair.client.data_to_send()


def test_the_transcript_itself_is_understood() -> None:
    pair, transcript = connecting()
    feed(pair, transcript, [])
    events = pair.client.events()
    check(pair, events)
    assert pair.client.server_version == (3, 2, 4)
    assert [type(e).__name__ for e in events] == [
        "Connected", "ResponseReceived", "LiveNotificationReceived", "ResponseReceived",
        "ResponseReceived", "LiveQueryEnded", "ProtocolViolation", "LiveQueryEnded",
        "ConnectionClosed"]


@FUZZ
@given(st.integers(min_value=0), st.lists(st.integers(min_value=0), max_size=8),
       st.booleans())
def test_truncated(cut: int, cuts: list[int], eof: bool) -> None:
    pair, transcript = connecting()
    feed(pair, transcript[: cut % (len(transcript) + 1)], cuts)
    if eof:
        pair.client.receive_eof()
    pair.client.handle_timeout(100.0)
    check(pair, pair.client.events())
    if eof:
        assert pair.client.state is ConnectionState.CLOSED


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                max_size=6),
       st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_mutated(flips: list[tuple[int, int]], cuts: list[int], handshake: bool) -> None:
    pair, transcript = connecting()
    data = bytearray(transcript)
    start = 0 if handshake else transcript.index(b"\r\n\r\n") + 4
    for position, value in flips:
        data[start + position % (len(data) - start)] = value
    feed(pair, bytes(data), cuts)
    pair.client.handle_timeout(3.0)
    pair.client.handle_timeout(100.0)
    pair.client.receive_eof()
    check(pair, pair.client.events())


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=8),
       st.booleans())
def test_random_bytes(garbage: bytes, cuts: list[int], after_handshake: bool) -> None:
    pair, transcript = connecting()
    prefix = transcript[: transcript.index(b"\r\n\r\n") + 4] if after_handshake else b""
    feed(pair, prefix + garbage, cuts)
    pair.client.handle_timeout(50.0)
    check(pair, pair.client.events())


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([
    b"\x82\x05", b"\x02\x03", b"\x80\x01", b"\x89\x00", b"\x8a\x00", b"\x88\x00", b"\x81\x01",
    cbor2.dumps({"id": 1, "result": 1}), cbor2.dumps({"result": {"id": LIVE, "action": "X"}}),
])), max_size=12))
def test_frame_soup(pieces: list[bytes]) -> None:
    pair, transcript = connecting()
    prefix = transcript[: transcript.index(b"\r\n\r\n") + 4]
    feed(pair, prefix + b"".join(pieces), list(range(0, 400, 7)))
    check(pair, pair.client.events())
