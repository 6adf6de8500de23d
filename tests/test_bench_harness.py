"""The client benchmark harness runs: ``bench/run.py --quick`` exits 0 and reports every scenario.

This keeps the harness working as the clients change; it asserts nothing about speed (the
quick counts are too small to mean anything). The full quick run (~30 s) starts its own
reference server, so it needs Node.js and ``npm ci --prefix tests/server``, like the
integration tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

#: One line per scenario, printed when it has finished.
EXPECTED = [
    "reference server: permessage-deflate refused",
    "seq ws ret1: done", "seq ws select: done", "seq http ret1: done", "seq http select: done",
    "pipeline 64: done", "pipeline 512: done",
    "embedded ret1: done", "embedded select: done",
    "memory startup: done", "memory growth: done", "memory pending: done",
    "bench_codec: done", "bench_core: done",
    "== targets (issue 10)",
]


@pytest.mark.integration
@pytest.mark.slow
def test_quick_run_reports_every_scenario(tmp_path: Path) -> None:
    markdown = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(RUN), "--quick", "--markdown", str(markdown)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    missing = [line for line in EXPECTED if line not in result.stdout]
    assert not missing, f"missing {missing} in:\n{result.stdout}"
    text = markdown.read_text("utf-8")
    for client in ("ours sync", "ours asyncio", "ours trio", "SDK async", "null client"):
        assert f"| {client} |" in text


def test_only_runs_the_selected_scenario() -> None:
    result = subprocess.run([sys.executable, str(RUN), "--quick", "--only", "core"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bench_core: done" in result.stdout
    assert "seq ws ret1: done" not in result.stdout
    assert "reference server" not in result.stdout
