"""Random, truncated and mutated server bytes: HttpConnection never raises for them, and every
request ends with exactly one outcome (h11's fuzz contract, ``anchors-style.md`` §2)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surreal_proto._codec import encode
from surreal_proto._errors import RemoteProtocolError, ServerError, SurrealError
from surreal_proto._events import (
    ConnectionClosed,
    ErrorReceived,
    RequestFailed,
    RequestTimedOut,
    ResponseReceived,
)
from surreal_proto._http import parse_rpc_response
from surreal_proto._http_connection import HttpConnection
from surreal_proto._http_context import HttpContext
from surreal_proto._state import ConnectionState

from .http_peer import response_bytes

_bodies = st.one_of(
    st.builds(lambda v: encode({"result": v}),
              st.recursive(st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=3)
                           | st.dictionaries(st.text(max_size=4), c, max_size=3),
                           max_leaves=6)),
    st.just(encode({"error": {"code": -32000, "kind": "NotAllowed", "message": "no"}})),
    st.binary(max_size=40),
    st.just(b"The token has expired"),
)

_responses = st.builds(
    lambda status, body, ctype, chunked, close: response_bytes(
        status, body, content_type=ctype, chunked=chunked, close=close),
    st.sampled_from([200, 200, 200, 400, 401, 403, 404, 413, 415, 500, 503]),
    _bodies,
    st.sampled_from([None, "application/cbor", "text/plain", "application/json"]),
    st.booleans(),
    st.booleans(),
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    raw = b"".join(draw(st.lists(_responses, min_size=1, max_size=3)))
    mode = draw(st.sampled_from(["as is", "truncate", "flip", "insert", "random"]))
    if mode == "truncate":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif mode == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        raw = bytes(data)
    elif mode == "insert":
        i = draw(st.integers(0, len(raw)))
        raw = raw[:i] + draw(st.binary(min_size=1, max_size=8)) + raw[i:]
    elif mode == "random":
        raw = draw(st.binary(max_size=200))
    return raw


@given(data=_mutated(), splits=st.lists(st.integers(1, 64), max_size=20),
       requests=st.integers(1, 3), max_size=st.sampled_from([None, 64, 10_000]),
       timeout_at=st.one_of(st.none(), st.floats(0, 3)))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_bytes_give_one_outcome_per_request(data: bytes, splits: list[int], requests: int,
                                                max_size: int | None,
                                                timeout_at: float | None) -> None:
    client = HttpConnection("h", context=HttpContext(namespace="n"),
                            max_response_size=max_size)
    client.connect(0.0)
    ids = [client.ping(timeout=2.0, now=0.0) for _ in range(requests)]
    events: list[Any] = list(client.events())
    pos = 0
    now = 0.0
    for size in [*splits, len(data)]:
        chunk = data[pos:pos + size]
        pos += size
        if client.state is ConnectionState.CLOSED:
            break
        client.receive_data(chunk, now)  # must never raise
        client.data_to_send()
        events += client.events()
        now += 0.5
        if timeout_at is not None and now >= timeout_at:
            client.handle_timeout(now)
            events += client.events()
    client.receive_eof()
    events += client.events()
    assert client.state is ConnectionState.CLOSED
    assert client.pending_count == 0
    outcomes: dict[Any, int] = {}
    for event in events:
        if isinstance(event, ResponseReceived | ErrorReceived | RequestFailed
                      | RequestTimedOut):
            outcomes[event.request_id] = outcomes.get(event.request_id, 0) + 1
        if isinstance(event, RequestFailed):
            assert isinstance(event.error, SurrealError)
    # every request: exactly one outcome, except the one abandoned by the close policy, which
    # has its RequestTimedOut
    assert set(outcomes) == set(ids)
    assert all(n == 1 for n in outcomes.values())
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert len(closed) == 1
    assert events[-1] is closed[0]


@given(status=st.integers(100, 599), body=st.binary(max_size=64),
       ctype=st.sampled_from([None, "application/cbor", "text/plain", "application/json"]))
@settings(max_examples=300, deadline=None)
def test_parse_rpc_response_raises_only_typed_errors(status: int, body: bytes,
                                                     ctype: str | None) -> None:
    headers = [] if ctype is None else [("content-type", ctype)]
    with contextlib.suppress(SurrealError):
        parse_rpc_response(status, headers, body)


@given(value=st.binary(max_size=64))
@settings(max_examples=200, deadline=None)
def test_random_cbor_200(value: bytes) -> None:
    # Only typed errors: RemoteProtocolError for garbage, a ServerError for an {error} map
    # that the random bytes happened to spell.
    with contextlib.suppress(RemoteProtocolError, ServerError):
        parse_rpc_response(200, [("content-type", "application/cbor")], value)
