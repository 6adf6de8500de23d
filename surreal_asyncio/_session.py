"""``Session`` (an attached 3.x session) and ``Transaction`` (a 3.x transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from surreal_proto import LocalProtocolError, calls

from ._driver import Driver, log
from ._methods import DataMethods, Methods

__all__ = ["Session", "Transaction"]


class Session(Methods):
    """A server-side session of its own on the client's WebSocket (API.md §5
    ``new_session()``, 3.x): its own auth, namespace, database, variables, live queries and
    transactions, sharing the connection.

    ``session = await db.new_session()`` attaches it; ``async with db.new_session() as
    session:`` also detaches it on exit (``close_session()``). A session that is not attached
    yet attaches on its first call.

    Raises (on attaching):
        UnsupportedFeatureError: over HTTP, or the server is 2.x.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._id: UUID | None = None
        self._closed = False
        self._lock = asyncio.Lock()

    async def _attached(self) -> UUID:
        if self._closed:
            raise LocalProtocolError("the session was closed (close_session())")
        if self._id is None:
            async with self._lock:
                if self._id is None:
                    self._id = await self._driver.new_session()
        return self._id

    async def _run(self, call: calls.Call) -> Any:
        return await self._driver.call(call, session=await self._attached())

    def _txn_parent(self) -> Session:
        return self

    @property
    def session_id(self) -> UUID:
        """The session's id.

        Raises:
            LocalProtocolError: not attached yet (await the session or make a call first).
        """
        if self._id is None:
            raise LocalProtocolError("the session is not attached yet: await it first")
        return self._id

    async def close_session(self) -> None:
        """Detach the session (idempotent); its live queries end."""
        if self._closed:
            return
        self._closed = True
        if self._id is not None:
            await self._driver.call(calls.detach(), session=self._id)

    def __await__(self) -> Generator[Any, None, Session]:
        return self._begin().__await__()

    async def _begin(self) -> Session:
        await self._attached()
        return self

    async def __aenter__(self) -> Self:
        await self._attached()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close_session()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "attached" if self._id else "not attached"
        return f"Session({self._id or ''}, {state})"


class Transaction(DataMethods):
    """A 3.x transaction on the WebSocket (API.md §5 ``begin_transaction()``): data methods
    and queries that take effect together at :meth:`commit` or not at all.

    ``async with db.begin_transaction() as txn:`` begins, then commits when the block ends
    normally and cancels when it raises (the exception propagates).
    ``txn = await db.begin_transaction()`` begins it for explicit ``commit()``/``cancel()``.
    A transaction not begun yet begins on its first call.

    Raises (on beginning):
        UnsupportedFeatureError: over HTTP or the embedded engine, or the server is 2.x.
    """

    def __init__(self, driver: Driver, session: Session | None) -> None:
        self._driver = driver
        self._session = session
        self._id: UUID | None = None
        self._ended: str | None = None
        self._lock = asyncio.Lock()

    async def _scope(self) -> UUID | None:
        return None if self._session is None else await self._session._attached()

    async def _begun(self) -> UUID:
        if self._ended is not None:
            raise LocalProtocolError(f"the transaction was {self._ended}")
        if self._id is None:
            async with self._lock:
                if self._id is None:
                    session = await self._scope()
                    self._id = await self._driver.call(calls.begin(), session=session)
        return self._id

    async def _run(self, call: calls.Call) -> Any:
        txn = await self._begun()
        return await self._driver.call(call, session=await self._scope(), txn=txn)

    @property
    def transaction_id(self) -> UUID:
        """The transaction's id.

        Raises:
            LocalProtocolError: not begun yet (await the transaction or make a call first).
        """
        if self._id is None:
            raise LocalProtocolError("the transaction has not begun yet: await it first")
        return self._id

    async def commit(self) -> None:
        """Commit: every change becomes visible at once."""
        await self._end(calls.commit, "committed")

    async def cancel(self) -> None:
        """Cancel: every change is discarded."""
        await self._end(calls.cancel, "cancelled")

    async def _end(self, factory: Any, outcome: str) -> None:
        txn = await self._begun()
        self._ended = outcome
        await self._driver.call(factory(txn), session=await self._scope())

    def __await__(self) -> Generator[Any, None, Transaction]:
        return self._begin().__await__()

    async def _begin(self) -> Transaction:
        await self._begun()
        return self

    async def __aenter__(self) -> Self:
        await self._begun()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._ended is not None:
            return
        if exc is None:
            await self.commit()
            return
        try:
            await self.cancel()
        except Exception:  # the block's own exception matters more; the server drops it
            log.warning("cancelling a transaction after %s failed", type(exc).__name__,
                        exc_info=True)

    def __repr__(self) -> str:
        return f"Transaction({self._id or ''}, {self._ended or 'open'})"
