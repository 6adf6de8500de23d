"""Every method of the blocking client over ws, http and mem:// (API.md §4-§5).

Each test takes the ``kind`` parameter (through ``db`` or ``connect``), so it runs once per
transport, against the reference server (the real engine) or the in-process engine.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

from surreal_proto import ClientState
from surreal_sync import (
    QueryError,
    RecordID,
    StatementResult,
    Surreal,
    SurrealError,
    Table,
    Tokens,
    UnsupportedFeatureError,
)
from tests.conftest import DbInfo
from tests.sync.conftest import Factory, url_for

pytestmark = pytest.mark.integration

ACCESS = (
    "DEFINE ACCESS account ON DATABASE TYPE RECORD "
    "SIGNUP (CREATE user SET email = $email, pass = crypto::argon2::generate($pass)) "
    "SIGNIN (SELECT * FROM user WHERE email = $email AND crypto::argon2::compare(pass, $pass)) "
    "WITH REFRESH DURATION FOR TOKEN 1h, FOR SESSION 1d;"
    "DEFINE TABLE user SCHEMALESS PERMISSIONS FOR select WHERE id = $auth.id;"
)


def state_of(db: Surreal) -> ClientState:
    return db.state  # read through a call, so mypy does not narrow it between reads


def test_lifecycle_and_properties(connect: Factory, kind: str, surreal_db: DbInfo) -> None:
    db = connect(kind)
    assert state_of(db) is ClientState.IDLE  # construction did no I/O
    assert db.server_version is None
    db.connect()
    assert state_of(db) is ClientState.OPEN
    assert str(db.server_version).startswith(("3.", "surrealdb-3"))
    assert (db.namespace, db.database) == (surreal_db.namespace, surreal_db.database)
    assert db.url == url_for(kind, surreal_db)
    db.connect()  # connected already: nothing happens
    with db as same:  # re-entry keeps the session (auth, namespace)
        assert same is db
        assert db.query("RETURN $session.ns") == [surreal_db.namespace]
    assert state_of(db) is ClientState.CLOSED
    db.close()  # idempotent
    assert db.query("RETURN 1") == [1]  # a fresh connection after close()
    db.close()


def test_use_ping_version_health_info(db: Surreal, surreal_db: DbInfo) -> None:
    db.ping()
    assert db.version().startswith("surrealdb-")
    assert db.health() is True
    assert db.info() is None  # root has no $auth record
    db.use(surreal_db.namespace, surreal_db.database + "_other")
    assert db.query("RETURN $session.db") == [surreal_db.database + "_other"]
    assert db.database == surreal_db.database + "_other"


def test_auth_methods(db: Surreal, surreal_db: DbInfo) -> None:
    db.query(ACCESS)
    creds = {"namespace": surreal_db.namespace, "database": surreal_db.database,
             "access": "account", "variables": {"email": "ada@example.com", "pass": "pw"}}
    tokens = db.signup(creds)
    assert isinstance(tokens, Tokens)
    assert tokens.access
    assert tokens.refresh
    tokens = db.signin(creds)
    assert db.info()["email"] == "ada@example.com"
    renewed = db.refresh()  # the remembered pair
    assert renewed.access
    db.invalidate()
    with pytest.raises(SurrealError):
        db.info()
    db.authenticate(renewed.access)
    assert db.info()["email"] == "ada@example.com"
    again = db.signin(creds)
    db.revoke(again)
    with pytest.raises(SurrealError):
        db.refresh(again)


def test_let_unset_query_query_raw_run(db: Surreal) -> None:
    db.let("name", "Ada")
    assert db.query("RETURN $name; RETURN $x", {"x": 2}) == ["Ada", 2]
    db.unset("name")
    assert db.query("RETURN $name") == [None]
    with pytest.raises(QueryError) as caught:
        db.query("RETURN 1; THROW 'boom'; RETURN 3")
    assert len(caught.value.results) == 3  # every statement's outcome, not the first only
    raw = db.query_raw("RETURN 1; THROW 'boom'")
    assert all(isinstance(r, StatementResult) for r in raw)
    assert [r.status for r in raw] == ["OK", "ERR"]
    assert db.run("string::uppercase", ["ada"]) == "ADA"
    db.query("DEFINE FUNCTION fn::double($x: int) { RETURN $x * 2; }")
    assert db.run("fn::double", [21]) == 42


def test_crud(db: Surreal) -> None:
    ada = db.create(RecordID("person", "ada"), {"name": "Ada"})
    assert ada == {"id": RecordID("person", "ada"), "name": "Ada"}
    made = db.create("person", {"name": "Bob"})
    assert made["name"] == "Bob"
    assert db.select(RecordID("person", "ada"))["name"] == "Ada"
    assert db.select(RecordID("person", "nobody")) is None
    assert len(db.select("person")) == 2
    assert db.select(Table("person")) == db.select("person")
    inserted = db.insert("person", [{"id": 1, "name": "One"}, {"id": 2, "name": "Two"}])
    assert [p["name"] for p in inserted] == ["One", "Two"]
    assert db.update(RecordID("person", 1), {"name": "Uno"})["name"] == "Uno"
    assert db.upsert(RecordID("person", 3), {"name": "Tres"})["name"] == "Tres"
    merged = db.merge(RecordID("person", "ada"), {"born": 1815})
    assert merged == {"id": RecordID("person", "ada"), "name": "Ada", "born": 1815}
    patched = db.patch(RecordID("person", "ada"), [{"op": "replace", "path": "/born",
                                                     "value": 1816}])
    assert patched["born"] == 1816
    ops = db.patch(RecordID("person", "ada"), [{"op": "remove", "path": "/born"}], diff=True)
    assert isinstance(ops, list)
    assert "born" not in db.select(RecordID("person", "ada"))
    edge = db.relate(RecordID("person", "ada"), "knows", RecordID("person", 1), {"since": 1})
    edges = edge if isinstance(edge, list) else [edge]
    assert edges[0]["in"] == RecordID("person", "ada")
    rel = db.insert_relation("likes", {"in": RecordID("person", 1),
                                       "out": RecordID("person", 2)})
    assert rel[0]["out"] == RecordID("person", 2)
    assert db.delete(RecordID("person", 3))["name"] == "Tres"
    assert len(db.delete("person")) == 4
    assert db.select("person") == []


def test_targets_are_never_query_text(db: Surreal) -> None:
    db.create(RecordID("b", 1), {"keep": True})
    for target in ("a; DELETE b", Table("a; DELETE b"), "a:1; DELETE b"):
        with contextlib.suppress(SurrealError):  # refusing a strange name is fine
            db.select(target)
    assert db.select(RecordID("b", 1)) == {"id": RecordID("b", 1), "keep": True}


def test_live_methods(db: Surreal, kind: str) -> None:
    if kind != "ws":
        with pytest.raises(UnsupportedFeatureError):
            db.live("person")
        with pytest.raises(UnsupportedFeatureError):
            db.kill(uuid.uuid4())
        with pytest.raises(UnsupportedFeatureError):
            db.subscribe_live(uuid.uuid4())
        return
    db.query("DEFINE TABLE person SCHEMALESS")
    live_id = db.live("person")
    assert isinstance(live_id, uuid.UUID)
    sub = db.subscribe_live(live_id, timeout=5)
    db.create(RecordID("person", 1), {"n": 1})
    note = next(sub)
    assert (note.action, note.record, note.result["n"]) == ("CREATE", RecordID("person", 1), 1)
    db.kill(live_id)
    assert list(sub) == []


def test_sessions(connect: Factory, kind: str, surreal_db: DbInfo) -> None:
    db = connect(kind)
    if kind in ("http", "httpx"):
        with pytest.raises(UnsupportedFeatureError):
            db.new_session()
        return
    user, password = surreal_db.server.user, surreal_db.server.password
    if kind == "mem":  # the in-process engine has no root user to sign in with
        db.query(f"DEFINE USER {user} ON ROOT PASSWORD '{password}' ROLES OWNER")
    session = db.new_session()
    session.signin({"username": user, "password": password})  # a new session is anonymous
    session.use(surreal_db.namespace, "elsewhere")
    session.let("who", "session")
    db.let("who", "default")
    assert session.query("RETURN [$who, $session.db]") == [["session", "elsewhere"]]
    assert db.query("RETURN [$who, $session.db]") == [["default", surreal_db.database]]
    session.create(RecordID("thing", 1))
    with pytest.raises(SurrealError):
        db.select("thing")  # another database: no such table here
    session.close_session()
    with pytest.raises(SurrealError):
        session.query("RETURN 1")


def test_transactions(db: Surreal, kind: str) -> None:
    if kind != "ws":
        with pytest.raises(UnsupportedFeatureError):
            db.begin_transaction()
        return
    with db.begin_transaction() as txn:
        txn.create(RecordID("account", 1), {"balance": 10})
        txn.query("UPDATE account:1 SET balance += 5")
        assert txn.select(RecordID("account", 1))["balance"] == 15
    assert db.select(RecordID("account", 1))["balance"] == 15


def test_import_and_export(db: Surreal, kind: str) -> None:
    script = "DEFINE TABLE book SCHEMALESS;\nCREATE book:dune SET title = 'Dune';\n"
    if kind == "mem":
        with pytest.raises(UnsupportedFeatureError):
            db.import_(script)
        with pytest.raises(UnsupportedFeatureError):
            db.export()
        return
    db.import_(script)
    assert db.select(RecordID("book", "dune"))["title"] == "Dune"
    exported = db.export()
    assert "DEFINE TABLE book" in exported
    assert "Dune" in exported


def test_server_errors_are_typed(db: Surreal) -> None:
    db.create(RecordID("person", 1))
    with pytest.raises(SurrealError) as caught:
        db.create(RecordID("person", 1))
    assert type(caught.value).__module__.startswith("surreal_proto")
    assert db.query("RETURN 1") == [1]  # the connection is still fine


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_seed_examples_verbatim(surreal_db: DbInfo, scheme: str) -> None:
    # API.md §2, with the fixture's URL and root credentials instead of localhost:8000.
    url = surreal_db.server.ws_url if scheme == "ws" else surreal_db.server.http_url
    user, password = surreal_db.server.user, surreal_db.server.password
    db = Surreal(url)          # no I/O yet: connects lazily or on connect()
    db.use("namespace", "database")
    db.signin({"username": user, "password": password})
    db.close()
    with Surreal(url) as db:
        db.use(namespace="surrealdb", database="docs")
