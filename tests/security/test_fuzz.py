"""Fuzzing ``receive_data`` with real server bytes (``replay.py``, ``vectors/``).

``tests/proto/test_ws_fuzz.py`` and ``test_http_fuzz.py`` fuzz the core with bytes made by
fake peers; here the starting point is what a real engine sent: a WebSocket session (signin,
queries, a live query with its notifications, every kind of error) and HTTP/1.1 responses
(CBOR replies, RPC errors, a 401 with a plain-text body), truncated, split anywhere, mutated,
with bytes inserted or deleted, or replaced by random bytes. For both transports, and for the
request-level HTTP connection that an ``httpx`` client feeds (status, headers, body):

* ``receive_data`` / ``receive_response`` never raise;
* a skipped message is a :class:`ProtocolViolation` holding a :class:`RemoteProtocolError`,
  a failed request or a closed connection holds one of the core's errors (``SurrealError``);
* the state machine ends in a defined state: at most one ``ConnectionClosed``, last; once
  closed nothing is pending and no deadline is left; after the peer's EOF every request has
  had exactly one outcome.

``fuzz/fuzz_core.py`` runs the same checks for minutes (``bench/RESULTS.md``, "Fuzz").
"""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surreal_proto._codec import decode
from surreal_proto._errors import RemoteProtocolError
from surreal_proto._http_context import HttpContext
from surreal_proto._http_requests import HttpRequestConnection
from surreal_proto._state import ConnectionState

from . import replay

FUZZ = settings(max_examples=int(os.environ.get("SURREAL_FUZZ_EXAMPLES", "120")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow])

WS_BYTES, WS_BODY_START, HTTP_BYTES = replay.WS_BYTES, replay.WS_BODY_START, replay.HTTP_BYTES
HTTP_REPLIES, PAYLOADS = replay.HTTP_REPLIES, replay.PAYLOADS
check_events, one_outcome_each, feed = replay.check_events, replay.one_outcome_each, replay.feed
OUTCOMES = replay.OUTCOMES


@st.composite
def mutated(draw: st.DrawFn, data: bytes, start: int = 0) -> bytes:
    """``data`` changed in one of the ways a broken network or peer changes bytes."""
    mode = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice", "random"]))
    if mode == "random":
        return draw(st.binary(max_size=300))
    body = bytearray(data)
    span = len(body) - start
    if mode == "truncate":
        return bytes(body[:start + draw(st.integers(0, span))])
    for _ in range(draw(st.integers(1, 6))):
        at = start + draw(st.integers(0, span - 1))
        if mode == "flip":
            body[at] ^= draw(st.integers(1, 255))
        elif mode == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif mode == "delete":
            del body[at:at + draw(st.integers(1, 8))]
        else:  # a slice of the stream repeated elsewhere (a replayed or reordered frame)
            length = draw(st.integers(1, 64))
            other = start + draw(st.integers(0, span - 1))
            body[at:at] = body[other:other + length]
        span = len(body) - start
        if span <= 0:
            break
    return bytes(body)


# --------------------------------------------------------------------------- WebSocket


def test_the_real_session_is_understood() -> None:
    client, data = replay.ws_replay()
    events = feed(client, data, [])
    check_events(client, events)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("ResponseReceived") + kinds.count("ErrorReceived") == 11
    assert kinds.count("LiveNotificationReceived") == 3
    assert "ProtocolViolation" not in kinds
    assert client.pending_count == 0


@FUZZ
@given(st.data(), st.lists(st.integers(min_value=0), max_size=10), st.booleans(),
       st.booleans())
def test_websocket_mutated_real_bytes(data: st.DataObject, cuts: list[int],
                                      keep_handshake: bool, eof: bool) -> None:
    client, _ = replay.ws_replay(max_message_size=4096)
    start = WS_BODY_START if keep_handshake else 0
    events = feed(client, data.draw(mutated(WS_BYTES, start)), cuts)
    client.handle_timeout(1000.0)
    events += client.events()
    if eof:
        client.receive_eof()
        events += client.events()
    check_events(client, events)
    if eof:
        assert client.state is ConnectionState.CLOSED
        one_outcome_each(events, 1 + len(replay.WS_CALLS))


