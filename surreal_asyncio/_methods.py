"""The data, query, auth and live methods (API.md §5), shared by ``AsyncSurreal``,
``Session`` and ``Transaction``.

Each method is one line over a :mod:`surreal_proto.calls` factory, which checks the
arguments and builds the params (a bad argument raises before anything is sent) and shapes
the reply. ``_run`` says where the call goes: the client, an attached session, or a
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from surreal_proto import StatementResult, Table, Tokens, calls

from ._live import LiveSubscription

if TYPE_CHECKING:
    from ._driver import Driver
    from ._session import Session, Transaction

__all__ = ["DataMethods", "Methods"]


class DataMethods:
    """Queries and data methods: what a client, a session and a transaction all have."""

    _driver: Driver

    async def _run(self, call: calls.Call) -> Any:
        raise NotImplementedError

    async def query(self, sql: str, vars: Mapping[str, Any] | None = None) -> list[Any]:
        """Run SurrealQL with bound variables.

        Returns:
            One value per statement.

        Raises:
            QueryError: a statement failed; it carries every statement's outcome.
        """
        return await self._run(calls.query(sql, vars))  # type: ignore[no-any-return]

    async def query_raw(self, sql: str, vars: Mapping[str, Any] | None = None,
                        ) -> list[StatementResult]:
        """Run SurrealQL; return every statement's result (``status``, ``result``, ``time``,
        error fields) without raising for failed statements."""
        return await self._run(calls.query_raw(sql, vars))  # type: ignore[no-any-return]

    async def run(self, name: str, args: Sequence[Any] | None = None,
                  version: str | None = None) -> Any:
        """Run a function (``fn::name`` or a built-in) and return its value."""
        return await self._run(calls.run(name, args, version))

    async def select(self, target: Any) -> Any:
        """A record (or ``None``) for a record id; a list for a table or a range.

        A ``str`` without ``:`` is a table, with ``:`` a record id the server parses; it is
        never pasted into SurrealQL."""
        return await self._run(calls.select(target))

    async def create(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Create a record; return it."""
        return await self._run(calls.create(target, data))

    async def insert(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one record or a list of them; return a list."""
        return await self._run(calls.insert(table, data))  # type: ignore[no-any-return]

    async def insert_relation(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one relation or a list of them; return a list."""
        return await self._run(  # type: ignore[no-any-return]
            calls.insert_relation(table, data))

    async def update(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Replace the content of record(s); return them as ``select`` would."""
        return await self._run(calls.update(target, data))

    async def upsert(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Create or replace record(s); return them as ``select`` would."""
        return await self._run(calls.upsert(target, data))

    async def merge(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Merge ``data`` into record(s); return them as ``select`` would."""
        return await self._run(calls.merge(target, data))

    async def patch(self, target: Any, patches: Sequence[Mapping[str, Any]] | None,
                    diff: bool = False) -> Any:
        """Apply JSON-Patch operations; return the record(s), or the applied operations
        when ``diff``."""
        return await self._run(calls.patch(target, patches, diff))

    async def delete(self, target: Any) -> Any:
        """Delete record(s); return what was deleted."""
        return await self._run(calls.delete(target))

    async def relate(self, in_: Any, relation: Any, out: Any,
                     data: Mapping[str, Any] | None = None) -> Any:
        """Create edge(s) ``in_ -> relation -> out``; return them."""
        return await self._run(calls.relate(in_, relation, out, data))


class Methods(DataMethods):
    """Everything a client and a session have: data methods plus auth, variables, live
    queries and transactions."""

    async def use(self, namespace: str | None, database: str | None) -> None:
        """Select the namespace and database."""
        await self._run(calls.use(namespace, database))

    async def signin(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign in (root, namespace, database or record access); the tokens are remembered
        for renewal and reconnects."""
        return await self._run(calls.signin(vars))  # type: ignore[no-any-return]

    async def signup(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign up with a record access method."""
        return await self._run(calls.signup(vars))  # type: ignore[no-any-return]

    async def authenticate(self, token: str) -> None:
        """Authenticate with an access token."""
        await self._run(calls.authenticate(token))

    async def invalidate(self) -> None:
        """Drop the authentication."""
        await self._run(calls.invalidate())

    async def refresh(self, tokens: Tokens | Mapping[str, Any] | None = None) -> Tokens:
        """Exchange a refresh token for new tokens (the remembered pair by default)."""
        return await self._run(calls.refresh(tokens))  # type: ignore[no-any-return]

    async def revoke(self, tokens: Tokens | Mapping[str, Any]) -> None:
        """Revoke a refresh token."""
        await self._run(calls.revoke(tokens))

    async def info(self) -> Any:
        """The ``$auth`` record, or ``None``."""
        return await self._run(calls.info())

    async def version(self) -> str:
        """The server's version string."""
        return await self._run(calls.version())  # type: ignore[no-any-return]

    async def ping(self) -> None:
        """Ping the server."""
        await self._run(calls.ping())

    async def let(self, key: str, value: Any) -> None:
        """Define the variable ``$key`` for later queries."""
        await self._run(calls.let(key, value))

    async def unset(self, key: str) -> None:
        """Remove the variable ``$key``."""
        await self._run(calls.unset(key))

    async def live(self, table: Any, diff: bool = False) -> UUID:
        """Start a live query (WebSocket only); return its id for ``subscribe_live``."""
        return await self._run(calls.live(table, diff))  # type: ignore[no-any-return]

    def subscribe_live(self, live_id: UUID | str, *,
                       timeout: float | None = None) -> LiveSubscription:
        """The notifications of a live query, as an async iterator (usable at once; awaiting
        it also gives the iterator).

        Args:
            live_id: what ``live()`` returned, or the id of a ``LIVE SELECT``.
            timeout: wait at most this long for each notification (``SurrealTimeoutError``).

        Raises:
            UnsupportedFeatureError: not a WebSocket connection.
        """
        return LiveSubscription(self._driver, live_id, timeout)

    async def kill(self, live_id: UUID | str) -> None:
        """Stop a live query; its iterators end."""
        await self._run(calls.kill(live_id))

    def begin_transaction(self) -> Transaction:
        """A transaction (3.x, WebSocket): ``async with db.begin_transaction() as txn:``
        commits on success and cancels on an exception; ``txn = await
        db.begin_transaction()`` begins it for explicit ``commit()``/``cancel()``."""
        from ._session import Transaction

        return Transaction(self._driver, self._txn_parent())

    def _txn_parent(self) -> Session | None:
        return None
