"""``fuzz/fuzz_core.py`` runs, tries inputs on every target and finds no crash (a smoke run of
two seconds; the long run's figures are in ``bench/RESULTS.md``, "Fuzz")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_fuzz_run_finds_no_crash() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fuzz.fuzz_core", "--seconds", "2", "--seed", "7"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed 7" in done.stdout
    tried = re.search(r"inputs tried: ([\d,]+) .*: ws ([\d,]+), http ([\d,]+), "
                      r"httpx ([\d,]+), cbor ([\d,]+)", done.stdout)
    assert tried is not None, done.stdout
    assert all(int(n.replace(",", "")) > 0 for n in tried.groups())
    assert done.stdout.rstrip().endswith("crashes: 0")
