"""The clients under test, each behind the same small interface, for ``bench/_worker.py``.

A runner connects (signed in as root, namespace and database selected) and then runs:

* ``seq(kind, n)``: ``n`` calls one after the other; ``kind`` is ``"ret1"`` (``query("RETURN
  1")``) or ``"select"`` (``select("bench")``: the 1,000 mixed-type records of the table);
* ``pipe(c, n)``: ``n`` batches of ``c`` concurrent ``query("RETURN 1")`` calls on the one
  connection (asyncio ``gather``, a trio nursery, a pool of 16 threads for the blocking
  clients, ``c`` pre-built frames written at once for the null client).

The async runners have the same methods as coroutines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

SQL = "RETURN 1"
TABLE = "bench"
THREADS = 16
#: Fills the table ``bench`` with 1,000 records of mixed types (run once per server or engine).
POPULATE = (
    "REMOVE TABLE IF EXISTS bench; FOR $i IN 1..=1000 { CREATE bench CONTENT { id: $i,"
    " name: 'name ' + <string>$i, n: $i, f: $i * 1.5, ok: $i % 2 = 0, at: time::now(),"
    " d: <decimal>$i / 7, u: rand::uuid(), dur: 1h30m, link: other:ada,"
    " tags: ['a', 'b', 'c'], nested: { a: $i, b: [1, 2.5, 'x'], c: { deep: true } },"
    " nil: NULL } };"
)


def _auth(spec: dict[str, Any]) -> dict[str, Any] | None:
    """Root credentials, or ``None`` for an embedded engine (it runs without authentication)."""
    return None if spec["user"] is None else {"username": spec["user"], "password": spec["pass"]}


class SyncRunner:
    """Our blocking ``Surreal`` or the official blocking client."""

    def __init__(self, spec: dict[str, Any]) -> None:
        auth = _auth(spec)
        if spec["client"] == "ours sync":
            from surreal_sync import Surreal

            self.db: Any = Surreal(spec["url"], namespace=spec["ns"], database=spec["db"],
                                   auth=auth)
            self.db.connect()
        else:
            import surrealdb

            self.db = surrealdb.Surreal(spec["url"])
            if auth is not None:
                self.db.signin(auth)
            self.db.use(spec["ns"], spec["db"])
        if spec.get("populate"):
            self.db.query(POPULATE)
        self.pool = ThreadPoolExecutor(THREADS)

    def seq(self, kind: str, n: int) -> Any:
        db = self.db
        result = None
        if kind == "ret1":
            for _ in range(n):
                result = db.query(SQL)
        else:
            for _ in range(n):
                result = db.select(TABLE)
        return result

    def pipe(self, c: int, n: int) -> None:
        query = self.db.query
        for _ in range(n):
            for _ in self.pool.map(query, [SQL] * c):
                pass

    def close(self) -> None:
        self.pool.shutdown()
        close = getattr(self.db, "close", None)
        try:
            if close is not None:
                close()
        except NotImplementedError:  # the official blocking HTTP client has no close()
            pass


class NullHttpRunner:
    """The null client over HTTP keep-alive (``bench/nullclient.py``): sequential calls only."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from bench.nullclient import NullHttpClient

        parts = urlsplit(spec["url"])
        assert parts.hostname is not None
        assert parts.port is not None
        self.client = NullHttpClient(parts.hostname, parts.port, spec["user"], spec["pass"],
                                     spec["ns"], spec["db"])
        self.requests = {"ret1": self.client.request("query", [SQL]),
                         "select": self.client.request("select", [_table()])}

    def seq(self, kind: str, n: int) -> Any:
        request = self.requests[kind]
        exchange = self.client.exchange
        for _ in range(n):
            exchange(request)

    def pipe(self, c: int, n: int) -> None:
        raise NotImplementedError("the HTTP null client only runs sequential calls")

    def close(self) -> None:
        self.client.close()


class NullRunner:
    """The null client (``bench/nullclient.py``) over ws."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from bench.nullclient import NullClient, request_frame

        parts = urlsplit(spec["url"])
        assert parts.hostname is not None
        assert parts.port is not None
        self.client = NullClient(parts.hostname, parts.port)
        self.client.exchange(
            request_frame(1, "signin", [{"user": spec["user"], "pass": spec["pass"]}])
            + request_frame(2, "use", [spec["ns"], spec["db"]]), 2)
        self.frames = {"ret1": request_frame(3, "query", [SQL]),
                       "select": request_frame(4, "select", [_table()])}
        self.batches: dict[int, bytes] = {}
        self.request_frame = request_frame

    def seq(self, kind: str, n: int) -> Any:
        frame = self.frames[kind]
        exchange = self.client.exchange
        for _ in range(n):
            exchange(frame, 1)

    def pipe(self, c: int, n: int) -> None:
        if c not in self.batches:
            self.batches[c] = b"".join(self.request_frame(10 + i, "query", [SQL])
                                       for i in range(c))
        frames = self.batches[c]
        for _ in range(n):
            self.client.exchange(frames, c)

    def close(self) -> None:
        self.client.close()


class EngineRunner:
    """The embedded engine's ``execute()`` called directly with pre-encoded requests (the
    floor of any ``mem://`` client: no envelope built, no reply decoded)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import cbor2
        from surrealdb_embedded import SyncEmbeddedDB

        self.engine = SyncEmbeddedDB(spec["url"])
        self.engine.connect()

        def request(method: str, params: list[Any]) -> bytes:
            return cbor2.dumps({"id": 1, "method": method, "params": params})

        for message in (request("use", [spec["ns"], spec["db"]]), request("query", [POPULATE])):
            reply = cbor2.loads(self.engine.execute(message))
            if "error" in reply:
                raise RuntimeError(f"the engine refused the set-up: {reply['error']!r}")
        self.frames = {"ret1": request("query", [SQL]), "select": request("select", [_table()])}

    def seq(self, kind: str, n: int) -> Any:
        execute = self.engine.execute
        frame = self.frames[kind]
        for _ in range(n):
            execute(frame)

    def pipe(self, c: int, n: int) -> None:
        raise NotImplementedError("the engine runner only runs sequential calls")

    def close(self) -> None:
        self.engine.close()


