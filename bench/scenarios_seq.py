"""Sequential calls over ws and http: latency and client CPU per call, ours vs the official SDK.

Two calls: ``query("RETURN 1")`` (the per-call overhead) and ``select("bench")`` (1,000 records
of mixed types: record ids, a datetime, a decimal, a UUID, a duration, a NULL, nested objects and
arrays: decoding cost). Every client runs in its own process; the null client (pre-built
frames over ws, pre-built requests over HTTP keep-alive) shows what the server and the loopback
take on their own.
"""

from __future__ import annotations

from typing import Any

from bench._harness import (
    COUNTERPART,
    NULL,
    OURS,
    OURS_ASYNCIO,
    OURS_SYNC,
    OURS_TRIO,
    SDK_ASYNC,
    SDK_BLOCKING,
    Measured,
    Report,
    fmt_ratio,
    interleave,
    ratio,
    start_workers,
    verdict,
)

#: The targets of issue 10: latency vs the official client (ws, http), CPU per call.
LATENCY_TARGET = {"ws": 0.75, "http": 0.5}
CPU_TARGET = 0.4


def run(report: Report, server: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    """Both transports, both calls; return one summary row per (transport, call, client)."""
    rows: list[dict[str, Any]] = []
    rounds = 2 if quick else 9
    plan = {"ret1": 5 if quick else 300, "select": 1 if quick else 6}
    for transport in ("ws", "http"):
        clients = [OURS_SYNC, OURS_ASYNCIO, OURS_TRIO, SDK_BLOCKING, SDK_ASYNC, NULL]
        url = server["ws_url"] if transport == "ws" else server["http_url"]
        workers = start_workers((name, dict(server, client=name, url=url)) for name in clients)
        try:
            for kind, n in plan.items():
                results = interleave(workers, {"op": "seq", "kind": kind, "n": n}, rounds, n)
                title = ("query(\"RETURN 1\")" if kind == "ret1"
                         else "select of 1,000 mixed-type records")
                report.heading(f"sequential {title} over {transport}")
                report.note(f"{rounds} interleaved rounds of {n} calls per client; median "
                            "[interquartile range] per call; CPU = the client process's "
                            "user+system time.")
                rows += _table(report, transport, kind, results)
                report.line(f"seq {transport} {kind}: done")
        finally:
            for worker in workers:
                worker.close()
    return rows


def _table(report: Report, transport: str, kind: str,
           results: dict[str, Measured]) -> list[dict[str, Any]]:
    scale = 1e6 if kind == "ret1" else 1e3
    unit = "µs" if kind == "ret1" else "ms"
    header = [
        "client", f"latency ({unit})", f"CPU/call ({unit})", "latency vs counterpart",
        "CPU vs counterpart", "latency vs SDK blocking", "latency vs SDK async",
    ]
    table: list[list[str]] = []
    summary: list[dict[str, Any]] = []
    for name, measured in results.items():
        wall, cpu = measured.wall_stats, measured.cpu_stats
        other = COUNTERPART.get(name)
        lat_r = ratio(wall, results[other].wall_stats) if other else None
        cpu_r = ratio(cpu, results[other].cpu_stats) if other else None
        table.append([
            name, wall.fmt(scale), cpu.fmt(scale),
            f"{fmt_ratio(lat_r)} of {other}" if other else "",
            fmt_ratio(cpu_r) if other else "",
            fmt_ratio(ratio(wall, results[SDK_BLOCKING].wall_stats)),
            fmt_ratio(ratio(wall, results[SDK_ASYNC].wall_stats)),
        ])
        if name in OURS:
            summary.append({"transport": transport, "kind": kind, "client": name,
                            "latency_ratio": lat_r, "cpu_ratio": cpu_r,
                            "latency": verdict(lat_r, LATENCY_TARGET[transport]),
                            "cpu": verdict(cpu_r, CPU_TARGET)})
    report.table(header, table)
    return summary
