"""The three adapters expose one public surface (API.md §1, anchors-style.md §10 lesson 9):
the same classes, methods, parameters and properties; blocking in surreal_sync, awaitable in
surreal_asyncio and surreal_trio."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import pytest

import surreal_asyncio
import surreal_proto
import surreal_sync
import surreal_trio

ADAPTERS = {"sync": surreal_sync, "asyncio": surreal_asyncio, "trio": surreal_trio}
CLIENT = {"sync": "Surreal", "asyncio": "AsyncSurreal", "trio": "AsyncSurreal"}
SHARED_CLASSES = ("Session", "Transaction", "LiveSubscription")
SYNC_ONLY = {"__enter__", "__exit__", "__iter__", "__next__"}
ASYNC_ONLY = {"__aenter__", "__aexit__", "__aiter__", "__anext__"}


def _public(cls: type) -> dict[str, Any]:
    names = {}
    for name, value in inspect.getmembers(cls):
        if name.startswith("_") and name not in SYNC_ONLY | ASYNC_ONLY:
            continue
        names[name] = value
    return names


def _classes(kind: str) -> dict[str, type]:
    module: ModuleType = ADAPTERS[kind]
    found = {"client": getattr(module, CLIENT[kind])}
    found.update({name: getattr(module, name) for name in SHARED_CLASSES})
    return found


def _normalised(names: set[str]) -> set[str]:
    return {n for n in names if n not in SYNC_ONLY | ASYNC_ONLY}


@pytest.mark.parametrize("role", ["client", *SHARED_CLASSES])
def test_same_public_names(role: str) -> None:
    surfaces = {kind: _normalised(set(_public(_classes(kind)[role]))) for kind in ADAPTERS}
    reference = surfaces["sync"]
    for kind, names in surfaces.items():
        assert names == reference, (
            f"{role} differs between sync and {kind}: "
            f"only in sync {sorted(reference - names)}, only in {kind} {sorted(names - reference)}")


@pytest.mark.parametrize("role", ["client", *SHARED_CLASSES])
def test_same_signatures_and_async_ness(role: str) -> None:
    sync_members = _public(_classes("sync")[role])
    for kind in ("asyncio", "trio"):
        members = _public(_classes(kind)[role])
        for name, sync_value in sync_members.items():
            if name in SYNC_ONLY or not callable(sync_value) or isinstance(sync_value, type):
                continue
            other = members[name]
            sync_sig = inspect.signature(sync_value)
            other_sig = inspect.signature(other)
            assert [(p.name, p.kind, p.default) for p in sync_sig.parameters.values()] == [
                (p.name, p.kind, p.default) for p in other_sig.parameters.values()], (
                f"{role}.{name}: sync{sync_sig} vs {kind}{other_sig}")
            if inspect.iscoroutinefunction(sync_value):
                pytest.fail(f"surreal_sync {role}.{name} must not be a coroutine function")
            if name.startswith("subscribe_live") or name in {"begin_transaction", "new_session"}:
                continue
            if not inspect.iscoroutinefunction(other) and not inspect.isasyncgenfunction(other):
                pytest.fail(f"{kind} {role}.{name} must be awaitable")


def test_context_managers() -> None:
    for role, cls in _classes("sync").items():
        if role in ("client", "Transaction"):
            assert hasattr(cls, "__enter__"), role
            assert hasattr(cls, "__exit__"), role
    for kind in ("asyncio", "trio"):
        for role, cls in _classes(kind).items():
            if role in ("client", "Transaction"):
                assert hasattr(cls, "__aenter__"), (kind, role)
                assert hasattr(cls, "__aexit__"), (kind, role)


def test_api_md_methods_present() -> None:
    required = {
        "connect", "close", "use", "signin", "signup", "authenticate", "invalidate", "refresh",
        "revoke", "info", "version", "ping", "health", "let", "unset", "query", "query_raw",
        "run", "select", "create", "insert", "insert_relation", "update", "upsert", "merge",
        "patch", "delete", "relate", "live", "subscribe_live", "kill", "new_session",
        "begin_transaction", "import_", "export", "url", "namespace", "database", "state",
        "server_version",
    }
    for kind in ADAPTERS:
        missing = required - set(_public(_classes(kind)["client"]))
        assert not missing, f"{kind} client lacks {sorted(missing)}"


@pytest.mark.parametrize("kind", list(ADAPTERS))
def test_reexports_user_names(kind: str) -> None:
    module = ADAPTERS[kind]
    for name in surreal_proto.USER_NAMES:
        assert getattr(module, name) is getattr(surreal_proto, name), (kind, name)
        assert name in module.__all__, (kind, name)


def test_trio_spelling() -> None:
    assert callable(surreal_trio.open_surreal)
