"""The interactive shell, driven through prompt_toolkit's pipe input: multi-line statements,
errors that keep the shell running, history that keeps no passwords."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from surreal_sync import Surreal
from surreal_sync._cli_format import Printer
from surreal_sync._cli_repl import is_complete, repl

ENTER = "\r"


@pytest.fixture
def db() -> Iterator[Surreal]:
    with Surreal("mem://", namespace="main", database="main") as client:
        yield client


def _shell(db: Surreal, keys: str, history: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    printer = Printer(Console(file=out, width=100), Console(file=err, width=200))
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        code = repl(db, printer, history=history, input=pipe, output=DummyOutput())
    return code, out.getvalue(), err.getvalue()


def test_a_statement_spans_lines_until_a_semicolon(db: Surreal) -> None:
    keys = ENTER.join(["CREATE person:1", "  SET name = 'x'", "  ;",
                       "SELECT name FROM person;", "exit", ""])
    code, out, err = _shell(db, keys)
    assert (code, err) == (0, "")
    # one CREATE (not three broken statements), then the SELECT
    assert out.count("person:1") == 1
    assert [line for line in out.splitlines() if "│ x" in line] == [
        next(line for line in out.splitlines() if "person:1" in line),
        "│ x    │"]


def test_an_empty_line_ends_a_statement(db: Surreal) -> None:
    code, out, _ = _shell(db, ENTER.join(["RETURN", "  1 + 1", "", "exit", ""]))
    assert code == 0
    assert out.strip() == "2"


def test_errors_keep_the_shell_running_and_ctrl_d_leaves(db: Surreal) -> None:
    keys = ENTER.join(["SELECT * FROM;", "THROW 'boom';", "RETURN 'still here';", ""])
    code, out, err = _shell(db, keys + "\x04")  # Ctrl-D
    assert code == 0
    assert out.strip() == "'still here'"
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error: Parse error")
    assert lines[1] == "error: An error occurred: boom"


def test_history_keeps_statements_but_no_passwords(db: Surreal, tmp_path: Path) -> None:
    history = tmp_path / "sub" / "history"
    keys = ENTER.join(["RETURN 1;", "DEFINE USER bob ON ROOT PASSWORD 'hunter2' ROLES VIEWER;",
                       "exit", ""])
    code, _, err = _shell(db, keys, history)
    assert (code, err) == (0, "")
    text = history.read_text(encoding="utf-8")
    assert "RETURN 1;" in text
    assert "hunter2" not in text
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_history_is_read_back(db: Surreal, tmp_path: Path) -> None:
    history = tmp_path / "history"
    _shell(db, ENTER.join(["RETURN 41 + 1;", "exit", ""]), history)
    up = "\x1b[A" * 2  # past "exit", to the statement
    code, out, _ = _shell(db, up + ENTER + ENTER.join(["exit", ""]), history)
    assert code == 0
    assert out.strip() == "42"


@pytest.mark.parametrize(("text", "complete"), [
    ("", True), ("exit", True), ("SELECT 1;", True), ("SELECT 1;  ", True),
    ("SELECT 1", False), ("SELECT\n1", False), ("SELECT\n1\n", True), ("SELECT\n1\n  ", True),
])
def test_is_complete(text: str, complete: bool) -> None:
    assert is_complete(text) is complete
