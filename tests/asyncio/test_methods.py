"""Every method of API.md §4-§5 over ws, http and mem:// (the in-process engine), and what a
transport cannot do (``UnsupportedFeatureError``, before anything is sent)."""

from __future__ import annotations

import contextlib
import uuid

import pytest

from surreal_asyncio import (
    AsyncSurreal,
    EncodingError,
    LocalProtocolError,
    NotAllowedError,
    QueryError,
    RecordID,
    StatementResult,
    SurrealError,
    Table,
    Tokens,
    UnsupportedEngineError,
    UnsupportedFeatureError,
)
from tests.asyncio.helpers import Target, aio

pytestmark = pytest.mark.integration

ACCESS = (
    "DEFINE TABLE user SCHEMALESS PERMISSIONS FULL; "
    "DEFINE ACCESS user ON DATABASE TYPE RECORD "
    "SIGNUP (CREATE user SET name = $name, pass = crypto::argon2::generate($pass)) "
    "SIGNIN (SELECT * FROM user WHERE name = $name AND crypto::argon2::compare(pass, $pass)) "
    "WITH REFRESH DURATION FOR TOKEN 1h, FOR SESSION 1h"
)


@aio
async def test_connection_methods(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        assert db.namespace == target.namespace
        assert db.database == target.database
        await db.ping()
        assert await db.health() is True
        version = await db.version()
        assert isinstance(version, str)
        assert version.startswith("surrealdb-")
        assert db.server_version is not None
        await db.connect()  # already connected: at once, same session
        assert db.namespace == target.namespace


@aio
async def test_query_methods(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        assert await db.query("RETURN 1; RETURN $x + 1", {"x": 41}) == [1, 42]
        await db.let("greeting", "hello")
        assert await db.query("RETURN $greeting") == ["hello"]
        await db.unset("greeting")
        assert await db.query("RETURN $greeting") == [None]
        with pytest.raises(QueryError) as caught:
            await db.query("RETURN 1; THROW 'boom'; RETURN 3")
        assert "boom" in str(caught.value)
        raw = await db.query_raw("RETURN 1; THROW 'boom'")
        assert all(isinstance(r, StatementResult) for r in raw)
        assert [r.status for r in raw] == ["OK", "ERR"]
        assert await db.run("string::uppercase", ["abc"]) == "ABC"
        await db.query("DEFINE FUNCTION fn::twice($n: int) { RETURN $n * 2; }")
        assert await db.run("fn::twice", [21]) == 42


@aio
async def test_data_methods(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        ada = RecordID("person", "ada")
        created = await db.create(ada, {"name": "Ada", "age": 36})
        assert created == {"id": ada, "name": "Ada", "age": 36}
        assert await db.select(ada) == created
        assert await db.select(RecordID("person", "nobody")) is None
        many = await db.insert("person", [{"id": 1, "name": "One"}, {"id": 2, "name": "Two"}])
        assert [r["id"] for r in many] == [RecordID("person", 1), RecordID("person", 2)]
        assert len(await db.select("person")) == 3
        assert len(await db.select(Table("person"))) == 3
        updated = await db.update(ada, {"name": "Ada L."})
        assert updated == {"id": ada, "name": "Ada L."}
        merged = await db.merge(ada, {"age": 37})
        assert merged == {"id": ada, "name": "Ada L.", "age": 37}
        upserted = await db.upsert(RecordID("person", "bob"), {"name": "Bob"})
        assert upserted == {"id": RecordID("person", "bob"), "name": "Bob"}
        patched = await db.patch(ada, [{"op": "replace", "path": "/age", "value": 38}])
        assert patched["age"] == 38
        ops = await db.patch(ada, [{"op": "replace", "path": "/age", "value": 39}], diff=True)
        assert isinstance(ops, list)
        assert any(op.get("path") == "/age" for op in ops)
        edge = await db.relate(ada, Table("knows"), RecordID("person", "bob"), {"since": 2020})
        edges = edge if isinstance(edge, list) else [edge]
        assert edges[0]["in"] == ada
        assert edges[0]["out"] == RecordID("person", "bob")
        rel = await db.insert_relation(
            "likes", {"in": ada, "out": RecordID("person", 1), "how": "much"})
        assert rel[0]["how"] == "much"
        deleted = await db.delete(RecordID("person", "bob"))
        assert deleted["name"] == "Bob"
        await db.delete("person")
        assert await db.select("person") == []


@aio
async def test_auth_methods(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        await db.query(ACCESS)
        credentials = {"namespace": target.namespace, "database": target.database,
                       "access": "user", "variables": {"name": "ann", "pass": "pw"}}
        tokens = await db.signup(credentials)
        assert isinstance(tokens, Tokens)
        assert tokens.access
        tokens = await db.signin(credentials)
        assert isinstance(tokens, Tokens)
        user = await db.info()
        assert user is not None
        assert user["name"] == "ann"
        if target.kind != "mem":  # the embedded engine keeps its own session state
            fresh = await db.refresh()
            assert isinstance(fresh, Tokens)
            await db.revoke(fresh)
        await db.invalidate()
        with pytest.raises(NotAllowedError):  # anonymous now
            await db.info()
        assert tokens.access is not None
        await db.authenticate(tokens.access)
        assert (await db.info())["name"] == "ann"
        with pytest.raises(LocalProtocolError):
            await db.authenticate("")


@aio
async def test_import_export(server_target: Target) -> None:
    target = server_target
    async with target.client() as db:
        await target.ready(db)
        await db.import_("CREATE thing:one SET n = 1; CREATE thing:two SET n = 2;")
        assert len(await db.select("thing")) == 2
        text = await db.export()
        assert "thing" in text


@aio
async def test_injection_through_targets_deletes_nothing(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        await db.create(RecordID("b", 1), {"keep": True})
        for evil in ("a; DELETE b", Table("a; DELETE b"), "a:1; DELETE b"):
            with contextlib.suppress(SurrealError):  # a typed error is fine: b survives
                await db.select(evil)
        assert await db.select("b") == [{"id": RecordID("b", 1), "keep": True}]


@aio
async def test_bad_arguments_raise_before_sending(target: Target) -> None:
    async with target.client() as db:
        await target.ready(db)
        with pytest.raises(EncodingError):
            await db.create("n", {"big": 2**64})
        with pytest.raises(ValueError, match="64"):  # EncodingError is a ValueError too
            await db.query("RETURN $x", {"x": 2**64})
        assert await db.query("RETURN 1") == [1]


@pytest.mark.parametrize("kind", ["http", "httpx", "mem"])
@aio
async def test_unsupported_features(kind: str, request: pytest.FixtureRequest) -> None:
    from tests.asyncio.conftest import make_target

    target = make_target(kind, None if kind == "mem" else request.getfixturevalue("surreal_db"))
    async with target.client() as db:
        await target.ready(db)
        with pytest.raises(UnsupportedFeatureError):
            await db.live("person")
        with pytest.raises(UnsupportedFeatureError):
            db.subscribe_live(uuid.uuid4())
        with pytest.raises(UnsupportedFeatureError):
            await db.kill(uuid.uuid4())
        with pytest.raises(UnsupportedFeatureError):
            await db.begin_transaction()
        with pytest.raises(UnsupportedFeatureError):
            async with db.begin_transaction() as txn:
                await txn.create("person", {"x": 1})
        if kind != "mem":
            with pytest.raises(UnsupportedFeatureError):
                await db.new_session()
        else:
            with pytest.raises(UnsupportedFeatureError):
                await db.export()
            with pytest.raises(UnsupportedFeatureError):
                await db.import_("RETURN 1")
        assert await db.query("RETURN 1") == [1]  # nothing was sent; the client is fine


def test_unsupported_url_scheme() -> None:
    with pytest.raises(UnsupportedEngineError):
        AsyncSurreal("ftp://example.com")
