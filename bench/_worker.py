"""One client in its own process, timing batches on command (started by ``bench/_harness.py``).

Usage: ``python bench/_worker.py '<json spec>'``; the spec names the client (``"ours sync"``,
``"ours asyncio"``, ``"ours trio"``, ``"SDK blocking"``, ``"SDK async"``, ``"null client"``,
``"engine execute()"``, ``"engine execute(), awaited"``)
and the server (``url``, ``user``, ``pass``, ``ns``, ``db``). Once connected and warm it prints
``{"ready": true}``; then for each JSON command on stdin (``{"op": "seq", "kind": "ret1",
"n": 100}``, ``{"op": "pipe", "c": 64, "n": 10}``, ``{"op": "rss"}``) it runs the batch and
prints ``{"wall": seconds, "cpu": seconds, "rss": bytes}``: ``time.perf_counter()`` and
``time.process_time()`` (user + system CPU of every thread of this process) around the batch,
with the garbage collector left on, as an application runs. End of stdin ends the worker.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._clients import (
    AsyncEngineRunner,
    AsyncioRunner,
    EngineRunner,
    NullHttpRunner,
    NullRunner,
    SyncRunner,
    TrioRunner,
)

ASYNC_ENGINE = "engine execute(), awaited"


def rss_bytes() -> int:
    """The resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            import os

            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def emit(reply: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def check(rows: Any, spec: dict[str, Any]) -> None:
    """The clients that decode must see the 1,000 records (the others return ``None``)."""
    if rows is not None and len(rows) != 1000:
        raise SystemExit(f"{spec['client']}: select returned {len(rows)} records, not 1000")


def sync_main(spec: dict[str, Any]) -> None:
    runner: SyncRunner | NullRunner | NullHttpRunner | EngineRunner
    if spec["client"] == "null client":
        runner = NullRunner(spec) if spec["url"].startswith("ws") else NullHttpRunner(spec)
    elif spec["client"] == "engine execute()":
        runner = EngineRunner(spec)
    else:
        runner = SyncRunner(spec)
    try:
        runner.seq("ret1", 20)
        check(runner.seq("select", 1), spec)
        emit({"ready": True})
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            wall, cpu = time.perf_counter(), time.process_time()
            if op == "seq":
                runner.seq(command["kind"], command["n"])
            elif op == "pipe":
                runner.pipe(command["c"], command["n"])
            emit({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "rss": rss_bytes()})
    finally:
        runner.close()


async def async_loop(runner: AsyncioRunner | TrioRunner | AsyncEngineRunner, spec: dict[str, Any],
                     readline: Callable[[], Awaitable[str]]) -> None:
    await runner.seq("ret1", 20)
    check(await runner.seq("select", 1), spec)
    emit({"ready": True})
    while line := await readline():
        command = json.loads(line)
        op = command["op"]
        wall, cpu = time.perf_counter(), time.process_time()
        if op == "seq":
            await runner.seq(command["kind"], command["n"])
        elif op == "pipe":
            await runner.pipe(command["c"], command["n"])
        emit({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              "rss": rss_bytes()})


async def asyncio_main(spec: dict[str, Any]) -> None:
    import asyncio

    loop = asyncio.get_running_loop()

    async def readline() -> str:
        return await loop.run_in_executor(None, sys.stdin.readline)

    if spec["client"] == ASYNC_ENGINE:
        async with AsyncEngineRunner.open(spec) as engine:
            await async_loop(engine, spec, readline)
    else:
        async with AsyncioRunner.open(spec) as runner:
            await async_loop(runner, spec, readline)


async def trio_main(spec: dict[str, Any]) -> None:
    import trio

    async def readline() -> str:
        return await trio.to_thread.run_sync(sys.stdin.readline)

    async with TrioRunner.open(spec) as runner:
        await async_loop(runner, spec, readline)


def main() -> None:
    spec = json.loads(sys.argv[1])
    client = spec["client"]
    if client in ("ours asyncio", "SDK async", ASYNC_ENGINE):
        import asyncio

        asyncio.run(asyncio_main(spec))
    elif client == "ours trio":
        import trio

        trio.run(trio_main, spec)
    else:
        sync_main(spec)


if __name__ == "__main__":
    main()
