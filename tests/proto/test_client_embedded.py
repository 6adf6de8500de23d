"""ClientEngine against the REAL in-process engine (``surrealdb-embedded``, mem://)."""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import (
    ConnectionClosedError,
    InternalError,
    NotFoundError,
    QueryError,
    RecordID,
    UnsupportedEngineError,
    UnsupportedFeatureError,
    ValidationError,
)
from surreal_proto import _calls as c
from surreal_proto._client_events import ClientState
from tests.proto.client_helpers import Harness

pytest.importorskip("surrealdb_embedded")


def mem(**options: Any) -> Harness:
    h = Harness("mem://", namespace="test", database="test", **options)
    h.engine.connect(now=h.now)
    h.flush()
    assert h.state() is ClientState.OPEN
    return h


def test_calls_shaped_against_the_real_engine() -> None:
    h = mem()
    assert h.opened[0].transport == "embedded"
    assert h.opened[0].embedded_url == "mem://"
    assert h.engine.server_version is not None
    assert h.engine.server_version.major >= 3
    assert h.engine.namespace == "test"
    created = h.start(c.create(RecordID("person", 1), {"name": "a"}))
    assert h.result(created) == {"id": RecordID("person", 1), "name": "a"}
    assert h.result(h.start(c.select(RecordID("person", 1))))["name"] == "a"
    assert h.result(h.start(c.select("person"))) == [{"id": RecordID("person", 1),
                                                       "name": "a"}]
    missing = h.error(h.start(c.select("a; DELETE person")))  # a table name, never pasted
    assert isinstance(missing, NotFoundError)
    assert len(h.result(h.start(c.select("person")))) == 1
    inserted = h.result(h.start(c.insert("person", [{"id": 2, "name": "b"}])))
    assert isinstance(inserted, list)
    assert inserted[0]["name"] == "b"
    assert h.result(h.start(c.let("x", 5))) is None
    assert h.result(h.start(c.query("RETURN $x; RETURN $x * 2"))) == [5, 10]
    failed = h.start(c.query("RETURN 1; THROW 'boom'"))
    error = h.error(failed)
    assert isinstance(error, QueryError)
    assert error.results[0] == 1
    raw = h.result(h.start(c.query_raw("RETURN 1; THROW 'boom'")))
    assert [s.status for s in raw] == ["OK", "ERR"]
    assert h.result(h.start(c.version())).startswith("surrealdb-")
    assert h.result(h.start(c.health())) is True
    assert h.result(h.start(c.ping())) is None
    assert h.result(h.start(c.delete(RecordID("person", 2))))["name"] == "b"


def test_sessions_on_the_embedded_engine() -> None:
    h = mem()
    h.result(h.start(c.query("DEFINE USER admin ON ROOT PASSWORD 'pw' ROLES OWNER")))
    session, attach = h.engine.new_session(now=h.now)
    h.flush()
    assert h.result(attach) is None
    # A fresh attached session is anonymous (protocol.md §9.1): sign it in.
    signin = h.start(c.signin({"username": "admin", "password": "pw"}), session=session)
    assert h.result(signin).access
    h.result(h.start(c.use("other", "db"), session=session))
    h.result(h.start(c.create(RecordID("thing", 1)), session=session))
    assert h.result(h.start(c.select("thing"), session=session)) == [{"id": RecordID("thing",
                                                                                     1)}]
    other = h.error(h.start(c.select("thing")))  # the default session is elsewhere
    assert isinstance(other, NotFoundError)
    assert h.result(h.start(c.detach(), session=session)) is None


def test_unsupported_on_the_embedded_engine() -> None:
    h = mem()
    for call in (c.live("person"), c.begin(), c.import_("x"), c.export()):
        with pytest.raises(UnsupportedFeatureError):
            h.start(call)


def test_engine_exceptions_become_typed_errors() -> None:
    h = mem()

    class Refusing:
        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        def execute(self, data: bytes) -> bytes:
            raise self.exc

        def close(self) -> None:
            pass

    real = h.embedded[h.link]
    h.embedded[h.link] = Refusing(ValueError("Failed to parse request"))
    assert isinstance(h.error(h.start(c.ping())), ValidationError)
    h.embedded[h.link] = Refusing(RuntimeError("engine broke"))
    assert isinstance(h.error(h.start(c.ping())), InternalError)
    h.embedded[h.link] = real


def test_missing_extra_is_a_clear_error() -> None:
    h = Harness("mem://", auto_open=False)
    call = h.start(c.ping())
    h.fail_link(ModuleNotFoundError("No module named 'surrealdb_embedded'"))
    error = h.error(call)
    assert isinstance(error, UnsupportedEngineError)
    assert "pip install" in str(error)


def test_close_the_embedded_engine() -> None:
    h = mem()
    done = h.engine.close(now=h.now)
    h.flush()
    assert h.result(done) is None
    assert h.closed == [h.link]
    assert h.embedded == {}
    assert h.state() is ClientState.CLOSED
    again = h.start(c.query("RETURN 1"))  # a fresh engine after close()
    assert h.result(again) == [1]
    assert isinstance(ConnectionClosedError(), Exception)
