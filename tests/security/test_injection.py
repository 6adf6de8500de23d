"""No user value is ever pasted into SurrealQL (API.md §5 "Targets", ``protocol.md`` §4.3).

Every test seeds table ``b`` with rows, throws hostile text at a client of each adapter
(``surreal_sync``, ``surreal_asyncio``, ``surreal_trio``) over WebSocket and HTTP against the
reference server, and checks that ``b`` keeps its rows and that hostile keys, field names and
values come back exactly as they were sent.

Text that cannot be sent safely is refused before anything is sent, with a typed error: a
``str`` target with ``:`` that is more than one record id (the server would read only the
first record id and drop the rest, :class:`StringRecordID`), and variable names that are
protected (``auth``, ``token``, ``session``, ``access``: the server sets them) or that
``$name`` cannot spell (``check_param_name``: ASCII letters, digits and ``_``, not starting
with a digit).
"""

from __future__ import annotations

from typing import Any

import pytest

from surreal_proto import (
    EncodingError,
    NotFoundError,
    RecordID,
    ServerError,
    StringRecordID,
    Table,
)
from tests.conftest import ServerInfo

from .adapters import Kit, run

pytestmark = pytest.mark.integration

B_ROWS = [{"id": RecordID("b", 1), "keep": True}, {"id": RecordID("b", 2), "keep": True}]

HOSTILE_TEXT = [
    "a; DELETE b", "a; DELETE b; --", "`; DELETE b; `", "⟩; DELETE b; ⟨", "'; DELETE b; '",
    '"; DELETE b; "', "a\n; DELETE b", "$auth", "<future> { DELETE b }", "b WHERE true",
]
HOSTILE_KEYS = [
    "1; DELETE b", "1", "a`; DELETE b; `", "x⟩; DELETE b; ⟨", "it's", 'say "hi"',
    "line\nbreak; DELETE b", "tab\tand\\backslash", "nul\x00byte", "$auth", "-- comment",
    "ünïcödé 🚀", "", " ", "b:1",
]


@pytest.fixture(params=["ws", "http"])
def url(request: pytest.FixtureRequest, surreal_server: ServerInfo) -> str:
    return surreal_server.ws_url if request.param == "ws" else surreal_server.http_url


async def seed_b(db: Any) -> None:
    for row in B_ROWS:
        await db.create(row["id"], {"keep": True})


async def assert_b_intact(db: Any) -> None:
    assert await db.select("b") == B_ROWS


def test_hostile_table_targets_are_table_names(adapter: str, url: str,
                                               options: dict[str, Any]) -> None:
    async def scenario(kit: Kit) -> None:
        async with kit.open(url, **options) as db:
            await seed_b(db)
            for text in HOSTILE_TEXT:
                # A str without ":" is a table of that name; nothing else runs.
                created = await db.create(Table(text), {"v": 1})
                assert created["id"].table == text
                assert await db.select(text) == [created]
                assert await db.select(Table(text)) == [created]
                updated = await db.update(text, {"v": 2})
                assert [r["v"] for r in updated] == [2]
                assert await db.delete(text) == updated
                assert await db.select(Table(text)) == []
            await assert_b_intact(db)

    run(adapter, scenario)


@pytest.mark.parametrize("text", ["x:1; DELETE b", "b:1; DELETE b", "b:1 DELETE b",
                                  "person:rand(); DELETE b", "a; DELETE b:1", "b:1`; DELETE b"])
def test_record_id_text_with_more_is_refused_before_sending(adapter: str, url: str,
                                                            options: dict[str, Any],
                                                            text: str) -> None:
    async def scenario(kit: Kit) -> None:
        async with kit.open(url, **options) as db:
            await seed_b(db)
            for call in (db.select(text), db.create(text, {"v": 1}), db.delete(text),
                         db.upsert(text, {"v": 1}), db.merge(text, {"v": 1})):
                with pytest.raises(EncodingError, match="drop the rest"):
                    await call
            with pytest.raises(EncodingError):
                await db.relate(RecordID("x", 1), text, RecordID("x", 2))
            await assert_b_intact(db)
            # Nothing was created under the record id the server would have read.
            for table in ("x", "a", "person"):
                with pytest.raises(NotFoundError):
                    await db.select(table)

    run(adapter, scenario)


