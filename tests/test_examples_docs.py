"""The guides' code is real: every Python block in README.md and docs/{sync,asyncio,trio,
migration}.md parses, and every method it calls on a client, session or transaction exists on
that adapter's class (with the same awaitability the guide shows)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import surreal_asyncio
import surreal_sync
import surreal_trio

ROOT = Path(__file__).resolve().parent.parent
GUIDES: dict[str, ModuleType] = {
    "docs/sync.md": surreal_sync,
    "docs/asyncio.md": surreal_asyncio,
    "docs/trio.md": surreal_trio,
}
CLIENT = {surreal_sync: "Surreal", surreal_asyncio: "AsyncSurreal", surreal_trio: "AsyncSurreal"}
CALL = re.compile(r"(?<![\w./])(db|session|txn)\.([a-z_]+)\b")  # not in db.example.com


def _blocks(path: str) -> list[str]:
    text = (ROOT / path).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


@pytest.mark.parametrize("path", ["README.md", *GUIDES, "docs/migration.md"])
def test_python_blocks_parse(path: str) -> None:
    blocks = _blocks(path)
    assert blocks or path == "docs/migration.md"
    for block in blocks:
        compile(block, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize("path", list(GUIDES))
def test_guide_methods_exist(path: str) -> None:
    module = GUIDES[path]
    owners = {"db": getattr(module, CLIENT[module]), "session": module.Session,
              "txn": module.Transaction}
    seen = set()
    for block in _blocks(path):
        for owner, name in CALL.findall(block):
            cls = owners[owner]
            assert hasattr(cls, name), f"{path}: {owner}.{name} is not a method of {cls}"
            seen.add((owner, name))
    assert len(seen) > 20


@pytest.mark.parametrize("path", ["docs/asyncio.md", "docs/trio.md"])
def test_async_guides_await_what_is_a_coroutine(path: str) -> None:
    module = GUIDES[path]
    client = getattr(module, CLIENT[module])
    text = "\n".join(_blocks(path))
    for name in ("query", "select", "create", "signin", "live", "kill"):
        assert inspect.iscoroutinefunction(getattr(client, name))
        assert f"await db.{name}(" in text or f"db.{name}," in text, name
    # the awaitability of the three methods that differ between asyncio and trio
    for name in ("subscribe_live", "new_session", "begin_transaction"):
        coroutine = inspect.iscoroutinefunction(getattr(client, name))
        awaited = f"await db.{name}(" in text
        assert coroutine == (module is surreal_trio), name
        if coroutine:
            assert awaited, f"{path} should await db.{name}()"
