"""Pipelined throughput on one WebSocket connection: 64 and 512 calls in flight.

Each batch starts ``c`` ``query("RETURN 1")`` calls at once on one connection and waits for all
of them: asyncio ``gather`` (ours and the official async client), a trio nursery, 16 threads
sharing the calls for our blocking client (so at most 16 in flight), and for the null client
``c`` pre-built frames written at once with the replies counted. Throughput = calls per second
of wall time; CPU per call = the client process's CPU time over the batch divided by ``c``.
"""

from __future__ import annotations

from typing import Any

from bench._harness import (
    NULL,
    OURS,
    OURS_ASYNCIO,
    OURS_SYNC,
    OURS_TRIO,
    SDK_ASYNC,
    Report,
    Stats,
    fmt_ratio,
    interleave,
    ratio,
    start_workers,
    verdict,
)

SDK_TARGET = 2.0  # at least 2x the official async client's throughput
NULL_TARGET = 0.8  # at least 0.8x the null client's at 512 in flight


def run(report: Report, server: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rounds = 2 if quick else 9
    clients = [OURS_SYNC, OURS_ASYNCIO, OURS_TRIO, SDK_ASYNC, NULL]
    workers = start_workers((name, dict(server, client=name, url=server["ws_url"]))
                            for name in clients)
    try:
        for c in (64, 512):
            batches = 1 if quick else max(1, 2048 // c)
            results = interleave(workers, {"op": "pipe", "c": c, "n": batches}, rounds,
                                 batches * c)
            report.heading(f"pipelined query(\"RETURN 1\"), {c} in flight, one ws connection")
            report.note(f"{rounds} interleaved rounds of {batches} batches of {c} calls per "
                        "client; median [interquartile range]. Our blocking client runs the "
                        "calls on 16 threads (16 in flight).")
            throughput = {name: Stats.of([1 / x for x in m.wall]) for name, m in results.items()}
            header = ["client", "calls/s", "CPU/call (µs)", "vs SDK async", "vs null client"]
            table = []
            for name, measured in results.items():
                tp = throughput[name]
                vs_sdk = ratio(tp, throughput[SDK_ASYNC])
                vs_null = ratio(tp, throughput[NULL])
                table.append([name, tp.fmt(1, 0), measured.cpu_stats.fmt(1e6),
                              fmt_ratio(vs_sdk), fmt_ratio(vs_null)])
                if name in OURS:
                    rows.append({"c": c, "client": name, "vs_sdk": vs_sdk, "vs_null": vs_null,
                                 "sdk": verdict(vs_sdk, SDK_TARGET, at_most=False),
                                 "null": verdict(vs_null, NULL_TARGET, at_most=False)
                                 if c == 512 else "n/a"})
            report.table(header, table)
            report.line(f"pipeline {c}: done")
    finally:
        for worker in workers:
            worker.close()
    return rows