def test_string_record_id_is_checked_where_it_is_made() -> None:
    with pytest.raises(EncodingError) as caught:
        StringRecordID("person:1; DELETE b")
    assert isinstance(caught.value, ValueError)
    assert StringRecordID("person:`1; DELETE b`").text == "person:`1; DELETE b`"


def test_hostile_record_keys_are_stored_exactly(adapter: str, url: str,
                                                options: dict[str, Any]) -> None:
    async def scenario(kit: Kit) -> None:
        async with kit.open(url, **options) as db:
            await seed_b(db)
            for key in HOSTILE_KEYS:
                for rid in (RecordID("person", key), RecordID("a; DELETE b", key)):
                    created = await db.create(rid, {"key": key})
                    assert created == {"id": rid, "key": key}
                    assert await db.select(rid) == created
                    # Our SurrealQL spelling of the id addresses the same record.
                    assert await db.select(StringRecordID(str(rid))) == created
                    got = await db.query("SELECT * FROM ONLY $id", {"id": rid})
                    assert got == [created]
            people = await db.select("person")
            assert sorted(r["id"].id for r in people) == sorted(HOSTILE_KEYS)
            await assert_b_intact(db)

    run(adapter, scenario)


def test_hostile_field_names_and_values_are_data(adapter: str, url: str,
                                                 options: dict[str, Any]) -> None:
    fields = {text: text for text in HOSTILE_TEXT + HOSTILE_KEYS if text}

    async def scenario(kit: Kit) -> None:
        async with kit.open(url, **options) as db:
            await seed_b(db)
            rid = RecordID("person", "fields")
            assert await db.create(rid, fields) == {"id": rid, **fields}
            assert await db.merge(rid, {"a; DELETE b": "merged"}) == {
                "id": rid, **fields, "a; DELETE b": "merged"}
            inserted = await db.insert("a; DELETE b", [{"id": 1, **fields}])
            assert inserted == [{"id": RecordID("a; DELETE b", 1), **fields}]
            for text in HOSTILE_TEXT:
                assert await db.query("RETURN $v", {"v": text}) == [text]
                assert await db.query("RETURN $v", {"v": {text: text}}) == [{text: text}]
            await assert_b_intact(db)

    run(adapter, scenario)


#: No server listens there: a call that reached the network would fail to connect instead.
NOWHERE = "ws://127.0.0.1:9"


@pytest.mark.parametrize("name", ["auth", "token", "session", "access"])
def test_protected_variable_names_are_refused_before_sending(adapter: str,
                                                             name: str) -> None:
    async def scenario(kit: Kit) -> None:
        db = kit.make(NOWHERE, reconnect=False, connect_timeout=1.0)
        with pytest.raises(EncodingError, match=rf"\${name} is a protected variable"):
            await db.let(name, "x")
        with pytest.raises(EncodingError, match="protected"):
            await db.unset(name)
        with pytest.raises(EncodingError, match="protected"):
            await db.query("RETURN 1", {name: "x"})
        await db.close()

    run(adapter, scenario)


@pytest.mark.parametrize("name", ["a; DELETE b", "a b", "1abc", "", "$x", "x-y", "é", "a`b",
                                  "x\n", "a\x00"])
def test_invalid_variable_names_are_refused_before_sending(adapter: str, name: str) -> None:
    async def scenario(kit: Kit) -> None:
        db = kit.make(NOWHERE, reconnect=False, connect_timeout=1.0)
        with pytest.raises(EncodingError, match="not a valid variable name"):
            await db.let(name, 1)
        with pytest.raises(EncodingError, match="not a valid variable name"):
            await db.query("RETURN 1", {name: 1})
        await db.close()

    run(adapter, scenario)


def test_valid_variables_carry_hostile_values(adapter: str, url: str,
                                              options: dict[str, Any]) -> None:
    async def scenario(kit: Kit) -> None:
        async with kit.open(url, **options) as db:
            await seed_b(db)
            for text in HOSTILE_TEXT:
                await db.let("payload", text)
                assert await db.query("RETURN $payload") == [text]
                assert await db.query("RETURN $_x1", {"_x1": text}) == [text]
            with pytest.raises(ServerError):  # SurrealQL text is the caller's, as is
                await db.query("RETURN $payload; DELETE; RETURN")
            await assert_b_intact(db)

    run(adapter, scenario)
