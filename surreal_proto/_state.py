"""The connection state machine: one enum of states, one enum of inputs, one table.

How it works (the rules, in the style of h11's ``_state.py``):

* Every change of :class:`ConnectionState` happens here, through
  :meth:`ConnectionStateMachine.process`, and nowhere else. Transports (WebSocket, HTTP, the
  embedded engine) turn their public calls and what they learn from the peer into an
  :class:`Input` and ask the machine for the next state *before* they touch anything else.
* :data:`TRANSITIONS` lists every legal ``(state, input)`` pair and the state it leads to. A pair
  that is missing is illegal: :meth:`~ConnectionStateMachine.process` raises
  :class:`~surreal_proto.LocalProtocolError` and changes nothing. The caller misused the API
  (sending after close, feeding bytes before connecting); peer behaviour never reaches a
  missing pair, because every input the peer can cause is legal in every state it can happen
  in (a bad peer ends the connection through ``FAIL``, it never raises).
* Pairs that map a state to itself are deliberate: a request queued while ``CONNECTING`` (sent
  once the handshake completes), bytes discarded after ``CLOSED``, an idempotent ``close()``.
* ``CLOSED`` is terminal. A closed connection object is never reopened; make a new one.
* Transitions are logged at DEBUG on the ``surreal_proto.state`` logger.

The states::

    IDLE ──CONNECT──▶ CONNECTING ──HANDSHAKE_ACCEPTED──▶ OPEN ──CLOSE──▶ CLOSING
      │                  │                                │                │
      └──CLOSE──┐        └─FAIL/RECEIVE_EOF/CLOSE─┐       │ RECEIVE_CLOSE  │ RECEIVE_CLOSE
                ▼                                 ▼       ▼ RECEIVE_EOF    ▼ RECEIVE_EOF
              CLOSED ◀───────────────────────────────────── FAIL ───────── FAIL, CLOSE_TIMEOUT

    CLOSE_NOW leads from every state to CLOSED: the close of a transport with no closing
    handshake (HTTP, the embedded engine), or an exchange abandoned mid-flight.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from ._errors import LocalProtocolError
from ._log import LazyLogger

__all__ = ["TRANSITIONS", "ConnectionState", "ConnectionStateMachine", "Input"]

_log: Final = LazyLogger("surreal_proto.state")


class ConnectionState(Enum):
    """Where a connection is in its life."""

    #: Built; nothing sent yet. Call ``connect(now)``.
    IDLE = "IDLE"
    #: The upgrade request is queued or sent; waiting for the server's answer. Requests started
    #: now are queued and sent once the connection is open.
    CONNECTING = "CONNECTING"
    #: The handshake is done; requests and replies flow.
    OPEN = "OPEN"
    #: We sent a Close frame and wait for the server's (replies may still arrive).
    CLOSING = "CLOSING"
    #: Finished. Flush ``data_to_send()`` one last time, then close the transport.
    CLOSED = "CLOSED"

    # Members are singletons compared by identity, so hashing by identity is equivalent and
    # stays in C: ``Enum.__hash__`` is Python code, and every request and every read looks up
    # a ``(state, input)`` pair in TRANSITIONS.
    __hash__ = object.__hash__


class Input(Enum):
    """Everything that can move a connection from one state to another."""

    #: The caller called ``connect(now)``.
    CONNECT = "CONNECT"
    #: The caller started a request.
    SEND_REQUEST = "SEND_REQUEST"
    #: The caller fed bytes from the peer.
    RECEIVE_DATA = "RECEIVE_DATA"
    #: The server accepted the upgrade with the ``cbor`` subprotocol.
    HANDSHAKE_ACCEPTED = "HANDSHAKE_ACCEPTED"
    #: The caller called ``close(now)``.
    CLOSE = "CLOSE"
    #: The server's Close frame arrived.
    RECEIVE_CLOSE = "RECEIVE_CLOSE"
    #: The transport reported end of stream.
    RECEIVE_EOF = "RECEIVE_EOF"
    #: The connection failed: handshake refused, broken framing, message too big, keepalive
    #: ping unanswered.
    FAIL = "FAIL"
    #: The server did not answer our Close frame in time.
    CLOSE_TIMEOUT = "CLOSE_TIMEOUT"
    #: End at once, from any state: the caller closed a transport that has no closing
    #: handshake (HTTP, the embedded engine), or HTTP gave up on the exchange in progress.
    CLOSE_NOW = "CLOSE_NOW"

    __hash__ = object.__hash__  # identity, as ConnectionState


_S = ConnectionState
_I = Input

#: Every legal ``(state, input)`` pair and the state it leads to. Anything else is illegal.
TRANSITIONS: Final[dict[tuple[ConnectionState, Input], ConnectionState]] = {
    (_S.IDLE, _I.CONNECT): _S.CONNECTING,
    (_S.IDLE, _I.CLOSE): _S.CLOSED,
    (_S.CONNECTING, _I.SEND_REQUEST): _S.CONNECTING,
    (_S.CONNECTING, _I.RECEIVE_DATA): _S.CONNECTING,
    (_S.CONNECTING, _I.HANDSHAKE_ACCEPTED): _S.OPEN,
    (_S.CONNECTING, _I.CLOSE): _S.CLOSED,
    (_S.CONNECTING, _I.RECEIVE_EOF): _S.CLOSED,
    (_S.CONNECTING, _I.FAIL): _S.CLOSED,
    (_S.OPEN, _I.SEND_REQUEST): _S.OPEN,
    (_S.OPEN, _I.RECEIVE_DATA): _S.OPEN,
    (_S.OPEN, _I.CLOSE): _S.CLOSING,
    (_S.OPEN, _I.RECEIVE_CLOSE): _S.CLOSED,
    (_S.OPEN, _I.RECEIVE_EOF): _S.CLOSED,
    (_S.OPEN, _I.FAIL): _S.CLOSED,
    (_S.CLOSING, _I.RECEIVE_DATA): _S.CLOSING,
    (_S.CLOSING, _I.CLOSE): _S.CLOSING,
    (_S.CLOSING, _I.RECEIVE_CLOSE): _S.CLOSED,
    (_S.CLOSING, _I.RECEIVE_EOF): _S.CLOSED,
    (_S.CLOSING, _I.FAIL): _S.CLOSED,
    (_S.CLOSING, _I.CLOSE_TIMEOUT): _S.CLOSED,
    (_S.CLOSED, _I.RECEIVE_DATA): _S.CLOSED,
    (_S.CLOSED, _I.RECEIVE_EOF): _S.CLOSED,
    (_S.CLOSED, _I.CLOSE): _S.CLOSED,
    (_S.IDLE, _I.CLOSE_NOW): _S.CLOSED,
    (_S.CONNECTING, _I.CLOSE_NOW): _S.CLOSED,
    (_S.OPEN, _I.CLOSE_NOW): _S.CLOSED,
    (_S.CLOSING, _I.CLOSE_NOW): _S.CLOSED,
    (_S.CLOSED, _I.CLOSE_NOW): _S.CLOSED,
}

_ADVICE: Final[dict[ConnectionState, str]] = {
    _S.IDLE: "call connect(now) first",
    _S.CONNECTING: "wait for the handshake to finish",
    _S.OPEN: "the connection is open",
    _S.CLOSING: "the connection is closing; open a new connection",
    _S.CLOSED: "the connection is closed; open a new connection",
}


class ConnectionStateMachine:
    """Holds the current :class:`ConnectionState` and applies :data:`TRANSITIONS`."""

    __slots__ = ("_state",)

    def __init__(self, state: ConnectionState = ConnectionState.IDLE) -> None:
        self._state = state

    @property
    def state(self) -> ConnectionState:
        """The current state."""
        return self._state

    def check(self, event: Input) -> ConnectionState:
        """Return the state ``event`` would lead to, without changing anything.

        Raises:
            LocalProtocolError: ``event`` is illegal in the current state.
        """
        try:
            return TRANSITIONS[self._state, event]
        except KeyError:
            raise LocalProtocolError(
                f"cannot {event.name} in state {self._state.name}: {_ADVICE[self._state]}"
            ) from None

    def process(self, event: Input) -> ConnectionState:
        """Apply ``event`` and return the new state.

        Raises:
            LocalProtocolError: ``event`` is illegal in the current state; nothing changed.
        """
        new = self.check(event)
        if new is not self._state:
            _log.debug("state %s -> %s on %s", self._state.name, new.name, event.name)
            self._state = new
        return new
