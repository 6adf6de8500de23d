"""The core stays Sans-IO: no I/O, clock or randomness module is imported by surreal_proto."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = frozenset(
    {"asyncio", "trio", "anyio", "socket", "ssl", "selectors", "threading", "httpx", "time",
     "random", "_thread", "select", "subprocess", "multiprocessing", "urllib.request",
     "http.client"}
)
CORE = Path(__file__).resolve().parent.parent / "surreal_proto"


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _is_forbidden(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[: i + 1]) in FORBIDDEN for i in range(len(parts)))


def test_core_sources_exist() -> None:
    assert sorted(p.name for p in CORE.glob("*.py")), "surreal_proto has no modules"


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_no_forbidden_import(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.name}:{line}: {name}" for line, name in _imports(tree) if _is_forbidden(name)]
    assert not bad, "surreal_proto must stay Sans-IO:\n" + "\n".join(bad)


def test_importing_core_loads_no_io_module() -> None:
    code = (
        "import sys; import surreal_proto; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'asyncio','trio','anyio','httpx','socket','ssl','selectors','threading'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "", f"importing surreal_proto loaded: {out.stdout.strip()}"


def test_detector_flags_forbidden_names() -> None:
    tree = ast.parse("import os\nfrom time import monotonic\nimport asyncio.tasks\n")
    names = [name for _, name in _imports(tree) if _is_forbidden(name)]
    assert names == ["time", "time.monotonic", "asyncio.tasks"]
