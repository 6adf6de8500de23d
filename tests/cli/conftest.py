"""Helpers for the ``surreal-py`` command-line tests: an environment without ``SURREAL_*``
variables, in-process and subprocess runners."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from surreal_sync.__main__ import main

SURREAL_PY = Path(sys.executable).parent / "surreal-py"


@dataclass
class Result:
    """What a run of the command line produced."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SURREAL_* variable leaks in from the caller; history goes to a temporary file."""
    for name in list(os.environ):
        if name.startswith("SURREAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SURREAL_PY_HISTORY", str(tmp_path / "history"))
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``main(argv)`` in process; ``stdin`` text replaces standard input."""

    def run(*argv: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_process(*argv: str, stdin: str = "", env: dict[str, str] | None = None,
                module: bool = False) -> Result:
    """Run the installed ``surreal-py`` script (or ``python -m surreal_sync``)."""
    command = [sys.executable, "-m", "surreal_sync"] if module else [str(SURREAL_PY)]
    done = subprocess.run([*command, *argv], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, **(env or {})})
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_error_line(result: Result, code: int, *fragments: str) -> None:
    """The run failed with ``code`` and exactly one ``error:`` line holding ``fragments``."""
    assert result.code == code, result
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in line, line