class AsyncEngineRunner:
    """The embedded engine's ``AsyncEmbeddedDB.execute()`` awaited directly with pre-encoded
    requests (inside :meth:`open`): the floor of any ``mem://`` client on an event loop, where
    each call is handed to the engine's own threads and its reply back to the loop."""

    def __init__(self, engine: Any, frames: dict[str, bytes]) -> None:
        self.engine = engine
        self.frames = frames

    @classmethod
    @asynccontextmanager
    async def open(cls, spec: dict[str, Any]) -> AsyncIterator[AsyncEngineRunner]:
        import cbor2
        from surrealdb_embedded import AsyncEmbeddedDB

        def request(method: str, params: list[Any]) -> bytes:
            return cbor2.dumps({"id": 1, "method": method, "params": params})

        engine = AsyncEmbeddedDB(spec["url"])
        await engine.connect()
        try:
            for message in (request("use", [spec["ns"], spec["db"]]),
                            request("query", [POPULATE])):
                reply = cbor2.loads(await engine.execute(message))
                if "error" in reply:
                    raise RuntimeError(f"the engine refused the set-up: {reply['error']!r}")
            yield cls(engine, {"ret1": request("query", [SQL]),
                               "select": request("select", [_table()])})
        finally:
            await engine.close()

    async def seq(self, kind: str, n: int) -> Any:
        execute = self.engine.execute
        frame = self.frames[kind]
        for _ in range(n):
            await execute(frame)

    async def pipe(self, c: int, n: int) -> None:
        raise NotImplementedError("the engine runner only runs sequential calls")


def _table() -> Any:
    import cbor2

    return cbor2.CBORTag(7, TABLE)  # a table name, as the clients send it (protocol.md §2.4)


class _AsyncRunner:
    """What the async runners share: sequential calls on an open client."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def seq(self, kind: str, n: int) -> Any:
        db = self.db
        result = None
        if kind == "ret1":
            for _ in range(n):
                result = await db.query(SQL)
        else:
            for _ in range(n):
                result = await db.select(TABLE)
        return result


class AsyncioRunner(_AsyncRunner):
    """Our asyncio ``AsyncSurreal`` or the official async client (inside :meth:`open`)."""

    @classmethod
    @asynccontextmanager
    async def open(cls, spec: dict[str, Any]) -> AsyncIterator[AsyncioRunner]:
        auth = _auth(spec)
        if spec["client"] == "ours asyncio":
            from surreal_asyncio import AsyncSurreal

            async with AsyncSurreal(spec["url"], namespace=spec["ns"], database=spec["db"],
                                    auth=auth) as db:
                if spec.get("populate"):
                    await db.query(POPULATE)
                yield cls(db)
        else:
            import surrealdb

            async with surrealdb.AsyncSurreal(spec["url"]) as sdk:
                if auth is not None:
                    await sdk.signin(auth)
                await sdk.use(spec["ns"], spec["db"])
                if spec.get("populate"):
                    await sdk.query(POPULATE)
                yield cls(sdk)

    async def pipe(self, c: int, n: int) -> None:
        query = self.db.query
        for _ in range(n):
            await asyncio.gather(*[query(SQL) for _ in range(c)])


class TrioRunner(_AsyncRunner):
    """Our trio ``AsyncSurreal`` (inside :meth:`open`)."""

    @classmethod
    @asynccontextmanager
    async def open(cls, spec: dict[str, Any]) -> AsyncIterator[TrioRunner]:
        from surreal_trio import AsyncSurreal

        async with AsyncSurreal(spec["url"], namespace=spec["ns"], database=spec["db"],
                                auth=_auth(spec)) as db:
            if spec.get("populate"):
                await db.query(POPULATE)
            yield cls(db)

    async def pipe(self, c: int, n: int) -> None:
        import trio

        query = self.db.query
        for _ in range(n):
            async with trio.open_nursery() as nursery:
                for _ in range(c):
                    nursery.start_soon(query, SQL)
