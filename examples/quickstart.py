"""Quickstart: a real SurrealDB engine in process (``mem://``), no server needed.

Run: ``python examples/quickstart.py`` (needs ``pip install "surreal-py[embedded]"``).
Point it at a server instead with ``SURREAL_URL=ws://localhost:8000`` and
``SURREAL_USER``/``SURREAL_PASS``.
"""

from __future__ import annotations

import os

from surreal_sync import RecordID, Surreal


def main() -> None:
    url = os.environ.get("SURREAL_URL", "mem://")
    credentials = {"username": os.environ.get("SURREAL_USER", "root"),
                   "password": os.environ.get("SURREAL_PASS", "root")}
    auth = credentials if "SURREAL_URL" in os.environ else None
    with Surreal(url, namespace="quickstart", database="demo", auth=auth) as db:
        # upsert and a fresh edge table keep the script repeatable against a server
        db.upsert(RecordID("person", "ada"), {"name": "Ada Lovelace", "born": 1815})
        db.upsert(RecordID("person", "alan"), {"name": "Alan Turing", "born": 1912})
        db.query("REMOVE TABLE IF EXISTS admires")
        db.relate(RecordID("person", "alan"), "admires", RecordID("person", "ada"))
        [people, admired] = db.query(
            "SELECT name, born FROM person ORDER BY born;"
            "SELECT VALUE ->admires->person.name FROM ONLY $who;",
            {"who": RecordID("person", "alan")},
        )
        for person in people:
            print(f"{person['name']} (born {person['born']})")
        print(f"Alan admires: {', '.join(admired)}")
        print(f"server: {db.version()}")


if __name__ == "__main__":
    main()
