"""Run every client benchmark in one go: ``python bench/run.py [--quick] [--only NAME ...]``.

Starts its own reference server (``tests/server/server.mjs``: the real SurrealDB engine; Node.js
and ``npm ci --prefix tests/server`` needed), fills a table with 1,000 mixed-type records, and
runs the scenarios (issue 10), each client in its own process, in interleaved rounds:

* ``seq``: sequential ``query("RETURN 1")`` and ``select`` of 1,000 records over ws and http,
  our three clients vs the official SDK's blocking and async clients (and the null client);
* ``pipeline``: 64 and 512 calls in flight on one connection vs the official async client and
  the null client;
* ``embedded``: ``mem://`` vs the embedded engine's ``execute()`` called directly;
* ``memory``: import time and RSS added by importing and opening one connection, RSS over
  100,000 calls, memory per pending request;
* ``codec``, ``core``: ``bench/bench_codec.py`` and ``bench/bench_core.py``.

Prints medians with their spread and the ratios against the targets of the issue;
``--markdown FILE`` also writes the tables. ``--quick`` runs tiny counts (a smoke run, about
half a minute; its figures mean nothing). Timings are CPU time of each client's own process
where the machine may be shared; wall-clock latencies move with the load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import memory, scenarios_embedded, scenarios_pipeline, scenarios_seq  # noqa: E402
from bench._harness import Report, environment  # noqa: E402
from bench._summary import summarize  # noqa: E402
from bench.nullclient import offers_deflate_refused  # noqa: E402
from tests._server import ReferenceServer  # noqa: E402

SCENARIOS = ("seq", "pipeline", "embedded", "memory", "codec", "core")


def _script(report: Report, name: str, args: list[str]) -> None:
    """Run one of the existing benchmark scripts and pass its output on."""
    command = [sys.executable, str(ROOT / "bench" / name), *args]
    report.heading(f"{name} {' '.join(args)}")
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    for text in result.stdout.splitlines():
        report.line("   " + text)
    report.markdown += ["```", result.stdout.rstrip(), "```", ""]
    if result.returncode != 0:
        raise SystemExit(f"{name} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report.line(f"{name.removesuffix('.py')}: done")


def populate(server: ReferenceServer, ns: str, db: str) -> None:
    from bench._clients import POPULATE
    from surreal_sync import Surreal

    auth = {"username": server.user, "password": server.password}
    with Surreal(server.ws_url, namespace=ns, database=db, auth=auth) as client:
        client.query(POPULATE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny iteration counts: checks that everything runs")
    parser.add_argument("--only", action="append", choices=SCENARIOS, metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="also write the tables to this file")
    args = parser.parse_args(argv)
    selected = args.only or list(SCENARIOS)
    report = Report()
    started = time.monotonic()
    for text in environment():
        report.line(text)
    report.markdown += [f"* {text}" for text in environment()]
    results: dict[str, Any] = {}
    needs_server = {"seq", "pipeline", "memory"} & set(selected)
    server = ReferenceServer(ping_interval=0)
    if needs_server:
        server.start()
    try:
        info: dict[str, Any] = {}
        if needs_server:
            if not offers_deflate_refused(server.host, server.port):
                raise SystemExit("the reference server accepted permessage-deflate: the "
                                 "official client would compress and the comparison is unfair")
            report.line("reference server: permessage-deflate refused (as the real server)")
            info = {"ws_url": server.ws_url, "http_url": server.http_url, "user": server.user,
                    "pass": server.password, "ns": "bench", "db": "bench"}
            populate(server, "bench", "bench")
        runners: dict[str, Callable[[], Any]] = {
            "seq": lambda: scenarios_seq.run(report, info, args.quick),
            "pipeline": lambda: scenarios_pipeline.run(report, info, args.quick),
            "embedded": lambda: scenarios_embedded.run(
                report, {"ns": "bench", "db": "bench", "pass": None}, args.quick),
            "memory": lambda: memory.run(report, info, args.quick),
            "codec": lambda: _script(report, "bench_codec.py", (
                ["--records", "200", "--repeat", "2", "--sdk-repeat", "1", "--mix", "typical"]
                if args.quick else ["--repeat", "11", "--sdk-repeat", "5"])),
            "core": lambda: _script(report, "bench_core.py", ["--quick"] if args.quick else []),
        }
        for name in SCENARIOS:
            if name in selected:
                results[name] = runners[name]()
    finally:
        server.stop()
    summarize(report, results)
    report.line(f"\nall done in {time.monotonic() - started:.0f} s")
    if args.markdown is not None:
        args.markdown.write_text("\n".join(report.markdown).strip() + "\n", encoding="utf-8")
        report.line(f"markdown written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
