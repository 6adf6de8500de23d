"""``surreal-py`` against the reference server: credentials from the environment, an
option, a prompt or a token; wrong passwords; import/export round trips."""

from __future__ import annotations

import getpass
import io
import json
import sys
from pathlib import Path

import pytest

from surreal_sync import Surreal
from tests.cli.conftest import Run, assert_one_error_line, run_process
from tests.conftest import DbInfo

pytestmark = pytest.mark.integration


def _target(db: DbInfo, *, http: bool = False) -> list[str]:
    server = db.server
    return ["-e", server.http_url if http else server.ws_url, "--ns", db.namespace,
            "--db", db.database, "-u", server.user]


def test_sql_with_the_password_from_the_environment(
        cli: Run, surreal_db: DbInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURREAL_PASS", surreal_db.server.password)
    result = cli("sql", *_target(surreal_db), "--json",
                 "-c", "CREATE person:1 SET name = 'x'; SELECT VALUE name FROM person;")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[1] == '["x"]'


def test_sql_over_http_with_pass(cli: Run, surreal_db: DbInfo) -> None:
    result = cli("sql", *_target(surreal_db, http=True), "-p", surreal_db.server.password,
                 "--json", "-c", "RETURN $session.ns;")
    assert (result.code, result.out, result.err) == (0, f'"{surreal_db.namespace}"\n', "")


def test_the_password_prompt_in_a_terminal(
        cli: Run, surreal_db: DbInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return surreal_db.server.password

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    result = cli("sql", *_target(surreal_db), "--json", "-c", "RETURN 1;")
    assert (result.code, result.out) == (0, "1\n")
    assert asked == [f"password for {surreal_db.server.user}: "]


def test_a_token(cli: Run, surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with Surreal(server.ws_url) as db:
        token = db.signin({"username": server.user, "password": server.password}).access
    assert token is not None
    result = cli("sql", "-e", server.ws_url, "--ns", surreal_db.namespace, "--db",
                 surreal_db.database, "--token", token, "--json", "-c", "RETURN 5;")
    assert (result.code, result.out, result.err) == (0, "5\n", "")


def test_a_wrong_password_is_one_line_and_never_echoed(surreal_db: DbInfo) -> None:
    secret = "wrong-horse-battery-staple"
    result = run_process("sql", *_target(surreal_db), "-c", "RETURN 1",
                         env={"SURREAL_PASS": secret})
    assert_one_error_line(result, 1, "authentication failed")
    assert secret not in result.out + result.err


def test_export_import_round_trip(cli: Run, surreal_db: DbInfo, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    server = surreal_db.server
    monkeypatch.setenv("SURREAL_PASS", server.password)
    seed = cli("sql", *_target(surreal_db), "-c",
               "CREATE person:ada SET name = 'Ada', born = d'1815-12-10T00:00:00Z';"
               "CREATE person:alan SET name = 'Alan', tags = ['enigma'];"
               "RELATE person:alan->admires->person:ada;")
    assert seed.code == 0, seed.err
    backup = tmp_path / "backup.surql"
    exported = cli("export", *_target(surreal_db, http=True), str(backup))
    assert exported.code == 0, exported.err
    assert exported.out == ""
    assert exported.err.startswith("exported ")
    assert "INSERT" in backup.read_text(encoding="utf-8")

    target = ["-e", server.ws_url, "--ns", surreal_db.namespace, "--db", "restored",
              "-u", server.user]
    imported = cli("import", *target, str(backup))  # a ws URL: /import on the same host
    assert imported.code == 0, imported.err
    assert imported.err.startswith(f"imported {backup.stat().st_size} B from ")

    query = "SELECT * FROM person ORDER BY id; SELECT in, out FROM admires;"
    before = cli("sql", *_target(surreal_db), "--json", "-c", query)
    after = cli("sql", *target, "--json", "-c", query)
    assert before.code == after.code == 0
    assert after.out == before.out
    assert json.loads(after.out.splitlines()[0])[0]["born"] == "1815-12-10T00:00:00.000000000Z"


def test_export_to_stdout(cli: Run, surreal_db: DbInfo, monkeypatch: pytest.MonkeyPatch,
                          ) -> None:
    monkeypatch.setenv("SURREAL_PASS", surreal_db.server.password)
    assert cli("sql", *_target(surreal_db), "-c", "CREATE thing:1;").code == 0
    result = cli("export", *_target(surreal_db, http=True), "-")
    assert result.code == 0, result.err
    assert "thing:1" in result.out


def test_import_errors(cli: Run, surreal_db: DbInfo, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SURREAL_PASS", surreal_db.server.password)
    assert_one_error_line(cli("import", *_target(surreal_db), str(tmp_path / "none.surql")),
                          2, "cannot read", "no such file")
    broken = tmp_path / "broken.surql"
    broken.write_text("CREATE a:1; SELEC x", encoding="utf-8")
    assert_one_error_line(cli("import", *_target(surreal_db, http=True), str(broken)), 1,
                          "Parse error", "line 1, column 19")
