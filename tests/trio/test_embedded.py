"""The in-process engine (``mem://``, ``surrealkv://``) on trio: more calls at once than the
link has threads, an engine that cannot open or is not installed, and ``close()`` closing the
engine and joining its threads (no thread left, the engine's files free to open again)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import trio

from surreal_trio import (
    AsyncSurreal,
    RecordID,
    SurrealConnectionError,
    UnsupportedEngineError,
    _links,
)
from tests.trio.helpers import guard

pytestmark = [pytest.mark.trio]


def engine_threads() -> list[str]:
    """The threads of in-process engines still alive."""
    return [t.name for t in threading.enumerate() if t.name == "surreal-embedded"]


@guard()
async def test_more_calls_than_threads_then_close_frees_the_engine(tmp_path: Path) -> None:
    url = f"surrealkv://{tmp_path}/db"
    count = 4 * _links.EMBEDDED_THREADS  # the calls past the threads wait their turn
    results: dict[int, Any] = {}

    async def create(db: AsyncSurreal, i: int) -> None:
        results[i] = await db.create(RecordID("item", i), {"n": i})

    async with AsyncSurreal(url, namespace="test", database="test") as db:
        await db.query("DEFINE TABLE item SCHEMALESS")  # (concurrent first writes conflict)
        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(create, db, i)
        assert results == {i: {"id": RecordID("item", i), "n": i} for i in range(count)}
        with trio.move_on_after(0.05):  # abandoned: close() waits for the engine to end it
            await db.query("SLEEP 200ms")
        assert await db.query("RETURN 'still usable'") == ["still usable"]
    assert engine_threads() == []
    # surrealkv locks its files while open: they open again only if close() closed it.
    async with AsyncSurreal(url, namespace="test", database="test") as again:
        assert len(await again.select("item")) == count
    assert engine_threads() == []


@guard()
async def test_an_engine_that_cannot_open_is_a_connection_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SurrealConnectionError) as info:
        async with AsyncSurreal(f"surrealkv://{blocker}/db", namespace="test",
                                database="test") as db:
            await db.query("RETURN 1")  # pragma: no cover
    assert info.value.__cause__ is not None  # the engine's own error
    assert engine_threads() == []


@guard()
async def test_without_the_embedded_package_the_error_names_the_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "surrealdb_embedded", None)  # `import` fails
    with pytest.raises(UnsupportedEngineError, match="pip install"):
        async with AsyncSurreal("mem://", namespace="test", database="test") as db:
            await db.query("RETURN 1")  # pragma: no cover
    assert engine_threads() == []
