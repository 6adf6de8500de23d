"""The embedded transport of the core: RPC messages for an in-process engine's ``execute()``.

The ``surrealdb-embedded`` package runs the SurrealDB engine in-process and takes one CBOR
request at a time: ``SyncEmbeddedDB(url).execute(request: bytes) -> bytes`` (or the awaitable
``AsyncEmbeddedDB.execute``), answering with the same envelope a WebSocket server sends,
``id`` included (``protocol.md`` §9.4). There is no byte stream, so :class:`EmbeddedConnection`
hands out whole messages instead of ``data_to_send()`` bytes. The driving contract:

    after any call that starts something (``connect``, ``send_request`` and the request
    helpers, ``handle_timeout``, ``close``): take ``messages_to_send()`` and, for each, call
    ``reply = engine.execute(message.data)`` and feed it back with
    ``receive_message(reply, now, request_id=message.request_id)``; if ``execute`` raises,
    report it with ``receive_failure(message.request_id, exc)``. Then handle ``events()``
    and re-arm the timer from ``next_deadline()``.

Messages may be executed in any order and concurrently (an async adapter may run several
``execute`` calls at once); replies are matched by id. The session lives in the engine (one
per engine object, plus 3.x attached sessions), so ``use``, ``let``, ``signin`` and the rest
are sent as they are: nothing is answered locally as on HTTP.

Refused by ``send_request`` before anything is queued, with
:class:`~surreal_proto.UnsupportedFeatureError` (``protocol.md`` §9.4,
:func:`~surreal_proto._version.check_supported`): ``live`` and ``kill`` (the engine has no live
notifications, ``LQ_SUPPORT = false``), ``begin``/``commit``/``cancel`` and the ``txn`` field (it
answers "Method not allowed"). Sessions (``attach``/``detach``/``sessions`` and the ``session``
field) work and are allowed.

Why ``receive_failure``: the wrapper raises a Python ``ValueError`` for a request it cannot
read (``Failed to parse request: Invalid request``, ``Failed to decode CBOR request: …``,
§9.4) instead of returning an error map. The core turns it into ``ErrorReceived`` with a
:class:`~surreal_proto.ValidationError` (any other exception: an
:class:`~surreal_proto.InternalError`), with the original as ``__cause__``, so adapters never
let an engine exception escape. A reply fed with its ``request_id`` that is not a CBOR map fails
that request (``RequestFailed``), as a malformed HTTP body does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from ._connection import BaseConnection
from ._errors import InternalError, ServerError, ValidationError
from ._events import RequestId
from ._log import LazyLogger
from ._rpc import Timeout
from ._state import ConnectionState, Input

__all__ = ["EmbeddedConnection", "EmbeddedMessage"]

_log: Final = LazyLogger("surreal_proto.embedded")
_MAX_QUOTED: Final = 300


@dataclass(frozen=True, slots=True)
class EmbeddedMessage:
    """One request for the engine: pass ``data`` to ``execute()``, and its reply (or the
    exception it raised) back with ``request_id``. ``repr`` shows only the size of ``data``
    (a ``signin`` holds a password)."""

    #: The id the reply (or failure) must be reported with.
    request_id: RequestId
    #: The CBOR request envelope, for ``execute()``.
    data: bytes

    def __repr__(self) -> str:
        return f"EmbeddedMessage(request_id={self.request_id!r}, data=<{len(self.data)} bytes>)"


class EmbeddedConnection(BaseConnection):
    """A SurrealDB RPC client for an in-process engine (see the module docstring).

    ``connect(now)`` marks the engine ready (``engine.connect()`` is the adapter's job);
    ``close(now)`` ends at once, after which the adapter closes the engine
    (``engine.close()``). ``send_request`` and the request helpers queue a message for
    :meth:`messages_to_send`.

    Args:
        default_timeout: deadline of requests started with :data:`DEFAULT_TIMEOUT`;
            ``None`` = no deadline. (``execute`` cannot be interrupted: a timed-out request's
            late reply is dropped.)
        id_factory: returns request ids (int or str, one type); default 1, 2, 3, ...
    """

    _TRANSPORT = "embedded"
    _CLOSED_MESSAGE = "the embedded connection was closed before the reply arrived"

    def __init__(self, *, default_timeout: float | None = None,
                 id_factory: Callable[[], RequestId] | None = None) -> None:
        super().__init__(default_timeout=default_timeout, id_factory=id_factory)
        self._outbox: list[EmbeddedMessage] = []

    # ------------------------------------------------------------------ output

    def messages_to_send(self) -> list[EmbeddedMessage]:
        """Take the requests to execute, oldest first (abandoned or timed-out ones are left
        out). Execute each and report its reply with :meth:`receive_message` or its
        exception with :meth:`receive_failure`."""
        outbox = self._outbox
        if not outbox:
            return []
        self._outbox = []
        mark_sent = self._rpc.mark_sent
        return [m for m in outbox if mark_sent(m.request_id)]

    # ------------------------------------------------------------------ caller actions

    def _start_request(self, method: str, params: tuple[Any, ...], *, session: UUID | None,
                       txn: UUID | None, timeout: Timeout, now: float) -> RequestId:
        # Queued for messages_to_send(). (txn is None here: send_request refused it.)
        request_id, payload = self._rpc.start_request(method, params, session=session, txn=txn,
                                                      timeout=timeout, now=now, sent=False)
        self._outbox.append(EmbeddedMessage(request_id, payload))
        return request_id

    # ------------------------------------------------------------------ input

    def receive_message(self, reply: bytes, now: float, *,
                        request_id: RequestId | None = None) -> None:
        """Feed the bytes ``execute()`` returned.

        Args:
            reply: the CBOR reply.
            now: the current time.
            request_id: the id of the message that was executed. Pass it: then a reply that
                is not a CBOR map fails that request (``RequestFailed`` with a
                :class:`~surreal_proto.RemoteProtocolError`), and a late reply (abandoned or
                timed out) is dropped. Without it the reply is matched by its own ``id`` and a
                bad one is only a ``ProtocolViolation``.

        Never raises for bad bytes. Replies after ``close()`` are discarded. Then handle
        ``events()``.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        machine = self._machine
        if (machine.state is not ConnectionState.OPEN  # OPEN stays OPEN on RECEIVE_DATA
                and machine.process(Input.RECEIVE_DATA) is ConnectionState.CLOSED):
            _log.debug("discarding a reply received after the connection ended")
            return
        self._rpc.receive_message(reply, now, request_id=request_id)

    def receive_failure(self, request_id: RequestId, exc: Exception) -> None:
        """Report that ``execute()`` raised for the message with ``request_id``. It becomes
        ``ErrorReceived``: a :class:`~surreal_proto.ValidationError` for the wrapper's
        ``ValueError`` (a request the engine could not read, ``protocol.md`` §9.4), an
        :class:`~surreal_proto.InternalError` otherwise; ``exc`` is its ``__cause__``.
        Unknown, finished or abandoned ids are ignored. Then handle ``events()``.

        Raises:
            LocalProtocolError: before ``connect()``.
        """
        if self._machine.process(Input.RECEIVE_DATA) is ConnectionState.CLOSED:
            return
        pending = self._rpc.get_pending(request_id)
        if pending is None:
            return
        method = pending.method
        text = str(exc)
        if len(text) > _MAX_QUOTED:
            text = text[:_MAX_QUOTED] + "…"
        cls: type[ServerError] = ValidationError if isinstance(exc, ValueError) else InternalError
        error = cls(f"the embedded engine refused the {method!r} request: "
                    f"{type(exc).__name__}: {text}")
        error.__cause__ = exc
        self._rpc.fail_request(request_id, error)

    # ------------------------------------------------------------------ internals

    def _drop_outgoing(self) -> None:
        self._outbox.clear()
