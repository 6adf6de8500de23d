"""What importing the packages loads, and what waits until a connection needs it.

* ``import surreal_proto`` loads the value types, the errors and the events; each name of the
  connection layer and the client engine is imported from its module on first access
  (``tests/proto/test_package.py`` checks every name).
* ``import surreal_sync`` loads neither :mod:`ssl` (imported by the first ``wss``/``https``
  link), nor :mod:`logging` (imported by the first record that could be seen: a warning), nor
  the embedded engine (imported by the first ``mem://`` link).

Each check runs in a fresh interpreter, where nothing else has imported these modules yet.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from surreal_sync._log import ClientLogger
from tests.conftest import ServerInfo

ROOT = Path(__file__).resolve().parent.parent

#: Modules a plain ``ws://`` client of surreal_sync never needs.
NOT_FOR_WS = ("ssl", "_ssl", "logging", "surrealdb_embedded")
#: Modules ``import surreal_proto`` leaves for later.
NOT_AT_CORE_IMPORT = ("surreal_proto._client", "surreal_proto._ws", "surreal_proto._rpc",
                      "surreal_proto._codec", "surreal_proto._http",
                      "surreal_proto._http_connection", "surreal_proto._embedded", "wsproto",
                      "h11", "cbor2", "dataclasses")


def _run(code: str) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter; it sets ``watch`` (module names) and may print
    lines first; return, for each watched module, whether it was loaded at the end."""
    script = code + "\nimport json, sys\nprint(json.dumps({m: m in sys.modules for m in watch}))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, check=False, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_core_loads_only_values_errors_and_events() -> None:
    loaded = _run(f"import surreal_proto\nwatch = {NOT_AT_CORE_IMPORT!r}")
    assert not any(loaded.values()), [m for m, seen in loaded.items() if seen]


def test_a_core_name_loads_its_own_modules_only() -> None:
    loaded = _run("from surreal_proto import WebSocketConnection\n"
                  "conn = WebSocketConnection('localhost:8000')\n"
                  "watch = ('surreal_proto._ws', 'wsproto', 'surreal_proto._client', "
                  "'surreal_proto._http_connection', 'surreal_proto._embedded')")
    assert loaded == {"surreal_proto._ws": True, "wsproto": True, "surreal_proto._client": False,
                      "surreal_proto._http_connection": False, "surreal_proto._embedded": False}


def test_importing_surreal_sync_loads_no_tls_no_logging_no_engine() -> None:
    loaded = _run(f"import surreal_sync\nwatch = {NOT_FOR_WS!r}")
    assert not any(loaded.values()), [m for m, seen in loaded.items() if seen]


@pytest.mark.integration
def test_a_ws_connection_loads_no_tls_no_logging_no_engine(surreal_server: ServerInfo) -> None:
    server = surreal_server
    if server.tls:
        pytest.skip("the server under test speaks TLS")
    loaded = _run(
        "import surreal_sync\n"
        f"with surreal_sync.Surreal({server.ws_url!r}, auth={{'username': {server.user!r}, "
        f"'password': {server.password!r}}}) as db:\n"
        "    assert db.query('RETURN 1') == [1]\n"
        f"watch = {NOT_FOR_WS!r}")
    assert not any(loaded.values()), [m for m, seen in loaded.items() if seen]


@pytest.mark.integration
def test_a_wss_url_loads_tls(surreal_tls_server: ServerInfo) -> None:
    # No ssl context given: surreal_sync imports ssl itself and verifies with the default
    # context, which does not know the test CA, so the handshake is refused (a TLSError).
    loaded = _run(
        "import sys, surreal_sync\n"
        "assert 'ssl' not in sys.modules\n"
        f"db = surreal_sync.Surreal({surreal_tls_server.ws_url!r}, reconnect=False)\n"
        "try:\n"
        "    db.query('RETURN 1')\n"
        "except surreal_sync.TLSError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('an unknown CA was accepted')\n"
        "db.close()\n"
        "watch = ('ssl',)")
    assert loaded == {"ssl": True}


def test_a_mem_url_loads_the_embedded_engine_only() -> None:
    loaded = _run("import surreal_sync\n"
                  "with surreal_sync.Surreal('mem://') as db:\n"
                  "    assert db.query('RETURN 1') == [1]\n"
                  "watch = ('surrealdb_embedded', 'ssl')")
    assert loaded == {"surrealdb_embedded": True, "ssl": False}


def test_warnings_reach_stderr_without_logging_configured() -> None:
    # No handler configured: logging's last-resort handler prints WARNING and above, as with
    # logging.getLogger; DEBUG and INFO were dropped anyway, and do not import logging.
    code = ("import sys\n"
            "from surreal_sync._log import ClientLogger\n"
            "log = ClientLogger('surreal_sync')\n"
            "log.debug('debug %s', 1)\n"
            "log.info('info %s', 2)\n"
            "assert 'logging' not in sys.modules\n"
            "log.warning('warning %s', 3)\n"
            "try:\n"
            "    1 / 0\n"
            "except ZeroDivisionError:\n"
            "    log.exception('failed %s', 4)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True, timeout=60)
    assert "warning 3" in out.stderr
    assert "failed 4" in out.stderr
    assert "ZeroDivisionError" in out.stderr
    assert "debug" not in out.stderr
    assert "info" not in out.stderr


def test_records_go_to_the_named_logger_with_the_callers_location(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="surreal_sync")
    log = ClientLogger("surreal_sync")

    def caller() -> None:
        log.debug("d %s", 1)
        log.info("i %s", 2)
        log.warning("w %s", 3)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("e %s", 4)

    caller()
    records = [r for r in caplog.records if r.name == "surreal_sync"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.DEBUG, "d 1"), (logging.INFO, "i 2"), (logging.WARNING, "w 3"),
        (logging.ERROR, "e 4")]
    assert {r.funcName for r in records} == {"caller"}
    assert records[-1].exc_info is not None
