"""The data, query, auth and live methods (API.md §5), shared by the client, ``Session`` and
``Transaction``. Each is one line over a ``surreal_proto.calls`` factory; ``_call`` adds the
session or transaction the object stands for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import trio

from surreal_proto import StatementResult, Table, Tokens, calls

from ._live import LiveSubscription

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["DataMethods", "Methods"]


class DataMethods:
    """Queries and data methods: what a ``Transaction`` can run."""

    _driver: Driver

    async def _call(self, call: calls.Call) -> Any:
        return await self._driver.call(call)

    async def query(self, sql: str, vars: Mapping[str, Any] | None = None) -> list[Any]:
        """Run SurrealQL; one value per statement.

        Raises:
            QueryError: a statement failed (it carries every statement's outcome).
        """
        result: list[Any] = await self._call(calls.query(sql, vars))
        return result

    async def query_raw(self, sql: str, vars: Mapping[str, Any] | None = None,
                        ) -> list[StatementResult]:
        """Run SurrealQL; every statement's result (``status``, ``result``, ``time``...).
        Never raises for statement errors."""
        result: list[StatementResult] = await self._call(calls.query_raw(sql, vars))
        return result

    async def run(self, name: str, args: Sequence[Any] | None = None,
                  version: str | None = None) -> Any:
        """Run a function (``fn::name`` or a built-in); its value."""
        return await self._call(calls.run(name, args, version))

    async def select(self, target: Any) -> Any:
        """A record (or ``None``) for a record id; a list for a table or a range."""
        return await self._call(calls.select(target))

    async def create(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Create a record; the created record."""
        return await self._call(calls.create(target, data))

    async def insert(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one or more records; a list."""
        result: list[Any] = await self._call(calls.insert(table, data))
        return result

    async def insert_relation(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one or more relations; a list."""
        result: list[Any] = await self._call(calls.insert_relation(table, data))
        return result

    async def update(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Replace record(s); record(s) as :meth:`select`."""
        return await self._call(calls.update(target, data))

    async def upsert(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Create or replace record(s); record(s) as :meth:`select`."""
        return await self._call(calls.upsert(target, data))

    async def merge(self, target: Any, data: Mapping[str, Any] | None = None) -> Any:
        """Merge ``data`` into record(s); record(s) as :meth:`select`."""
        return await self._call(calls.merge(target, data))

    async def patch(self, target: Any, patches: Sequence[Mapping[str, Any]] | None,
                    diff: bool = False) -> Any:
        """Apply JSON Patch operations; record(s), or the applied operations if ``diff``."""
        return await self._call(calls.patch(target, patches, diff))

    async def delete(self, target: Any) -> Any:
        """Delete record(s); the deleted record(s)."""
        return await self._call(calls.delete(target))

    async def relate(self, in_: Any, relation: Any, out: Any,
                     data: Mapping[str, Any] | None = None) -> Any:
        """Create edge(s) ``in_ -> relation -> out``; the edge(s)."""
        return await self._call(calls.relate(in_, relation, out, data))


class Methods(DataMethods):
    """Everything a client and a ``Session`` share: data, auth, variables, live queries."""

    async def use(self, namespace: str | None, database: str | None) -> None:
        """Select the namespace and database."""
        await self._call(calls.use(namespace, database))

    async def signin(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign in (official keys ``username``, ``password``, ``namespace``...); the tokens
        are remembered for renewal."""
        result: Tokens = await self._call(calls.signin(vars))
        return result

    async def signup(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign up through a record access method."""
        result: Tokens = await self._call(calls.signup(vars))
        return result

    async def authenticate(self, token: str) -> None:
        """Authenticate with an access token."""
        await self._call(calls.authenticate(token))

    async def invalidate(self) -> None:
        """Drop the authentication."""
        await self._call(calls.invalidate())

    async def refresh(self, tokens: Tokens | Mapping[str, Any] | None = None) -> Tokens:
        """Exchange a refresh token (default: the remembered pair) for new tokens (3.x)."""
        result: Tokens = await self._call(calls.refresh(tokens))
        return result

    async def revoke(self, tokens: Tokens | Mapping[str, Any]) -> None:
        """Revoke a refresh token (3.x)."""
        await self._call(calls.revoke(tokens))

    async def info(self) -> Any:
        """The ``$auth`` record (or ``None``)."""
        return await self._call(calls.info())

    async def version(self) -> str:
        """The server version (``"surrealdb-3.0.0"``)."""
        result: str = await self._call(calls.version())
        return result

    async def ping(self) -> None:
        """Round trip to the server."""
        await self._call(calls.ping())

    async def let(self, key: str, value: Any) -> None:
        """Define the variable ``$key`` for later queries."""
        await self._call(calls.let(key, value))

    async def unset(self, key: str) -> None:
        """Remove the variable ``$key``."""
        await self._call(calls.unset(key))

    async def live(self, table: Any, diff: bool = False) -> UUID:
        """Start a live query (WebSocket); its id for :meth:`subscribe_live`."""
        result: UUID = await self._call(calls.live(table, diff))
        return result

    async def subscribe_live(self, live_id: UUID | str, *, timeout: float | None = None,
                             ) -> LiveSubscription:
        """The notifications of a live query, as an async iterator (WebSocket).

        Args:
            live_id: what :meth:`live` returned, or the id of a ``LIVE SELECT``.
            timeout: seconds to wait for each notification before raising
                ``SurrealTimeoutError``; ``None`` waits as long as it takes (cancel
                instead).
        """
        await trio.lowlevel.checkpoint()
        return LiveSubscription(self._driver, self._driver.subscribe(live_id), timeout)

    async def kill(self, live_id: UUID | str) -> None:
        """Stop a live query; its iterators end."""
        await self._call(calls.kill(live_id))
