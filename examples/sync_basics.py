"""The blocking client: CRUD, queries with variables, typed errors, threads sharing one
connection, and (on a WebSocket server) a transaction.

Run: ``python examples/sync_basics.py [URL]`` (default ``mem://``, the in-process engine of
the ``embedded`` extra). For a server, pass its URL (``ws://localhost:8000``) and set
``SURREAL_USER``/``SURREAL_PASS`` (default ``root``/``root``).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from surreal_sync import AlreadyExistsError, QueryError, RecordID, Surreal


def main(url: str) -> None:
    auth = None
    if not url.startswith(("mem://", "memory", "surrealkv", "file://")):
        auth = {"username": os.environ.get("SURREAL_USER", "root"),
                "password": os.environ.get("SURREAL_PASS", "root")}
    with Surreal(url, namespace="examples", database="sync_basics", auth=auth) as db:
        # Start afresh against a server; tables written concurrently are defined first.
        db.query("REMOVE TABLE IF EXISTS book; REMOVE TABLE IF EXISTS reading;"
                 "DEFINE TABLE reading SCHEMALESS")

        # CRUD: targets are record ids, tables or strings; values travel as CBOR, never
        # pasted into SurrealQL.
        dune = RecordID("book", "dune")
        db.create(dune, {"title": "Dune", "year": 1965, "tags": ["sf"]})
        db.insert("book", [{"id": "hobbit", "title": "The Hobbit", "year": 1937},
                           {"id": "emma", "title": "Emma", "year": 1815}])
        db.merge(dune, {"rating": 5})
        print("created:", db.select(dune)["title"], "rated", db.select(dune)["rating"])

        # query() gives one value per statement; vars are bound, not interpolated.
        [old, count] = db.query(
            "SELECT VALUE title FROM book WHERE year < $year ORDER BY title;"
            "RETURN count(SELECT * FROM book);", {"year": 1950})
        print("before 1950:", ", ".join(old))
        print("books:", count)

        # A failed statement raises a typed error that carries every statement's outcome.
        try:
            db.create(dune, {"title": "Dune again"})
        except AlreadyExistsError as error:
            print("duplicate:", type(error).__name__)
        try:
            db.query("RETURN 1; THROW 'no such shelf'")
        except QueryError as error:
            print("query error:", error.results[1].message)

        # Threads share the one connection: their requests are in flight together.
        with ThreadPoolExecutor(8) as pool:
            years = list(pool.map(lambda i: db.create("reading", {"n": i})["n"], range(20)))
        print("threads wrote:", len(years), "records")

        # Transactions need a 3.x server over WebSocket.
        if url.startswith(("ws://", "wss://")):
            with db.begin_transaction() as txn:
                txn.update(RecordID("book", "emma"), {"title": "Emma", "year": 1816})
                txn.delete(RecordID("book", "hobbit"))
            print("after the transaction:", len(db.select("book")), "books")

        db.delete("book")
        print("deleted; left:", db.select("book"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SURREAL_URL", "mem://"))
