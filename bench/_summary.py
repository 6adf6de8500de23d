"""The targets of issue 10, each with the measured ratio and hit or missed."""

from __future__ import annotations

from typing import Any

from bench._harness import Report, fmt_ratio


def summarize(report: Report, results: dict[str, Any]) -> None:
    rows: list[list[str]] = []
    for r in results.get("seq") or []:
        where = f"{r['client']}, {r['transport']}, {r['kind']}"
        rows.append(["CPU per call <= 0.4x SDK", where, fmt_ratio(r["cpu_ratio"]), r["cpu"]])
        limit = "0.75x" if r["transport"] == "ws" else "0.5x"
        rows.append([f"latency <= {limit} SDK", where, fmt_ratio(r["latency_ratio"]),
                     r["latency"]])
    for r in results.get("pipeline") or []:
        where = f"{r['client']}, {r['c']} in flight"
        rows.append(["throughput >= 2x SDK async", where, fmt_ratio(r["vs_sdk"]), r["sdk"]])
        if r["c"] == 512:
            rows.append(["throughput >= 0.8x null client", where, fmt_ratio(r["vs_null"]),
                         r["null"]])
    for r in results.get("embedded") or []:
        rows.append(["mem:// CPU <= 1.3x execute()", f"{r['client']}, {r['kind']}",
                     fmt_ratio(r["ratio"]), r["verdict"]])
    memory = results.get("memory") or {}
    for r in memory.get("startup", []):
        rows.append(["import + connection RSS <= 0.25x SDK", r["client"],
                     fmt_ratio(r["rss_ratio"]), r["rss"]])
        rows.append(["import time <= 0.25x SDK", r["client"], fmt_ratio(r["time_ratio"]),
                     r["time"]])
    for r in memory.get("growth", []):
        rows.append(["RSS flat over the calls", r["client"], f"{r['growth_mib']:+.2f} MiB",
                     "see samples"])
    if rows:
        report.heading("targets (issue 10)")
        report.table(["target", "where", "measured", "verdict"], rows)
