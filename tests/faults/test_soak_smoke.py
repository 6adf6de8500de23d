"""The soak script runs: ``bench/soak.py --duration 3`` exits 0 with nothing lost or
duplicated, for each adapter (the three at once). The real soak runs for minutes (its figures
are in ``bench/RESULTS.md``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_a_short_soak_loses_and_duplicates_nothing() -> None:
    runs = {adapter: subprocess.Popen(
        [sys.executable, str(SOAK), "--adapter", adapter, "--duration", "3", "--cut-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for adapter in ("sync", "asyncio", "trio")}
    try:
        for adapter, run in runs.items():
            stdout, stderr = run.communicate(timeout=90)
            assert run.returncode == 0, (adapter, stdout, stderr)
            assert "lost writes: 0\n" in stdout
            assert "duplicates: 0\n" in stdout
            assert "wrong reads: 0\n" in stdout
            figures = re.search(r"^calls: (\d+) .*\ncuts: \d+, reconnects: (\d+)", stdout,
                                re.MULTILINE)
            assert figures is not None, stdout
            assert int(figures.group(1)) > 0, stdout
            assert int(figures.group(2)) >= 1, stdout
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.communicate()
