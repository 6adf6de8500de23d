"""The examples run as written and print what they promise: in process (``mem://``) and
against the reference server. (``selectors_adapter.py`` is covered by
``test_examples_sansio.py``.)"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ServerInfo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
QUICKSTART = EXAMPLES / "quickstart.py"
EXPECTED = ["Ada Lovelace (born 1815)", "Alan Turing (born 1912)", "Alan admires: Ada Lovelace"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURREAL_")}
    return {**env, **extra}


def _server_env(server: ServerInfo) -> dict[str, str]:
    return _env(SURREAL_USER=server.user, SURREAL_PASS=server.password)


def _run(script: str | Path, *args: str, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                         text=True, timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout.splitlines()


# --------------------------------------------------------------------------- quickstart


def test_quickstart_in_process() -> None:
    lines = _run(QUICKSTART, env=_env())
    assert lines[:3] == EXPECTED
    assert lines[3].startswith("server: surrealdb-")


@pytest.mark.integration
def test_quickstart_against_a_server(surreal_server: ServerInfo) -> None:
    env = {**_server_env(surreal_server), "SURREAL_URL": surreal_server.ws_url}
    lines = _run(QUICKSTART, env=env)
    assert lines[:3] == EXPECTED


# --------------------------------------------------------------------------- sync_basics

SYNC_COMMON = [
    "created: Dune rated 5",
    "before 1950: Emma, The Hobbit",
    "books: 3",
    "duplicate: AlreadyExistsError",
    "query error: An error occurred: no such shelf",
    "threads wrote: 20 records",
]


def test_sync_basics_in_process() -> None:
    assert _run("sync_basics.py", env=_env()) == [*SYNC_COMMON, "deleted; left: []"]


@pytest.mark.integration
def test_sync_basics_against_a_server(surreal_server: ServerInfo) -> None:
    lines = _run("sync_basics.py", surreal_server.ws_url, env=_server_env(surreal_server))
    assert lines == [*SYNC_COMMON, "after the transaction: 2 books", "deleted; left: []"]


# --------------------------------------------------------------------------- asyncio_basics

ASYNC_COMMON = [
    "created: 100 sensors, total 7425.0",
    "slow query: cancelled after 50 ms",
    "wait_for: cancelled too",
    "still usable: {'id': RecordID('sensor', 3), 'value': 4.5}",
]


def test_asyncio_basics_in_process() -> None:
    assert _run("asyncio_basics.py", env=_env()) == ASYNC_COMMON


@pytest.mark.integration
def test_asyncio_basics_against_a_server(surreal_server: ServerInfo) -> None:
    lines = _run("asyncio_basics.py", surreal_server.ws_url, env=_server_env(surreal_server))
    assert lines == [*ASYNC_COMMON, "live: DELETE sensor:2, UPDATE sensor:1",
                     "session sees: session", "client sees: None"]


# --------------------------------------------------------------------------- trio_dashboard


@pytest.mark.integration
def test_trio_dashboard(surreal_server: ServerInfo) -> None:
    lines = _run("trio_dashboard.py", surreal_server.ws_url, env=_server_env(surreal_server))
    changes, done = lines[:-1], lines[-1]
    assert done == "done: 13 changes seen"
    assert [line.split()[0] for line in changes] == ["CREATE"] * 3 + ["UPDATE"] * 9 + ["DELETE"]
    assert changes[2].endswith("| cpu=0.00  disk=0.00  mem=0.00")
    # every update is seen; the last one of each sensor leaves its final reading
    assert changes[-2].split("|")[1].split() == ["cpu=0.30", "disk=0.31", "mem=0.32"]
    assert changes[-1] == "DELETE reading:mem  | cpu=0.30  disk=0.31"


# --------------------------------------------------------------------------- fastapi_app


def _load_fastapi_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLES / "fastapi_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fastapi_app_demo_in_process() -> None:
    lines = _run("fastapi_app.py", env=_env())
    assert lines[0] == 'POST /people/ada 201 {"email":"ada@example.com","id":"ada","name":"Ada"}'
    assert lines[2] == 'POST /people/ada 409 {"detail":"a person with that key exists"}'
    assert lines[4] == 'GET /people/x; DELETE person 404 {"detail":"no such person"}'
    assert lines[6] == 'GET /people 200 [{"email":"ada@example.com","id":"ada","name":"Ada"}]'


@pytest.mark.integration
def test_fastapi_app_serves_concurrent_requests_from_a_server(
        surreal_server: ServerInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    monkeypatch.setenv("SURREAL_URL", surreal_server.ws_url)
    monkeypatch.setenv("SURREAL_USER", surreal_server.user)
    monkeypatch.setenv("SURREAL_PASS", surreal_server.password)
    app = _load_fastapi_app().app

    async def scenario() -> None:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://app") as http:
            created = await asyncio.gather(*(
                http.post(f"/people/p{i}", json={"name": f"n{i:02}", "email": f"{i}@x"})
                for i in range(30)))
            assert [r.status_code for r in created] == [201] * 30
            listed = (await http.get("/people")).json()
            assert [p["name"] for p in listed] == [f"n{i:02}" for i in range(30)]
            assert (await http.get("/people/p7")).json() == {
                "id": "p7", "name": "n07", "email": "7@x"}
            assert (await http.delete("/people/p7")).status_code == 204
            assert (await http.get("/people/p7")).status_code == 404
            assert (await http.post("/people/p1", json={"name": "x"})).status_code == 422

    asyncio.run(scenario())


# --------------------------------------------------------------------------- README


def _readme_blocks() -> list[str]:
    text = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_readme_python_blocks_compile() -> None:
    blocks = _readme_blocks()
    assert len(blocks) == 3
    for block in blocks:
        compile(block, "README.md", "exec")


@pytest.mark.integration
@pytest.mark.parametrize("index", [0, 1], ids=["sync", "asyncio"])
def test_readme_examples_run_against_a_server(surreal_server: ServerInfo, index: int) -> None:
    code = (_readme_blocks()[index]
            .replace("ws://localhost:8000", surreal_server.ws_url)
            .replace('"password": "root"', f'"password": "{surreal_server.password}"')
            .replace('database="main"', f'database="readme_{uuid.uuid4().hex}"'))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=_env(), check=False)
    assert out.returncode == 0, out.stderr
