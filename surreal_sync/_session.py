"""``Session`` (``new_session()``) and ``Transaction`` (``begin_transaction()``): views of the
client's connection scoped to an attached session or a transaction. Their calls carry the
session / transaction id; the engine does the rest."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING
from uuid import UUID

from surreal_proto import SurrealError
from surreal_proto import calls as c

from ._log import ClientLogger
from ._methods import DataMethods, Methods

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["Session", "Transaction"]

log = ClientLogger("surreal_sync")


class Session(Methods):
    """An attached 3.x session (WebSocket) on the client's connection: its own auth,
    namespace, database, variables, live queries and transactions. Made by
    ``Surreal.new_session()``; ``close_session()`` detaches it, and so does the end of a
    ``with`` block."""

    def __init__(self, driver: Driver, session: UUID) -> None:
        self._driver = driver
        self._session = session

    @property
    def session_id(self) -> UUID:
        """The session's id."""
        assert self._session is not None
        return self._session

    def close_session(self) -> None:
        """Detach the session on the server; its live queries end."""
        self._run(c.detach())

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close_session()

    def __repr__(self) -> str:
        return f"Session(session_id={self._session})"


class Transaction(DataMethods):
    """A 3.x transaction (WebSocket): data and query methods run inside it until
    :meth:`commit` or :meth:`cancel`. As a context manager it commits when the block
    succeeds and cancels when it raises (the block's exception propagates)."""

    def __init__(self, driver: Driver, session: UUID | None, txn: UUID) -> None:
        self._driver = driver
        self._session = session
        self._txn = txn
        self._finished = False

    @property
    def transaction_id(self) -> UUID:
        """The transaction's id."""
        assert self._txn is not None
        return self._txn

    def _end(self, commit: bool) -> None:
        assert self._txn is not None
        self._finished = True
        self._driver.call((c.commit if commit else c.cancel)(self._txn), session=self._session)

    def commit(self) -> None:
        """Commit: the writes become visible to everyone."""
        self._end(True)

    def cancel(self) -> None:
        """Cancel: the writes are discarded."""
        self._end(False)

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._finished:
            return
        if exc is None:
            self.commit()
            return
        try:
            self.cancel()
        except SurrealError as error:  # the block's own exception matters more
            log.warning("cancelling the transaction after an error failed: %s", error)

    def __repr__(self) -> str:
        return f"Transaction(transaction_id={self._txn})"
