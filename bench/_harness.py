"""What every client scenario shares: worker subprocesses, interleaved rounds, statistics, tables.

Each client under test runs in its own subprocess (``bench/_worker.py``), connected once, and
times batches of calls on command; so the CPU time it reports (``time.process_time()``: user +
system time of every thread of that process) is the client's own, never the server's (a separate
``node`` process) nor another client's. The parent sends the same batch to every worker in turn,
in an order that rotates each round (interleaved A/B runs), so a change in the machine's load
touches every client alike.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_worker.py"

#: Client names, as the tables show them.
OURS_SYNC = "ours sync"
OURS_ASYNCIO = "ours asyncio"
OURS_TRIO = "ours trio"
SDK_BLOCKING = "SDK blocking"
SDK_ASYNC = "SDK async"
NULL = "null client"
OURS = (OURS_SYNC, OURS_ASYNCIO, OURS_TRIO)
#: The official client each of ours is held to (same programming model).
COUNTERPART = {OURS_SYNC: SDK_BLOCKING, OURS_ASYNCIO: SDK_ASYNC, OURS_TRIO: SDK_ASYNC}


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Median and spread of one measure over the rounds."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        data = sorted(values)
        if len(data) >= 4:
            q1, _, q3 = statistics.quantiles(data, n=4)
        else:
            q1, q3 = data[0], data[-1]
        return cls(statistics.median(data), data[0], data[-1], q1, q3, len(data))

    def fmt(self, scale: float = 1.0, digits: int = 1) -> str:
        """``median [q1-q3]`` in the given unit (``scale`` multiplies)."""
        return (f"{self.median * scale:.{digits}f} "
                f"[{self.q1 * scale:.{digits}f}-{self.q3 * scale:.{digits}f}]")


def ratio(a: Stats | None, b: Stats | None) -> float | None:
    if a is None or b is None or b.median == 0:
        return None
    return a.median / b.median


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def verdict(value: float | None, limit: float, *, at_most: bool = True) -> str:
    if value is None:
        return "n/a"
    hit = value <= limit if at_most else value >= limit
    return "hit" if hit else "MISSED"


# ---------------------------------------------------------------------------------------------
# Worker subprocesses
# ---------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """A worker subprocess failed (the message holds its stderr)."""


class Worker:
    """One client in its own process: ``run(command)`` sends a JSON command, returns its reply."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
        self._proc = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(spec)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)

    def wait_ready(self) -> None:
        """Wait for the worker's ``ready``: connected, signed in, warm."""
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            assert self._proc.stderr is not None
            raise WorkerError(f"{self.name} worker exited ({self._proc.returncode}):\n"
                              f"{self._proc.stderr.read()[-3000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()


@dataclass
class Measured:
    """Per-call wall time and CPU time of one client, one value per round."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def wall_stats(self) -> Stats:
        return Stats.of(self.wall)

    @property
    def cpu_stats(self) -> Stats:
        return Stats.of(self.cpu)


def interleave(workers: Sequence[Worker], command: dict[str, Any], rounds: int,
               per: int, warmup: int = 1) -> dict[str, Measured]:
    """Send ``command`` to every worker, ``rounds`` times, in an order rotated each round.

    Each reply's ``wall`` and ``cpu`` (seconds for the whole batch) are divided by ``per`` (the
    number of calls, or of batches, the command does). The first ``warmup`` rounds are dropped.
    """
    out = {w.name: Measured() for w in workers}
    for r in range(warmup + rounds):
        order = list(workers[r % len(workers):]) + list(workers[:r % len(workers)])
        if r % 2:
            order.reverse()
        for worker in order:
            reply = worker.run(command)
            if r >= warmup:
                out[worker.name].wall.append(reply["wall"] / per)
                out[worker.name].cpu.append(reply["cpu"] / per)
    return out


def start_workers(specs: Iterable[tuple[str, dict[str, Any]]]) -> list[Worker]:
    """Start the workers together (they import and connect in parallel); return once all are
    ready."""
    workers: list[Worker] = []
    try:
        for name, spec in specs:
            workers.append(Worker(name, spec))
        for worker in workers:
            worker.wait_ready()
    except BaseException:
        for worker in workers:
            worker.close()
        raise
    return workers


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


class Report:
    """Lines for the terminal and markdown for ``--markdown``."""

    def __init__(self) -> None:
        self.markdown: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)

    def heading(self, text: str) -> None:
        print(f"\n== {text}", flush=True)
        self.markdown += ["", f"### {text}", ""]

    def note(self, text: str) -> None:
        print(f"   {text}", flush=True)
        self.markdown += [text, ""]

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
        for row in (header, *rows):
            print("   " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))
        self.markdown.append("| " + " | ".join(header) + " |")
        self.markdown.append("|" + "---|" * len(header))
        self.markdown += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.markdown.append("")
        sys.stdout.flush()


def environment() -> list[str]:
    """Machine and versions, one line each."""
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    packages = ", ".join(f"{p} {_version(p)}" for p in (
        "surreal-py", "surrealdb", "cbor2", "wsproto", "h11", "trio", "httpx",
        "surrealdb-embedded", "websockets", "requests", "aiohttp"))
    return [f"machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
            f"load average at start {load}",
            f"Python {platform.python_version()} ({platform.python_implementation()}), "
            f"node {node.stdout.strip()}",
            f"packages: {packages}"]


def _version(package: str) -> str:
    try:
        return version(package)
    except Exception:  # not installed
        return "-"
