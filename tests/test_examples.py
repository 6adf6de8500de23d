"""The README's quickstart runs as written: in process (mem://) and against a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerInfo

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"
EXPECTED = ["Ada Lovelace (born 1815)", "Alan Turing (born 1912)", "Alan admires: Ada Lovelace"]


def _run(env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, str(QUICKSTART)], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout.splitlines()


def test_quickstart_in_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURREAL_")}
    lines = _run(env)
    assert lines[:3] == EXPECTED
    assert lines[3].startswith("server: surrealdb-")


@pytest.mark.integration
def test_quickstart_against_a_server(surreal_server: ServerInfo) -> None:
    env = {**os.environ, "SURREAL_URL": surreal_server.ws_url,
           "SURREAL_USER": surreal_server.user, "SURREAL_PASS": surreal_server.password}
    lines = _run(env)
    assert lines[:3] == EXPECTED
