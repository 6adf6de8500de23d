"""Many threads on one client, deadlines, dropped connections, close() under load, leaks."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from surreal_sync import (
    ConnectionClosedError,
    LiveNotification,
    OutcomeUnknownError,
    RecordID,
    Surreal,
    SurrealError,
    SurrealTimeoutError,
)
from tests.conftest import DbInfo
from tests.faults.proxy import Proxy
from tests.sync.conftest import Factory, open_fds, options_for, threads

pytestmark = pytest.mark.integration

THREADS = 16
CALLS = 200


def run_threads(target: Callable[[int], Any], count: int, timeout: float = 30.0,
                ) -> list[BaseException]:
    """Run ``target(index)`` in ``count`` threads; return what they raised."""
    errors: list[BaseException] = []

    def wrapper(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running"
    return errors


def test_sixteen_threads_share_one_connection(connect: Factory, kind: str) -> None:
    db = connect(kind)
    db.query("DEFINE TABLE item SCHEMALESS")

    calls = 48 if kind == "httpx" else CALLS  # httpx costs ~1 ms of CPU per call

    def work(k: int) -> None:
        for i in range(calls):
            step = i % 4
            if step == 0:
                assert db.query("RETURN [$k, $i]", {"k": k, "i": i}) == [[k, i]]
            elif step == 1:
                made = db.create(RecordID("item", [k, i]), {"k": k, "i": i})
                assert (made["k"], made["i"]) == (k, i)
            elif step == 2:
                got = db.select(RecordID("item", [k, i - 1]))
                assert (got["k"], got["i"]) == (k, i - 1)
            else:
                assert db.run("math::max", [[k, i, -1]]) == max(k, i)

    before = threads()
    assert run_threads(work, THREADS, timeout=40) == []
    assert db.query("RETURN count(SELECT * FROM item)") == [THREADS * calls // 4]
    assert threads() - before == set()  # no background thread without live queries


def test_a_single_thread_reads_its_own_replies(connect: Factory) -> None:
    # No live query, so no background reader: the calling thread is the reader.
    db = connect("ws")
    before = threads()
    for i in range(50):
        assert db.query("RETURN $i", {"i": i}) == [i]
    assert threads() - before == set()


def test_an_expired_call_is_abandoned_and_the_connection_stays_usable(
        connect: Factory, kind: str) -> None:
    db = connect(kind, timeout=0.3)
    db.connect()
    started = time.monotonic()
    with pytest.raises(SurrealTimeoutError) as caught:
        db.query("SLEEP 1s")
    assert isinstance(caught.value, TimeoutError)
    elapsed = time.monotonic() - started
    # An embedded execute() or an httpx exchange runs in the calling thread and cannot be
    # interrupted: the deadline is enforced when it returns.
    assert elapsed < (1.5 if kind in ("mem", "httpx") else 0.9)
    assert db.query("RETURN 1") == [1]


def test_other_threads_are_not_held_up_by_a_slow_call(connect: Factory) -> None:
    db = connect("ws")
    db.connect()
    slow = threading.Thread(target=db.query, args=("SLEEP 1s",))
    slow.start()
    time.sleep(0.1)
    started = time.monotonic()
    for i in range(20):
        assert db.query("RETURN $i", {"i": i}) == [i]
    assert time.monotonic() - started < 0.9
    slow.join(5)


def test_a_dropped_connection_fails_every_waiting_call_at_once(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with Proxy(server.host, server.port) as proxy:
        options = options_for("ws", surreal_db)
        db = Surreal(f"ws://127.0.0.1:{proxy.port}", reconnect=False, **options)
        db.connect()
        outcomes: list[BaseException] = []

        def call(index: int) -> None:
            try:
                db.query("SLEEP 3s")
            except SurrealError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        proxy.cut()
        for thread in threads:
            thread.join(3)
        assert time.monotonic() - started < 1.0
        assert len(outcomes) == 4
        assert all(type(e) is ConnectionClosedError for e in outcomes), outcomes
        assert db.query("RETURN 1") == [1]  # the next call connects afresh
        db.close()


def test_reconnect_keeps_the_live_subscription(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with Proxy(server.host, server.port) as proxy:
        options = options_for("ws", surreal_db)
        db = Surreal(f"ws://127.0.0.1:{proxy.port}", **options)
        db.query("DEFINE TABLE person SCHEMALESS")
        sub = db.subscribe_live(db.live("person"), timeout=5)
        outcome: list[BaseException] = []

        def write() -> None:
            try:
                db.query("SLEEP 1s; CREATE person:slow")
            except SurrealError as exc:
                outcome.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        proxy.cut()
        writer.join(3)
        # A write in flight may or may not have run: it is never sent again silently.
        assert [type(e) for e in outcome] == [OutcomeUnknownError]
        note = next(sub)
        assert note.action == "RECONNECTED"
        assert sub.reconnects == 1
        db.create(RecordID("person", 1))
        assert next(sub).record in (RecordID("person", 1), RecordID("person", "slow"))
        db.close()


def test_close_ends_calls_and_iterators_and_leaves_nothing_behind(
        surreal_db: DbInfo, connect: Factory) -> None:
    fds, before = open_fds(), threads()
    db = connect("ws")
    db.query("DEFINE TABLE person SCHEMALESS")
    sub = db.subscribe_live(db.live("person"))
    assert [t.name for t in threads() - before] == ["surreal_sync-reader"]
    outcomes: list[Any] = []

    def call() -> None:
        try:
            db.query("SLEEP 3s")
        except SurrealError as exc:
            outcomes.append(exc)

    def iterate() -> None:
        outcomes.append(list(sub))

    workers = [threading.Thread(target=call) for _ in range(3)]
    workers.append(threading.Thread(target=iterate))
    for worker in workers:
        worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    db.close()
    for worker in workers:
        worker.join(3)
    assert time.monotonic() - started < 2.0
    assert sum(isinstance(o, ConnectionClosedError) for o in outcomes) == 3
    assert [] in outcomes  # the iterator ended
    assert threads() - before == set()
    assert open_fds() - fds == set()
    # and it can be used again
    assert db.query("RETURN 1") == [1]
    db.close()
    assert open_fds() - fds == set()


def test_http_and_embedded_leave_nothing_behind(connect: Factory) -> None:
    # The embedded extension starts a process-wide runtime (threads and ~180 descriptors)
    # the first time it is used, and keeps it: start it before counting.
    with Surreal("mem://") as warm_up:
        warm_up.ping()
    fds, before = open_fds(), threads()
    for kind in ("http", "mem"):
        db = connect(kind)

        def work(k: int, db: Surreal = db) -> None:
            for i in range(20):
                assert db.query("RETURN $v", {"v": [k, i]}) == [[k, i]]

        assert run_threads(work, 8) == []
        db.close()
    assert threads() - before == set()
    assert open_fds() - fds == set()


def test_live_notifications_do_not_stall_replies(connect: Factory) -> None:
    db = connect("ws", live_queue_size=5)
    db.query("DEFINE TABLE tick SCHEMALESS")
    sub = db.subscribe_live(db.live("tick"), timeout=5)
    for i in range(20):  # nobody consumes: the queue keeps the newest 5
        db.create("tick", {"i": i})
    assert db.query("RETURN 1") == [1]
    deadline = time.monotonic() + 5
    while sub.dropped < 15 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sub.dropped == 15
    notes: list[LiveNotification] = [next(sub) for _ in range(5)]
    assert sorted(n.result["i"] for n in notes) == list(range(15, 20))


def test_threads_and_the_background_reader_together(connect: Factory) -> None:
    # With a live query the background reader leads; callers get their replies from it.
    db = connect("ws")
    db.query("DEFINE TABLE item SCHEMALESS")
    sub = db.subscribe_live(db.live("item"), timeout=5)

    def work(k: int) -> None:
        for i in range(50):
            assert db.create(RecordID("item", [k, i]), {"k": k})["k"] == k
            assert db.query("RETURN $v", {"v": [k, i]}) == [[k, i]]

    assert run_threads(work, 8) == []
    records = {next(sub).record for _ in range(8 * 50)}
    assert records == {RecordID("item", [k, i]) for k in range(8) for i in range(50)}
    assert sub.dropped == 0


def test_http_calls_from_several_threads_use_the_pool(surreal_db: DbInfo) -> None:
    server = surreal_db.server
    with Proxy(server.host, server.port) as proxy:
        db = Surreal(f"http://127.0.0.1:{proxy.port}", **options_for("http", surreal_db))
        db.connect()
        started = time.monotonic()
        assert run_threads(lambda k: db.query("SLEEP 300ms"), 8) == []
        assert time.monotonic() - started < 8 * 0.3 / 2  # at least two at a time
        assert 2 <= proxy.accepted <= 4  # the keep-alive pool, not one connection per call
        db.close()


def test_an_interrupted_wait_cancels_its_call(connect: Factory) -> None:
    db = connect("ws")
    db.connect()

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            db.query("SLEEP 1s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert db.query("RETURN 1") == [1]  # the abandoned reply does not confuse anything
    time.sleep(1)  # the late reply arrives and is dropped
    assert db.query("RETURN 2") == [2]