@FUZZ
@given(st.integers(min_value=0), st.lists(st.integers(min_value=0), max_size=10))
def test_websocket_truncated_real_bytes_then_eof(cut: int, cuts: list[int]) -> None:
    client, _ = replay.ws_replay()
    events = feed(client, WS_BYTES[:cut % (len(WS_BYTES) + 1)], cuts)
    client.receive_eof()
    events += client.events()
    check_events(client, events)
    one_outcome_each(events, 1 + len(replay.WS_CALLS))


# --------------------------------------------------------------------------- HTTP


@FUZZ
@given(st.data(), st.lists(st.integers(min_value=0), max_size=10),
       st.sampled_from([None, 256, 1 << 20]))
def test_http_mutated_real_bytes(data: st.DataObject, cuts: list[int],
                                 limit: int | None) -> None:
    client = replay.http_client(max_response_size=limit)
    client.data_to_send()
    events = client.events()
    events += feed(client, data.draw(mutated(HTTP_BYTES)), cuts)
    client.receive_eof()
    events += client.events()
    check_events(client, events)
    assert client.state is ConnectionState.CLOSED
    one_outcome_each(events, len(replay.HTTP_CALLS))


def test_the_real_http_replies_are_understood() -> None:
    assert [status for status, _, _ in HTTP_REPLIES] == [200, 200, 200, 200, 200, 401]
    client = HttpRequestConnection(context=HttpContext(namespace=replay.NS))
    client.connect(0.0)
    ids = [client.send_request(m, p, now=0.0, timeout=None) for m, p in replay.HTTP_CALLS]
    handed = client.requests_to_send()
    for (request_id, _), (status, headers, body) in zip(handed, HTTP_REPLIES, strict=True):
        client.receive_response(request_id, status, headers, body, 1.0)
    events = client.events()
    kinds = [type(e).__name__ for e in events if isinstance(e, OUTCOMES)]
    assert kinds == ["ResponseReceived"] * 3 + ["ErrorReceived"] * 3
    assert {e.request_id for e in events if isinstance(e, OUTCOMES)} == set(ids)


@FUZZ
@given(st.data(), st.lists(st.integers(100, 599), min_size=6, max_size=6))
def test_httpx_path_mutated_real_replies(data: st.DataObject, statuses: list[int]) -> None:
    client = HttpRequestConnection(context=HttpContext(namespace=replay.NS))
    client.connect(0.0)
    for method, params in replay.HTTP_CALLS:
        client.send_request(method, params, now=0.0, timeout=5.0)
    handed = client.requests_to_send()
    for index, (request_id, _) in enumerate(handed):
        status, headers, body = HTTP_REPLIES[index]
        if data.draw(st.booleans()):
            status = statuses[index]
        if data.draw(st.booleans()):
            headers = [(k, data.draw(st.sampled_from([v, b"", b"text/plain", b"\xff\xfe"])))
                       for k, v in headers]
        body = data.draw(mutated(body)) if body else body
        client.receive_response(request_id, status, headers, body, 1.0)  # must never raise
    client.handle_timeout(10.0)
    events = client.events()
    check_events(client, events)
    outcomes = [e for e in events if isinstance(e, OUTCOMES)]
    assert sorted(e.request_id for e in outcomes) == sorted(r for r, _ in handed)


# --------------------------------------------------------------------------- CBOR


def test_every_real_payload_decodes() -> None:
    assert len(PAYLOADS) == 14
    for payload in PAYLOADS:
        assert isinstance(decode(payload), dict)


@FUZZ
@given(st.data(), st.integers(0, len(PAYLOADS) - 1))
def test_mutated_real_payloads_decode_or_raise_remote_protocol_error(
        data: st.DataObject, index: int) -> None:
    payload = data.draw(mutated(PAYLOADS[index]))
    with contextlib.suppress(RemoteProtocolError):
        decode(payload)

