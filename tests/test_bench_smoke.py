"""The core benchmark script runs: ``bench/bench_core.py --quick`` exits 0 and prints a ratio.

This checks that the benchmark still works with the current core; it asserts nothing about
speed (``--quick`` takes about a second).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_core.py"


def test_bench_core_quick_prints_a_ratio() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^ratio core/floor: \d+\.\d+ ", result.stdout, re.MULTILINE), result.stdout
