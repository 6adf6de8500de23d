"""Memory and start-up: what importing and connecting cost, growth over many calls, pending calls.

* **Start-up**: a fresh interpreter per run imports one package (ours: each adapter; the
  official ``surrealdb``), then opens one ws connection (signed in, namespace selected) and
  makes one call; it reports the import's wall time and the RSS added by the import and by the
  import plus the connection (RSS of the process, from ``/proc/self/statm``, before the import
  and after each step). Runs are interleaved over the variants; medians reported. Every
  module (ours, the SDK's, the standard library's) is read from bytecode, as from an
  installation: a warm-up run per variant compiles them into a private ``PYTHONPYCACHEPREFIX``
  (the development checkout is otherwise compiled from source when
  ``PYTHONDONTWRITEBYTECODE`` is set, which would count compiling as importing).
* **Growth**: one connection per adapter makes 100,000 sequential ``query("RETURN 1")`` calls;
  RSS is sampled every 10,000 calls. Flat means the last sample is within noise of the first.
* **Pending**: 10,000 ``query("RETURN 1")`` calls left pending against :class:`StallServer`
  (a WebSocket server that never answers), measured with ``tracemalloc`` (Python allocations
  traced from before the calls start until they have all been sent) and RSS, divided by
  10,000. The async clients hold one task per call (counted: it is what a caller pays); the
  core alone (``WebSocketConnection.query`` with the frames drained) shows the client's own
  bookkeeping.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._harness import (
    OURS_ASYNCIO,
    OURS_SYNC,
    OURS_TRIO,
    SDK_ASYNC,
    SDK_BLOCKING,
    Report,
    fmt_ratio,
    start_workers,
    verdict,
)
from bench.nullclient import StallServer

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.25  # import + one connection: at most 0.25x the official SDK's RSS and import time
CORE = "core alone"

_RSS = """
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
"""

_CONNECT = {
    OURS_SYNC: ("import surreal_sync",
                "db = surreal_sync.Surreal(URL, namespace=NS, database=DB, auth=AUTH)\n"
                "db.query('RETURN 1')\n"),
    OURS_ASYNCIO: ("import surreal_asyncio",
                   "import asyncio\n"
                   "async def go():\n"
                   "    async with surreal_asyncio.AsyncSurreal(URL, namespace=NS, database=DB,"
                   " auth=AUTH) as db:\n"
                   "        await db.query('RETURN 1')\n"
                   "        r.append(rss())\n"
                   "asyncio.run(go())\n"),
    OURS_TRIO: ("import surreal_trio",
                "import trio\n"
                "async def go():\n"
                "    async with surreal_trio.AsyncSurreal(URL, namespace=NS, database=DB,"
                " auth=AUTH) as db:\n"
                "        await db.query('RETURN 1')\n"
                "        r.append(rss())\n"
                "trio.run(go)\n"),
    SDK_BLOCKING: ("import surrealdb",
                   "db = surrealdb.Surreal(URL)\n"
                   "db.signin(AUTH)\n"
                   "db.use(NS, DB)\n"
                   "db.query('RETURN 1')\n"),
    SDK_ASYNC: ("import surrealdb",
                "import asyncio\n"
                "async def go():\n"
                "    async with surrealdb.AsyncSurreal(URL) as db:\n"
                "        await db.signin(AUTH)\n"
                "        await db.use(NS, DB)\n"
                "        await db.query('RETURN 1')\n"
                "        r.append(rss())\n"
                "asyncio.run(go())\n"),
}


def _startup_script(name: str, info: dict[str, Any]) -> str:
    imp, connect = _CONNECT[name]
    return (
        "import os, sys, time, json\n" + _RSS +
        f"URL = {info['ws_url']!r}; NS = {info['ns']!r}; DB = {info['db']!r}\n"
        f"AUTH = {{'username': {info['user']!r}, 'password': {info['pass']!r}}}\n"
        "r = [rss()]\n"
        "t0 = time.perf_counter()\n"
        f"{imp}\n"
        "t1 = time.perf_counter()\n"
        "r.append(rss())\n"
        f"{connect}"
        "if len(r) == 2:\n    r.append(rss())\n"
        "print(json.dumps({'import_s': t1 - t0, 'rss': r}))\n"
        "sys.stdout.flush(); os._exit(0)\n"
    )


def _python(code: str, cache: str | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; with ``cache``, one that reads and writes
    bytecode under that directory."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if cache is not None:
        env["PYTHONPYCACHEPREFIX"] = cache
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=ROOT, check=False, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"measurement failed:\n{result.stderr[-3000:]}")
    reply: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return reply


def startup(report: Report, info: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    runs = 1 if quick else 7
    names = list(_CONNECT)
    samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        for name in names:  # warm-up: compile every module once, as an installation does
            _python(_startup_script(name, info), cache)
        for i in range(runs):
            for name in names[i % len(names):] + names[:i % len(names)]:
                samples[name].append(_python(_startup_script(name, info), cache))
    med: dict[str, dict[str, float]] = {}
    for name, runs_of in samples.items():
        med[name] = {
            "import_ms": statistics.median(s["import_s"] for s in runs_of) * 1e3,
            "import_spread": max(s["import_s"] for s in runs_of) * 1e3
            - min(s["import_s"] for s in runs_of) * 1e3,
            "rss_import": statistics.median(s["rss"][1] - s["rss"][0] for s in runs_of) / 2**20,
            "rss_total": statistics.median(s["rss"][2] - s["rss"][0] for s in runs_of) / 2**20,
        }
    report.heading("start-up: import, then one ws connection and one call (fresh processes)")
    report.note(f"{runs} runs per variant, interleaved, after one warm-up run each that "
                "compiles the modules (all read from bytecode, as installed); medians. RSS "
                "added = resident set size after minus before the import (MiB).")
    rows: list[dict[str, Any]] = []
    table = []
    counterpart = {OURS_SYNC: SDK_BLOCKING, OURS_ASYNCIO: SDK_ASYNC, OURS_TRIO: SDK_ASYNC}
    for name, m in med.items():
        other = counterpart.get(name)
        time_r = m["import_ms"] / med[other]["import_ms"] if other else None
        rss_r = m["rss_total"] / med[other]["rss_total"] if other else None
        table.append([name, f"{m['import_ms']:.0f} (spread {m['import_spread']:.0f})",
                      f"{m['rss_import']:.1f}", f"{m['rss_total']:.1f}",
                      fmt_ratio(time_r) if other else "", fmt_ratio(rss_r) if other else ""])
        if other:
            rows.append({"client": name, "time_ratio": time_r, "rss_ratio": rss_r,
                         "time": verdict(time_r, TARGET), "rss": verdict(rss_r, TARGET)})
    report.table(["client", "import (ms)", "RSS added by import (MiB)",
                  "RSS added by import + connection (MiB)", "import time vs SDK",
                  "RSS vs SDK"], table)
    report.line("memory startup: done")
    return rows


def growth(report: Report, info: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    batch, batches = (200, 2) if quick else (10_000, 10)
    clients = [OURS_SYNC, OURS_ASYNCIO, OURS_TRIO]
    workers = start_workers((n, dict(info, client=n, url=info["ws_url"])) for n in clients)
    rows = []
    table = []
    try:
        for worker in workers:
            samples = [worker.run({"op": "seq", "kind": "ret1", "n": batch})["rss"]
                       for _ in range(batches)]
            first, last = samples[0] / 2**20, samples[-1] / 2**20
            table.append([worker.name, f"{first:.1f}", f"{last:.1f}",
                          f"{last - first:+.2f}",
                          " ".join(f"{s / 2**20:.1f}" for s in samples)])
            rows.append({"client": worker.name, "growth_mib": last - first})
    finally:
        for worker in workers:
            worker.close()
    report.heading(f"RSS over {batch * batches:,} sequential calls on one ws connection")
    report.note(f"RSS sampled after each {batch:,} calls (MiB); growth = last - first sample.")
    report.table(["client", "after first batch", "at the end", "growth", "samples"], table)
    report.line("memory growth: done")
    return rows


# ---------------------------------------------------------------------------------------------
# Memory per pending request
# ---------------------------------------------------------------------------------------------


def pending_main(name: str, url: str, count: int, settle: int = 50) -> None:
    """In a fresh process: leave ``count`` calls pending; print bytes per call (JSON)."""
    import tracemalloc

    from bench._worker import rss_bytes

    if name == CORE:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request

        from surreal_proto import WebSocketConnection

        conn = WebSocketConnection("localhost", keepalive_interval=None)
        conn.connect(0.0)
        server = WSConnection(ConnectionType.SERVER)
        server.receive_data(conn.data_to_send())
        request = next(e for e in server.events() if isinstance(e, Request))
        conn.receive_data(server.send(AcceptConnection(subprotocol=request.subprotocols[0])), 0)
        conn.events()
        r0 = rss_bytes()
        tracemalloc.start()
        t0 = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            conn.query("RETURN 1", now=0.0)
            conn.data_to_send()
        traced = tracemalloc.get_traced_memory()[0] - t0
        _emit_pending(traced, rss_bytes() - r0, count)
    elif name in (OURS_ASYNCIO, SDK_ASYNC):
        import asyncio

        async def go() -> None:
            if name == OURS_ASYNCIO:
                from surreal_asyncio import AsyncSurreal

                db: Any = AsyncSurreal(url, timeout=None)
                await db.connect()
            else:
                import surrealdb

                db = surrealdb.AsyncSurreal(url)
                await db.connect()
            r0 = rss_bytes()
            tracemalloc.start()
            t0 = tracemalloc.get_traced_memory()[0]
            tasks = [asyncio.ensure_future(db.query("RETURN 1")) for _ in range(count)]
            for _ in range(settle):
                await asyncio.sleep(0.02)
            traced = tracemalloc.get_traced_memory()[0] - t0
            _emit_pending(traced, rss_bytes() - r0, count)
            del tasks

        asyncio.run(go())
    else:
        import trio

        from surreal_trio import AsyncSurreal as TrioSurreal

        async def go_trio() -> None:
            async with TrioSurreal(url, timeout=None) as db, trio.open_nursery() as nursery:
                r0 = rss_bytes()
                tracemalloc.start()
                t0 = tracemalloc.get_traced_memory()[0]
                for _ in range(count):
                    nursery.start_soon(db.query, "RETURN 1")
                for _ in range(settle):
                    await trio.sleep(0.02)
                traced = tracemalloc.get_traced_memory()[0] - t0
                _emit_pending(traced, rss_bytes() - r0, count)

        trio.run(go_trio)


def _emit_pending(traced: int, rss: int, count: int) -> None:
    sys.stdout.write(json.dumps({"traced": traced / count, "rss": rss / count}) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the stalled calls would only wait for their server


def pending(report: Report, quick: bool) -> list[dict[str, Any]]:
    count = 200 if quick else 10_000
    stall = StallServer()
    table = []
    rows = []
    try:
        for name in (CORE, OURS_ASYNCIO, OURS_TRIO, SDK_ASYNC):
            reply = _python(f"from bench.memory import pending_main\n"
                            f"pending_main({name!r}, {stall.url!r}, {count}, {5 if quick else 50})")
            table.append([name, f"{reply['traced'] / 1024:.2f}", f"{reply['rss'] / 1024:.2f}"])
            rows.append({"client": name, **reply})
    finally:
        stall.close()
    report.heading(f"memory per pending request ({count:,} calls pending, server never answers)")
    report.note("KiB per pending call: tracemalloc (Python allocations) and RSS growth. The "
                "async clients' figures include the task and coroutine of each waiting call.")
    report.table(["client", "traced KiB/call", "RSS KiB/call"], table)
    report.line("memory pending: done")
    return rows


def run(report: Report, info: dict[str, Any], quick: bool) -> dict[str, Any]:
    return {"startup": startup(report, info, quick), "growth": growth(report, info, quick),
            "pending": pending(report, quick)}
