"""``surreal-py sql`` on the in-process engine (``mem://``, the default endpoint): queries
from -c, a file and stdin, pretty and JSON output, and every usage and input error as one
``error:`` line with its exit status."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.cli.conftest import Run, assert_one_error_line, run_process


def test_the_first_query_prints_a_table(cli: Run) -> None:
    result = cli("sql", "-c", "CREATE person SET name = 'x'; SELECT * FROM person;")
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("-- statement 1 (")
    header = next(line for line in lines if "name" in line)
    assert "id" in header
    rows = [line for line in lines if "person:" in line]
    assert len(rows) == 2  # the created record, then the selected one
    assert all("│ x" in row for row in rows)


def test_other_values_print_as_surrealql(cli: Run) -> None:
    result = cli("sql", "-c", "RETURN { a: NONE, b: NULL, d: 1h30m, n: 1.5dec, r: person:1, "
                              's: "it\'s" }')
    assert result.code == 0, result.err
    assert result.out.strip() == "{ a: NONE, b: NULL, d: 1h30m, n: 1.5dec, r: person:1, " \
                                 "s: \"it's\" }"


def test_json_output_mapping(cli: Run) -> None:
    result = cli("sql", "--json", "-c", """
        CREATE person:1 SET name = 'x', t = d'2024-01-02T03:04:05.123456789Z', d = 1h30m,
            dec = 12345678901234567890.123456789dec, b = <bytes>'ab', nul = NULL, gone = NONE,
            g = (1.0, 2.0), u = u'0191b2e0-8c5c-7ab1-8b4e-07b1cb1d7b33', big = 9007199254740993;
        RETURN [NONE, NULL, 1..5];""")
    assert result.code == 0, result.err
    first, second = result.out.splitlines()
    [record] = json.loads(first)
    assert record == {
        "id": "person:1", "name": "x", "t": "2024-01-02T03:04:05.123456789Z", "d": "1h30m",
        "dec": 12345678901234567890.123456789, "b": "YWI=", "nul": None,
        "g": {"type": "Point", "coordinates": [1.0, 2.0]},
        "u": "0191b2e0-8c5c-7ab1-8b4e-07b1cb1d7b33", "big": 9007199254740993,
    }
    assert "gone" not in first  # a NONE field does not exist
    assert "12345678901234567890.123456789" in first  # every digit of the decimal
    assert json.loads(second) == [None, None, "1..5"]


def test_a_file_runs(cli: Run, tmp_path: Path) -> None:
    script = tmp_path / "setup.surql"
    script.write_text("CREATE person:ada SET name = 'Ada';\n"
                      "SELECT VALUE name FROM person;\n", encoding="utf-8")
    result = cli("sql", "--json", str(script))
    assert result.code == 0, result.err
    assert [json.loads(line) for line in result.out.splitlines()] == [
        [{"id": "person:ada", "name": "Ada"}], ["Ada"]]


def test_stdin_runs_when_it_is_not_a_terminal(cli: Run) -> None:
    result = cli("sql", "--json", stdin="RETURN 1 + 1;\nRETURN 'two';\n")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["2", '"two"']


def test_dash_reads_stdin(cli: Run) -> None:
    result = cli("sql", "--json", "-", stdin="RETURN 3;")
    assert (result.code, result.out) == (0, "3\n")


def test_an_empty_script_does_nothing(cli: Run) -> None:
    result = cli("sql", stdin="  \n")
    assert (result.code, result.out, result.err) == (0, "", "")


def test_a_failed_statement_exits_1_after_printing_the_others(cli: Run) -> None:
    result = cli("sql", "--json", "-c", "RETURN 1; THROW 'boom'; RETURN 3;")
    assert_one_error_line(result, 1, "statement 2:", "boom")
    assert result.out.splitlines() == ["1", "3"]


def test_a_syntax_error_is_one_line_with_its_position(cli: Run) -> None:
    result = cli("sql", "-c", "SELECT * FROM")
    assert_one_error_line(result, 1, "Parse error", "line 1, column 13")
    assert result.out == ""


def test_a_missing_file_is_a_usage_error(cli: Run, tmp_path: Path) -> None:
    missing = tmp_path / "nope.surql"
    assert_one_error_line(cli("sql", str(missing)), 2, "cannot read", "nope.surql",
                          "No such file")


def test_an_unknown_endpoint_is_a_usage_error(cli: Run) -> None:
    assert_one_error_line(cli("sql", "-e", "foo://x", "-c", "RETURN 1"), 2,
                          "unsupported URL scheme 'foo'")


def test_a_refused_connection_exits_1(cli: Run) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the port is closed again: nothing listens there
    result = cli("sql", "-e", f"ws://127.0.0.1:{port}", "-c", "RETURN 1")
    assert_one_error_line(result, 1, "refused")


def test_import_needs_a_server(cli: Run, tmp_path: Path) -> None:
    script = tmp_path / "x.surql"
    script.write_text("RETURN 1;", encoding="utf-8")
    assert_one_error_line(cli("import", "-e", "mem://", str(script)), 2, "need a SurrealDB server")


def test_usage_errors_exit_2(cli: Run, tmp_path: Path) -> None:
    script = tmp_path / "x.surql"
    script.write_text("RETURN 1;", encoding="utf-8")
    assert_one_error_line(cli(), 2, "required: COMMAND")
    assert_one_error_line(cli("sql", "--bogus"), 2, "unrecognized arguments: --bogus")
    assert_one_error_line(cli("sql", "-c", "RETURN 1", str(script)), 2, "not both")
    assert_one_error_line(cli("sql", "-p", "pw", "-c", "RETURN 1"), 2, "--pass needs --user")
    assert_one_error_line(cli("sql", "-u", "root", "--token", "t", "-c", "RETURN 1"), 2,
                          "--user or --token")
    assert_one_error_line(cli("sql", "--timeout", "soon"), 2, "invalid float value")


def test_a_user_without_a_password_outside_a_terminal_is_refused(cli: Run) -> None:
    result = cli("sql", "-u", "root", stdin="RETURN 1;")
    assert_one_error_line(result, 2, "no password for root", "SURREAL_PASS")


def test_help_reads_well(cli: Run) -> None:
    top = cli("--help")
    assert top.code == 0
    assert "examples:" in top.out
    assert "exit status:" in top.out
    sql = cli("sql", "--help")
    assert sql.code == 0
    for fragment in ("--endpoint", "--json", "-c QUERY", "the shell:", "SURREAL_PASS"):
        assert fragment in sql.out + top.out, fragment


def test_version(cli: Run) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith("surreal-py ")


def test_module_and_script_entry_points() -> None:
    as_module = run_process("sql", "-c", "CREATE person SET name = 'x'; SELECT * FROM person;",
                            module=True)
    assert as_module.code == 0, as_module.err
    assert "│ x" in as_module.out
    script = run_process("sql", "--json", stdin="RETURN 40 + 2;")
    assert (script.code, script.out, script.err) == (0, "42\n", "")


def test_errors_in_a_subprocess_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    assert_one_error_line(run_process("sql", "-c", "SELECT * FROM"), 1, "Parse error")
    assert_one_error_line(run_process("sql", str(tmp_path / "missing.surql")), 2,
                          "cannot read")
