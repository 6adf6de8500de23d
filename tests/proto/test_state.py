"""The transition table: every (state, input) pair, legal or not; and transition logging."""

from __future__ import annotations

import logging
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surreal_proto._errors import LocalProtocolError
from surreal_proto._state import (
    TRANSITIONS,
    ConnectionState,
    ConnectionStateMachine,
    Input,
)
from surreal_proto._ws import WebSocketConnection


@given(st.sampled_from(ConnectionState), st.sampled_from(Input))
def test_every_pair(state: ConnectionState, event: Input) -> None:
    machine = ConnectionStateMachine(state)
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(LocalProtocolError, match=f"cannot {event.name} in state"):
            machine.check(event)
        with pytest.raises(LocalProtocolError):
            machine.process(event)
        assert machine.state is state
    else:
        assert machine.check(event) is expected
        assert machine.state is state  # check() changes nothing
        assert machine.process(event) is expected
        assert machine.state is expected


def test_close_now_ends_every_state() -> None:
    for state in ConnectionState:
        assert TRANSITIONS[state, Input.CLOSE_NOW] is ConnectionState.CLOSED


def test_closed_is_terminal() -> None:
    assert all(new is ConnectionState.CLOSED
               for (old, _), new in TRANSITIONS.items() if old is ConnectionState.CLOSED)


def test_every_state_is_reachable_and_can_end() -> None:
    targets = set(TRANSITIONS.values())
    assert targets | {ConnectionState.IDLE} == set(ConnectionState)
    sources = {old for old, _ in TRANSITIONS}
    assert sources == set(ConnectionState)


def test_transitions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    machine = ConnectionStateMachine()
    with caplog.at_level(logging.DEBUG, logger="surreal_proto.state"):
        machine.process(Input.CONNECT)
        machine.process(Input.RECEIVE_DATA)  # no change: not logged
    assert [r.getMessage() for r in caplog.records] == ["state IDLE -> CONNECTING on CONNECT"]


def test_nothing_is_logged_without_the_logging_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # The core never imports logging itself (it would load threading); with logging absent
    # from sys.modules, logging calls are no-ops.
    monkeypatch.delitem(sys.modules, "logging")
    conn = WebSocketConnection("localhost")
    conn.connect(0.0)
    conn.close(0.0)
    assert conn.state is ConnectionState.CLOSED


def test_the_connection_uses_the_table() -> None:
    conn = WebSocketConnection("localhost")
    for call in (lambda: conn.receive_data(b"x", 0.0), conn.receive_eof,
                 lambda: conn.send_request("ping", now=0.0)):
        with pytest.raises(LocalProtocolError):
            call()
        assert conn.state is ConnectionState.IDLE
