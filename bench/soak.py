"""Soak test: mixed calls and live notifications through a proxy that cuts the connection
every few seconds, then a count of what the database holds.

Run: ``python bench/soak.py [--adapter sync|asyncio|trio] [--duration SECONDS] [--cut-every S]
[--workers N] [--trace]`` (default: sync, 600 s, a cut every 3 s, 8 workers; ``--duration 20``
for a quick run; ``--trace`` also prints where Python memory grew, by tracemalloc).

It starts the reference server (``tests/server``, ``npm ci --prefix tests/server`` first) and
the fault proxy of ``tests/faults/proxy.py`` in front of it, in a child process (so the RSS
figures are this process's: the client and the script's own tally). One client (WebSocket
through the proxy, default reconnect policy) is shared by ``--workers`` threads (sync) or
tasks (asyncio, trio), each looping over: ``select`` of a known record (checked),
``create`` of a row with a tag no other call uses, ``ping``, and a ``query`` counting rows;
a live query on the written table is consumed all along. Every ``--cut-every`` seconds the
proxy resets the connection, at once or after a random number of bytes either way
(mid-frame). At the end the rows are counted directly on the server:

* **lost writes**: a ``create`` that returned, but whose row is missing (must be 0);
* **duplicates**: a tag stored more than once (must be 0: nothing is re-sent silently);
* **outcome unknown**: calls that failed with ``OutcomeUnknownError`` (in flight at a cut;
  their rows may or may not exist, but never twice);

plus the calls made, reconnects, notifications and gap markers, other errors by type, and the
process's resident memory at the start (after a warm-up), at the end, and its growth. The exit
status is 1 if a write was lost or duplicated or a read returned a wrong value. This is a
benchmark, not a test; the figures go in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import random
import sys
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from surreal_proto import ClientState, OutcomeUnknownError, RecordID, SurrealError
from tests._server import ReferenceServer
from tests.faults.proxy import Proxy

#: Records ``r:0`` .. ``r:READS-1`` that reads select.
READS = 100
#: Seconds of calls before the starting RSS is taken.
WARM_UP = 2.0
#: Write outcomes in the tally.
CONFIRMED, UNKNOWN = 1, 2


@dataclass
class Tally:
    """What the workers saw (counters shared by threads are updated under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    #: Per worker, the outcome of each of its writes (tag ``worker-index``): CONFIRMED or
    #: UNKNOWN (a byte each, so that the tally itself hardly grows the RSS).
    writes: dict[int, bytearray] = field(default_factory=dict)
    outcome_unknown: int = 0
    wrong_reads: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    notifications: int = 0
    markers: int = 0
    reconnects: int = 0
    cuts: int = 0

    def wrote(self, worker: int, outcome: int) -> None:
        self.writes.setdefault(worker, bytearray()).append(outcome)

    def tags(self, outcome: int) -> set[str]:
        """The tags of the writes that ended with ``outcome``."""
        return {f"{worker}-{index}" for worker, outcomes in self.writes.items()
                for index, got in enumerate(outcomes) if got == outcome}

    def call_ended(self, error: BaseException | None = None) -> None:
        with self.lock:
            self.calls += 1
            if isinstance(error, OutcomeUnknownError):
                self.outcome_unknown += 1
            elif error is not None:
                self.errors[type(error).__name__] += 1


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def baseline() -> int:
    """At the end of the warm-up: collect garbage, take a tracemalloc snapshot if tracing
    (``--trace``), and return the RSS in KiB."""
    gc.collect()
    if tracemalloc.is_tracing():
        SNAPSHOTS.append(tracemalloc.take_snapshot())
    return rss_kib()


#: The tracemalloc snapshot taken at the end of the warm-up (``--trace``).
SNAPSHOTS: list[tracemalloc.Snapshot] = []


def on_state(tally: Tally) -> Any:
    def callback(old: ClientState, new: ClientState) -> None:
        if old is ClientState.RECONNECTING and new is ClientState.OPEN:
            with tally.lock:
                tally.reconnects += 1
    return callback


class ProxyProcess:
    """The fault proxy in a child process, so that the RSS figures are the client's (and
    this script's) alone; :meth:`cut` and :meth:`cut_after` are sent to it over a pipe."""

    def __init__(self, host: str, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_proxy_main, args=(host, port, child),
                                        daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()
        self.accepted = 0

    def cut(self) -> None:
        self._conn.send(("cut",))

    def cut_after(self, nbytes: int, direction: str) -> None:
        self._conn.send(("cut_after", nbytes, direction))

    def close(self) -> None:
        self._conn.send(("close",))
        self.accepted = self._conn.recv()
        self._process.join(10)


def _proxy_main(host: str, port: int, conn: Any) -> None:
    with Proxy(host, port) as proxy:
        conn.send(proxy.port)
        while (command := conn.recv())[0] != "close":
            getattr(proxy, command[0])(*command[1:])
        conn.send(proxy.accepted)


def cut_loop(proxy: ProxyProcess, tally: Tally, every: float, stop: threading.Event,
             rng: random.Random) -> None:
    """Reset the connection every ``every`` seconds (at once, or after a few hundred bytes
    either way: mid-frame)."""
    while not stop.wait(every):
        how = rng.choice(("now", "up", "down"))
        if how == "now":
            proxy.cut()
        else:
            proxy.cut_after(rng.randrange(1, 400), how)
        tally.cuts += 1


def options(args: argparse.Namespace, server: ReferenceServer, tally: Tally) -> dict[str, Any]:
    return {"namespace": "soak", "database": "soak", "timeout": 10.0,
            "auth": {"username": server.user, "password": server.password},
            "on_state_change": on_state(tally)}


# --------------------------------------------------------------------------- sync


def run_sync(args: argparse.Namespace, url: str, server: ReferenceServer, tally: Tally,
             until: float) -> int:
    from surreal_sync import Surreal

    with Surreal(url, **options(args, server, tally)) as db:
        sub = db.subscribe_live(db.live("w"), timeout=1)

        def consume() -> None:
            while time.monotonic() < until + 1:
                try:
                    note = next(sub)
                except SurrealError:  # no notification within the second
                    continue
                with tally.lock:
                    if note.action == "RECONNECTED":
                        tally.markers += 1
                    else:
                        tally.notifications += 1

        def work(worker: int) -> None:
            rng = random.Random(worker)
            seq = 0
            while time.monotonic() < until:
                seq += 1
                kind = seq % 4
                try:
                    if kind == 0:
                        i = rng.randrange(READS)
                        if db.select(RecordID("r", i)) != {"id": RecordID("r", i), "n": i}:
                            tally.wrong_reads += 1
                    elif kind == 1:
                        tag = f"{worker}-{len(tally.writes.get(worker, ()))}"
                        try:
                            db.create("w", {"tag": tag})
                        except OutcomeUnknownError:
                            tally.wrote(worker, UNKNOWN)
                            raise
                        except SurrealError:
                            tally.wrote(worker, 0)
                            raise
                        tally.wrote(worker, CONFIRMED)
                    elif kind == 2:
                        db.ping()
                    else:
                        db.query("SELECT count() FROM r GROUP ALL")
                except SurrealError as exc:
                    tally.call_ended(exc)
                else:
                    tally.call_ended()

        threads = [threading.Thread(target=work, args=(n,)) for n in range(args.workers)]
        threads.append(threading.Thread(target=consume))
        for thread in threads:
            thread.start()
        time.sleep(WARM_UP)
        start = baseline()
        for thread in threads:
            thread.join()
        return start


# --------------------------------------------------------------------------- asyncio, trio


async def consume_async(sub: Any, tally: Tally, until: float) -> None:
    """Count the live notifications and gap markers (asyncio and trio)."""
    while time.monotonic() < until + 1:
        try:
            note = await anext(sub)
        except SurrealError:  # no notification within the second
            continue
        if note.action == "RECONNECTED":
            tally.markers += 1
        else:
            tally.notifications += 1


async def work_async(db: Any, tally: Tally, worker: int, until: float) -> None:
    """One worker's loop of mixed calls (asyncio and trio)."""
    rng = random.Random(worker)
    seq = 0
    while time.monotonic() < until:
        seq += 1
        kind = seq % 4
        try:
            if kind == 0:
                i = rng.randrange(READS)
                if await db.select(RecordID("r", i)) != {"id": RecordID("r", i), "n": i}:
                    tally.wrong_reads += 1
            elif kind == 1:
                tag = f"{worker}-{len(tally.writes.get(worker, ()))}"
                try:
                    await db.create("w", {"tag": tag})
                except OutcomeUnknownError:
                    tally.wrote(worker, UNKNOWN)
                    raise
                except SurrealError:
                    tally.wrote(worker, 0)
                    raise
                tally.wrote(worker, CONFIRMED)
            elif kind == 2:
                await db.ping()
            else:
                await db.query("SELECT count() FROM r GROUP ALL")
        except SurrealError as exc:
            tally.call_ended(exc)
        else:
            tally.call_ended()


def run_asyncio(args: argparse.Namespace, url: str, server: ReferenceServer, tally: Tally,
                until: float) -> int:
    from surreal_asyncio import AsyncSurreal

    async def main() -> int:
        async with AsyncSurreal(url, **options(args, server, tally)) as db:
            sub = db.subscribe_live(await db.live("w"), timeout=1)
            tasks = [asyncio.create_task(work_async(db, tally, n, until))
                     for n in range(args.workers)]
            tasks.append(asyncio.create_task(consume_async(sub, tally, until)))
            await asyncio.sleep(WARM_UP)
            start = baseline()
            await asyncio.gather(*tasks)
            return start

    return asyncio.run(main())


def run_trio(args: argparse.Namespace, url: str, server: ReferenceServer, tally: Tally,
             until: float) -> int:
    import trio

    from surreal_trio import AsyncSurreal

    async def main() -> int:
        async with AsyncSurreal(url, **options(args, server, tally)) as db:
            sub = await db.subscribe_live(await db.live("w"), timeout=1)
            start: list[int] = []
            async with trio.open_nursery() as nursery:
                for n in range(args.workers):
                    nursery.start_soon(work_async, db, tally, n, until)
                nursery.start_soon(consume_async, sub, tally, until)
                await trio.sleep(WARM_UP)
                start.append(baseline())
            return start[0]

    return trio.run(main)


# --------------------------------------------------------------------------- main


def stored_tags(server: ReferenceServer) -> Counter[str]:
    """How many rows of table ``w`` hold each tag (asked directly, not through the proxy)."""
    from surreal_sync import Surreal

    with Surreal(server.ws_url, namespace="soak", database="soak",
                 auth={"username": server.user, "password": server.password}) as db:
        rows = db.query("SELECT VALUE tag FROM w")[0]
    return Counter(rows)


RUNNERS = {"sync": run_sync, "asyncio": run_asyncio, "trio": run_trio}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", choices=tuple(RUNNERS), default="sync")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--cut-every", type=float, default=3.0, help="seconds between cuts")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", action="store_true",
                        help="also print where Python memory grew (tracemalloc; slower)")
    args = parser.parse_args()
    if args.trace:
        tracemalloc.start(10)

    tally = Tally()
    with ReferenceServer() as server:
        from surreal_sync import Surreal

        with Surreal(server.ws_url, namespace="soak", database="soak",
                     auth={"username": server.user, "password": server.password}) as setup:
            setup.query("DEFINE TABLE r SCHEMALESS; DEFINE TABLE w SCHEMALESS")
            setup.insert("r", [{"id": i, "n": i} for i in range(READS)])
        proxy = ProxyProcess(server.host, server.port)
        url = f"ws://127.0.0.1:{proxy.port}"
        until = time.monotonic() + args.duration
        stop = threading.Event()
        cutter = threading.Thread(target=cut_loop, daemon=True,
                                  args=(proxy, tally, args.cut_every, stop,
                                        random.Random(args.seed)))
        cutter.start()
        started = time.monotonic()
        rss_start = RUNNERS[args.adapter](args, url, server, tally, until)
        stop.set()
        cutter.join()
        elapsed = time.monotonic() - started
        gc.collect()
        rss_end = rss_kib()
        growth = (tracemalloc.take_snapshot().compare_to(SNAPSHOTS[0], "traceback")
                  if SNAPSHOTS else [])
        proxy.close()
        stored = stored_tags(server)

    written, unknown = tally.tags(CONFIRMED), tally.tags(UNKNOWN)
    lost = written - set(stored)
    duplicates = {tag: n for tag, n in stored.items() if n > 1}
    unknown_stored = len(unknown & set(stored))
    print(f"adapter: {args.adapter}, workers: {args.workers}, duration: {elapsed:.0f} s, "
          f"cut every {args.cut_every:g} s")
    print(f"calls: {tally.calls} ({tally.calls / elapsed:.0f}/s)")
    print(f"cuts: {tally.cuts}, reconnects: {tally.reconnects}, "
          f"connections accepted: {proxy.accepted}")
    print(f"writes confirmed: {len(written)}, rows stored: {sum(stored.values())}")
    print(f"lost writes: {len(lost)}")
    print(f"duplicates: {len(duplicates)}")
    print(f"outcome unknown: {tally.outcome_unknown} (writes among them: "
          f"{len(unknown)}, of which stored: {unknown_stored})")
    print(f"wrong reads: {tally.wrong_reads}")
    print(f"other errors: {dict(tally.errors) or 0}")
    print(f"notifications: {tally.notifications}, gap markers: {tally.markers}")
    print(f"rss: start {rss_start / 1024:.1f} MiB, end {rss_end / 1024:.1f} MiB, "
          f"growth {(rss_end - rss_start) / 1024:+.1f} MiB")
    for stat in growth[:8]:
        print(f"grew {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks at:")
        for line in stat.traceback.format(limit=4, most_recent_first=True):
            print(f"    {line}")
    return 1 if lost or duplicates or tally.wrong_reads else 0


if __name__ == "__main__":
    sys.exit(main())
