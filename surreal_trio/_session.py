"""``Session`` (``new_session()``, 3.x WebSocket) and ``Transaction``
(``begin_transaction()``): views of the client's connection scoped to an attached session or
to a transaction. Their calls carry the session / transaction id; the engine does the rest
(data methods inside a transaction are sent as ``query`` with bound variables)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import trio

from surreal_proto import calls

from ._methods import DataMethods, Methods

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["Session", "Transaction"]

#: How long cancelling a transaction (or detaching a session) may take when the ``async with``
#: block failed or was cancelled.
_CANCEL_GRACE: Final = 5.0


class Session(Methods):
    """An attached session (``new_session()``): its own namespace, database, auth and
    variables on the client's connection. ``close_session()`` detaches it, and so does the
    end of an ``async with await db.new_session() as session:`` block (also when the block
    raised or was cancelled)."""

    def __init__(self, driver: Driver, session_id: UUID) -> None:
        self._driver = driver
        self._session = session_id
        self._closed = False

    @property
    def session_id(self) -> UUID:
        """The session's id."""
        return self._session

    def __repr__(self) -> str:
        return f"Session(session_id={self._session})"

    async def _call(self, call: calls.Call) -> Any:
        return await self._driver.call(call, session=self._session)

    async def close_session(self) -> None:
        """Detach the session (its live queries end). Closing it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._call(calls.detach())

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None:
            await self.close_session()
        else:
            await _after_failed_block(self.close_session)

    async def begin_transaction(self) -> Transaction:
        """Begin a transaction in this session (3.x WebSocket)."""
        txn = await self._call(calls.begin())
        assert isinstance(txn, UUID)
        return Transaction(self._driver, self._session, txn)


class Transaction(DataMethods):
    """A transaction (``begin_transaction()``): data and query methods, ``commit()``,
    ``cancel()``. ``async with`` commits on success and cancels on an exception."""

    def __init__(self, driver: Driver, session_id: UUID | None, txn: UUID) -> None:
        self._driver = driver
        self._session = session_id
        self._txn = txn
        self._finished = False

    @property
    def transaction_id(self) -> UUID:
        """The transaction's id."""
        return self._txn

    def __repr__(self) -> str:
        return f"Transaction(transaction_id={self._txn})"

    async def _call(self, call: calls.Call) -> Any:
        return await self._driver.call(call, session=self._session, txn=self._txn)

    async def commit(self) -> None:
        """Commit: the writes become visible to everyone."""
        self._finished = True
        await self._driver.call(calls.commit(self._txn), session=self._session)

    async def cancel(self) -> None:
        """Cancel: the writes are discarded."""
        self._finished = True
        await self._driver.call(calls.cancel(self._txn), session=self._session)

    async def __aenter__(self) -> Transaction:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._finished:
            return
        if exc_type is None:
            await self.commit()
        else:
            await _after_failed_block(self.cancel)


async def _after_failed_block(clean_up: Callable[[], Awaitable[None]]) -> None:
    """Run ``clean_up`` after an ``async with`` block that raised or was cancelled: shielded
    from the cancellation, bounded by :data:`_CANCEL_GRACE`, its own failure suppressed (the
    block's exception is what the caller needs to see)."""
    with (trio.CancelScope(shield=True), trio.move_on_after(_CANCEL_GRACE),
          contextlib.suppress(Exception)):
        await clean_up()
