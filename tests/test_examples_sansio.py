"""``docs/sansio.md`` and its example adapter, ``examples/selectors_adapter.py``.

* The example fits in 80 lines, and the guide shows it verbatim with its true line count.
* Every core name the guide mentions exists (its import table resolves; every other
  identifier in backticks is a name, attribute or parameter of the core, or a known outside
  name).
* Against the reference server (integration): the example runs as a script and prints the
  query result, its request deadlines fire, and the guide's ``httpx`` snippet works.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import surreal_proto
from surreal_proto import SurrealTimeoutError
from tests.conftest import DbInfo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "selectors_adapter.py"
GUIDE = ROOT / "docs" / "sansio.md"
MAX_LINES = 80

# Names in the guide that are not the core's: the standard library, other libraries, the
# adapters' own variables and the example's.
OUTSIDE = frozenset({
    "CancelledError", "ConnectionResetError", "Host", "MockClock", "None", "SelectorsAdapter",
    "Surreal", "TIMEOUT", "ValueError", "_", "assert_never", "autojump_clock", "await",
    "finally", "httpx", "match", "prepare", "query_raw", "retry", "selectors", "send_all",
    "socket", "ssl", "str", "surreal_asyncio", "surreal_sync", "surreal_trio", "trio",
    "unknown",
})
# Prefixes of outside or local objects in dotted names (``sock.pending()``, ``event.method``):
# for those only the last part is checked, and only if the prefix is a local name.
LOCAL_PREFIXES = frozenset({"call", "conn", "decision", "endpoint", "event", "plan", "request",
                            "tracker"})
OUTSIDE_PREFIXES = frozenset({"asyncio", "db", "httpx", "loop", "sock", "ssl", "time", "trio",
                              "typing"})


def example_lines() -> int:
    return len(EXAMPLE.read_text(encoding="utf-8").splitlines())


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("selectors_adapter", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- offline


def test_example_fits_in_80_lines() -> None:
    assert example_lines() <= MAX_LINES


def test_guide_shows_the_example_verbatim() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert "```python\n" + EXAMPLE.read_text(encoding="utf-8") + "```" in guide
    assert f"in {example_lines()} lines" in guide
    assert f"It is {example_lines()} lines, the module docstring included" in guide


def _core_modules() -> list[ModuleType]:
    modules = [surreal_proto]
    for info in pkgutil.iter_modules(surreal_proto.__path__):
        modules.append(importlib.import_module(f"surreal_proto.{info.name}"))
    return modules


def _params(obj: Any) -> set[str]:
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()


def _known_names() -> set[str]:
    """Every name the core defines: module globals, class attributes and fields, and the
    parameters of its functions and methods."""
    names: set[str] = set()
    for module in _core_modules():
        for name, value in vars(module).items():
            names.add(name)
            if callable(value):
                names |= _params(value)
            if isinstance(value, type) and value.__module__.startswith("surreal_proto"):
                names.update(dir(value))
                names.update(getattr(value, "__annotations__", {}))
                for attr in vars(value).values():
                    target = attr.fget if isinstance(attr, property) else attr
                    if callable(target):
                        names |= _params(target)
    return names


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def test_guide_import_table_resolves() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (.+?) \| `(surreal_proto[\w.]*)` \|$", guide, re.MULTILINE)
    assert len(rows) >= 10
    for names, module_name in rows:
        module = importlib.import_module(module_name)
        for name in re.findall(r"`(\w+)`", names):
            assert hasattr(module, name), f"{module_name}.{name} does not exist"


def test_every_core_name_in_the_guide_exists() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", guide, flags=re.DOTALL)  # the code blocks run elsewhere
    known = _known_names()
    missing = []
    for token in sorted(set(re.findall(r"`([^`]+)`", prose))):
        match = re.fullmatch(r"([A-Za-z_][\w.]*)(\(.*\))?", token)
        if match is None or token.startswith(("http", "ws")):
            continue  # a value, a URL scheme, a header...
        name = match[1]
        if name in OUTSIDE:
            continue
        if name.startswith("surreal_proto"):
            try:
                _resolve(name)
            except (ImportError, AttributeError):
                missing.append(token)
            continue
        head, _, rest = name.partition(".")
        if head in OUTSIDE_PREFIXES:
            continue
        if rest and head not in LOCAL_PREFIXES:
            # Class.ATTR: resolve it through the module that defines the class.
            owners = [vars(m)[head] for m in _core_modules() if head in vars(m)]
            if not any(hasattr(owner, rest) for owner in owners):
                missing.append(token)
            continue
        last = name.rpartition(".")[2]
        if last not in known:
            missing.append(token)
    assert not missing, f"names in docs/sansio.md that the core does not have: {missing}"


# ---------------------------------------------------------------------------- integration


@pytest.mark.integration
def test_example_runs_against_the_server(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    if server.tls:
        pytest.skip("the example speaks ws:// only")
    env = {**os.environ, "SURREAL_USER": server.user, "SURREAL_PASS": server.password,
           "SURREAL_NS": surreal_db.namespace, "SURREAL_DB": surreal_db.database}
    result = subprocess.run([sys.executable, str(EXAMPLE), server.ws_url], capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["result: [['Ada'], 42]", "closed: cleanly"]


@pytest.mark.integration
def test_example_request_deadline(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    if server.tls:
        pytest.skip("the example speaks ws:// only")
    example = load_example()
    db = example.SelectorsAdapter(server.ws_url, timeout=1.0)
    try:
        db.call(db.core.signin, {"username": server.user, "password": server.password})
        db.call(db.core.use, surreal_db.namespace, surreal_db.database)
        start = time.monotonic()
        with pytest.raises(SurrealTimeoutError):
            db.call(db.core.query, "SLEEP 5s")
        assert time.monotonic() - start < 4  # the deadline fired; the reply did not come
        # the late reply will be dropped; the connection goes on
        statements = db.call(db.core.query, "RETURN 1")
        assert [s["result"] for s in statements] == [1]
    finally:
        db.close()
    assert db.closed is not None
    assert db.closed.error is None


@pytest.mark.integration
def test_guide_httpx_snippet(surreal_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("httpx")
    guide = GUIDE.read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(import httpx\n.*?)```", guide, re.DOTALL)
    assert snippet is not None
    context = surreal_server.ssl_context()
    code = snippet[1]
    if context is not None:
        code = code.replace("httpx.Client(base_url=base_url)",
                            "httpx.Client(base_url=base_url, verify=context)")
    exec(code, {"base_url": surreal_server.http_url, "user": surreal_server.user,
                "password": surreal_server.password, "context": context})
    assert "'result': 42" in capsys.readouterr().out
