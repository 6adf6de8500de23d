"""In-process: our ``mem://`` transport vs the embedded engine's ``execute()`` called directly.

The floor is ``SyncEmbeddedDB.execute(request)`` with the request encoded once, before timing,
and the reply bytes not decoded: what the engine itself costs. Our clients build the envelope,
run it through the core, call the engine (the blocking client ``SyncEmbeddedDB.execute()``
itself; the asyncio adapter ``AsyncEmbeddedDB.execute()``, which runs on the engine's own
threads; the trio adapter ``SyncEmbeddedDB.execute()`` on the link's worker threads) and
decode the reply. The official SDK's embedded
client (its own bundled engine) is shown for context, and so is a second floor for the
event-loop clients: ``AsyncEmbeddedDB.execute(request)`` awaited directly on an asyncio loop,
which hands each call to the engine's threads and the reply back to the loop (the cost of
not blocking the loop, which any asyncio or trio client pays). Each client has its own
engine, in its own process, holding the same 1,000 records. In process, a call's cost is CPU
time, so the target is checked on CPU per call (wall time on a busy machine adds the waits for
a CPU).
"""

from __future__ import annotations

from typing import Any

from bench._harness import (
    OURS,
    OURS_ASYNCIO,
    OURS_SYNC,
    OURS_TRIO,
    SDK_BLOCKING,
    Report,
    fmt_ratio,
    interleave,
    ratio,
    start_workers,
    verdict,
)

ENGINE = "engine execute()"
ASYNC_ENGINE = "engine execute(), awaited"
TARGET = 1.3  # mem:// at most 1.3x the direct execute() cost


def run(report: Report, server: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rounds = 2 if quick else 9
    spec = dict(server, url="mem://", user=None, populate=True)
    clients = [OURS_SYNC, OURS_ASYNCIO, OURS_TRIO, SDK_BLOCKING, ENGINE, ASYNC_ENGINE]
    workers = start_workers((name, dict(spec, client=name)) for name in clients)
    try:
        for kind, n in {"ret1": 5 if quick else 500, "select": 1 if quick else 6}.items():
            results = interleave(workers, {"op": "seq", "kind": kind, "n": n}, rounds, n)
            title = "query(\"RETURN 1\")" if kind == "ret1" else "select of 1,000 records"
            report.heading(f"in-process (mem://) {title}")
            report.note(f"{rounds} interleaved rounds of {n} calls; median [interquartile "
                        "range] per call; each client in its own process with its own engine.")
            scale, unit = (1e6, "µs") if kind == "ret1" else (1e3, "ms")
            base = results[ENGINE]
            awaited = results[ASYNC_ENGINE]
            table = []
            for name, measured in results.items():
                lat = ratio(measured.wall_stats, base.wall_stats)
                cpu = ratio(measured.cpu_stats, base.cpu_stats)
                on_loop = (fmt_ratio(ratio(measured.cpu_stats, awaited.cpu_stats))
                           if name in (OURS_ASYNCIO, OURS_TRIO, ASYNC_ENGINE) else "")
                table.append([name, measured.wall_stats.fmt(scale),
                              measured.cpu_stats.fmt(scale), fmt_ratio(lat), fmt_ratio(cpu),
                              on_loop])
                if name in OURS:
                    rows.append({"kind": kind, "client": name, "ratio": cpu,
                                 "latency_ratio": lat, "verdict": verdict(cpu, TARGET)})
            report.table(["client", f"latency ({unit})", f"CPU/call ({unit})",
                          "latency vs execute()", "CPU vs execute()",
                          "CPU vs awaited execute()"], table)
            report.line(f"embedded {kind}: done")
    finally:
        for worker in workers:
            worker.close()
    return rows
