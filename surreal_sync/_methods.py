"""The data, query, auth and live-query methods (API.md §5): :class:`DataMethods` (the
client, :class:`Session` and :class:`Transaction`) and :class:`Methods` (the client and
:class:`Session`).

Each method builds a call with a ``surreal_proto.calls`` factory (which checks and encodes
the arguments; no user value is ever pasted into query text) and runs it through the driver
with the object's session and transaction. What a transport or a transaction cannot do is
refused by the engine with ``UnsupportedFeatureError`` / ``LocalProtocolError`` before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from surreal_proto import RecordID, StatementResult, StringRecordID, Table, Tokens
from surreal_proto import calls as c

from ._live import LiveSubscription

if TYPE_CHECKING:
    from ._driver import Driver
    from ._session import Transaction

__all__ = ["DataMethods", "Methods", "Target"]

#: What names records: a record id, a table, a record-id string (sent for the server to
#: parse) or a table name.
Target: TypeAlias = RecordID | Table | StringRecordID | str


class DataMethods:
    """The query and data methods (a mixin of the client, :class:`Session` and
    :class:`Transaction`; see the module docstring)."""

    _driver: Driver
    _session: UUID | None = None
    _txn: UUID | None = None

    def _run(self, call: c.Call) -> Any:
        return self._driver.call(call, session=self._session, txn=self._txn)

    # ------------------------------------------------------------------ queries

    def query(self, sql: str, vars: Mapping[str, Any] | None = None) -> list[Any]:
        """Run SurrealQL; one value per statement.

        Raises:
            QueryError: a statement failed; it carries every statement's outcome.
        """
        result: list[Any] = self._run(c.query(sql, vars))
        return result

    def query_raw(self, sql: str, vars: Mapping[str, Any] | None = None,
                  ) -> list[StatementResult]:
        """Run SurrealQL; every statement's outcome (``status``, ``result``, ``time``,
        ``error``), never raising for a failed statement."""
        result: list[StatementResult] = self._run(c.query_raw(sql, vars))
        return result

    def run(self, name: str, args: Sequence[Any] | None = None,
            version: str | None = None) -> Any:
        """Run a function (``fn::name``, ``ml::name`` with ``version``, or a built-in)."""
        return self._run(c.run(name, args, version))

    # ------------------------------------------------------------------ data

    def select(self, target: Target) -> Any:
        """A record (or ``None``) for a record id; a list for a table or range."""
        return self._run(c.select(target))

    def create(self, target: Target, data: Mapping[str, Any] | None = None) -> Any:
        """Create a record; returns it."""
        return self._run(c.create(target, data))

    def insert(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one or more records; returns them as a list."""
        result: list[Any] = self._run(c.insert(table, data))
        return result

    def insert_relation(self, table: str | Table | None, data: Any) -> list[Any]:
        """Insert one or more relations (``in``/``out`` in ``data``); returns a list."""
        result: list[Any] = self._run(c.insert_relation(table, data))
        return result

    def update(self, target: Target, data: Mapping[str, Any] | None = None) -> Any:
        """Replace the content of record(s)."""
        return self._run(c.update(target, data))

    def upsert(self, target: Target, data: Mapping[str, Any] | None = None) -> Any:
        """Create or replace record(s)."""
        return self._run(c.upsert(target, data))

    def merge(self, target: Target, data: Mapping[str, Any] | None = None) -> Any:
        """Merge ``data`` into record(s)."""
        return self._run(c.merge(target, data))

    def patch(self, target: Target, patches: Sequence[Mapping[str, Any]] | None,
              diff: bool = False) -> Any:
        """Apply JSON-Patch operations; returns the record(s), or the operations if
        ``diff``."""
        return self._run(c.patch(target, patches, diff))

    def delete(self, target: Target) -> Any:
        """Delete record(s); returns what was deleted."""
        return self._run(c.delete(target))

    def relate(self, in_: Any, relation: Target, out: Any,
               data: Mapping[str, Any] | None = None) -> Any:
        """Create edge(s) ``in_ -> relation -> out``."""
        return self._run(c.relate(in_, relation, out, data))



class Methods(DataMethods):
    """Every method of a client-like object: :class:`DataMethods` plus connection state,
    auth, live queries and transactions (the client and :class:`Session`)."""

    # ------------------------------------------------------------------ connection state

    def use(self, namespace: str | None, database: str | None) -> None:
        """Select the namespace and database (``use``)."""
        self._run(c.use(namespace, database))

    def info(self) -> Any:
        """The ``$auth`` record of the signed-in user (or ``None``)."""
        return self._run(c.info())

    def version(self) -> str:
        """The server's version string (``"surrealdb-3.0.0"``)."""
        result: str = self._run(c.version())
        return result

    def ping(self) -> None:
        """Ping the server."""
        self._run(c.ping())

    def let(self, key: str, value: Any) -> None:
        """Define the connection variable ``$key``."""
        self._run(c.let(key, value))

    def unset(self, key: str) -> None:
        """Remove the connection variable ``$key``."""
        self._run(c.unset(key))

    # ------------------------------------------------------------------ auth

    def signin(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign in (root, namespace, database or record access); the tokens are remembered
        for renewal.

        Args:
            vars: official keys (``username``, ``password``, ``namespace``, ``database``,
                ``access``, ``variables``...) or wire keys (``user``, ``pass``, ``NS``...).
        """
        result: Tokens = self._run(c.signin(vars))
        return result

    def signup(self, vars: Mapping[str, Any]) -> Tokens:
        """Sign up a record user; returns its tokens."""
        result: Tokens = self._run(c.signup(vars))
        return result

    def authenticate(self, token: str) -> None:
        """Authenticate with an access token."""
        self._run(c.authenticate(token))

    def invalidate(self) -> None:
        """Drop the authentication of this session."""
        self._run(c.invalidate())

    def refresh(self, tokens: Tokens | Mapping[str, Any] | None = None) -> Tokens:
        """Exchange a refresh token for new tokens (3.x); by default the remembered pair."""
        result: Tokens = self._run(c.refresh(tokens))
        return result

    def revoke(self, tokens: Tokens | Mapping[str, Any]) -> None:
        """Revoke a refresh token (3.x)."""
        self._run(c.revoke(tokens))

    # ------------------------------------------------------------------ live queries

    def live(self, table: Target, diff: bool = False) -> UUID:
        """Start a live query (WebSocket); returns its id for :meth:`subscribe_live`.
        Notifications are read and queued (bounded) from now on."""
        live_id: UUID = self._run(c.live(table, diff))
        self._driver.subscribe(live_id)
        return live_id

    def subscribe_live(self, live_id: UUID | str, *,
                       timeout: float | None = None) -> LiveSubscription:
        """An iterator of the live query's notifications; it ends once the query is killed
        or the connection closes.

        Args:
            live_id: what :meth:`live` returned (or a ``LIVE SELECT`` id from a query).
            timeout: seconds to wait for each notification before ``SurrealTimeoutError``
                (the iterator stays usable); ``None`` waits as long as it takes.
        """
        return LiveSubscription(self._driver, self._driver.subscribe(live_id), timeout)

    def kill(self, live_id: UUID | str) -> None:
        """Stop a live query; its iterators end."""
        self._run(c.kill(live_id))

    # ------------------------------------------------------------------ transactions

    def begin_transaction(self) -> Transaction:
        """Begin a transaction (3.x, WebSocket). Use it as a context manager: it commits on
        success and cancels on an exception."""
        from ._session import Transaction

        txn: UUID = self._run(c.begin())
        return Transaction(self._driver, self._session, txn)
