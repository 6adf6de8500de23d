"""A FastAPI app on the asyncio client: one ``AsyncSurreal`` opened in the app's lifespan
and shared by every request (requests from many clients are in flight together on its one
connection).

Serve it: ``uvicorn examples.fastapi_app:app`` (``pip install fastapi uvicorn``), with
``SURREAL_URL`` (default ``mem://``, the in-process engine) and, for a server,
``SURREAL_USER``/``SURREAL_PASS``. Run as a script, it drives itself in process (lifespan
and requests through ``httpx.ASGITransport``) and prints what each request answered.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

from surreal_asyncio import AlreadyExistsError, AsyncSurreal, RecordID


class Person(BaseModel):
    name: str
    email: str


def _client() -> AsyncSurreal:
    url = os.environ.get("SURREAL_URL", "mem://")
    auth = None
    if not url.startswith(("mem://", "memory", "surrealkv", "file://")):
        auth = {"username": os.environ.get("SURREAL_USER", "root"),
                "password": os.environ.get("SURREAL_PASS", "root")}
    return AsyncSurreal(url, namespace="examples", database="fastapi", auth=auth, timeout=5)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with _client() as db:  # connects at start-up, closes at shutdown
        await db.query("REMOVE TABLE IF EXISTS person; DEFINE TABLE person SCHEMALESS")
        app.state.db = db
        yield


app = FastAPI(title="people", lifespan=lifespan)


def database(request: Request) -> AsyncSurreal:
    db: AsyncSurreal = request.app.state.db
    return db


#: The shared client, injected into each endpoint.
DB = Annotated[AsyncSurreal, Depends(database)]


def _public(record: dict[str, Any]) -> dict[str, Any]:
    # A RecordID is not JSON: answer its key (and take keys, not SurrealQL, in URLs).
    return {**record, "id": record["id"].id}


@app.post("/people/{key}", status_code=201)
async def create_person(key: str, person: Person, db: DB) -> dict[str, Any]:
    try:
        created = await db.create(RecordID("person", key), person.model_dump())
    except AlreadyExistsError as error:
        raise HTTPException(409, "a person with that key exists") from error
    return _public(created)


@app.get("/people")
async def list_people(db: DB) -> list[dict[str, Any]]:
    [people] = await db.query("SELECT * FROM person ORDER BY name")
    return [_public(p) for p in people]


@app.get("/people/{key}")
async def get_person(key: str, db: DB) -> dict[str, Any]:
    person = await db.select(RecordID("person", key))  # the key is a value, never SurrealQL
    if person is None:
        raise HTTPException(404, "no such person")
    return _public(person)


@app.delete("/people/{key}", status_code=204)
async def delete_person(key: str, db: DB) -> None:
    if await db.delete(RecordID("person", key)) is None:
        raise HTTPException(404, "no such person")


async def demo() -> None:
    """Drive the app in process (lifespan included) and print each answer."""
    import httpx

    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app") as http:
        for method, path, body in [
            ("POST", "/people/ada", {"name": "Ada", "email": "ada@example.com"}),
            ("POST", "/people/alan", {"name": "Alan", "email": "alan@example.com"}),
            ("POST", "/people/ada", {"name": "Eve", "email": "eve@example.com"}),
            ("GET", "/people", None),
            ("GET", "/people/x; DELETE person", None),
            ("DELETE", "/people/alan", None),
            ("GET", "/people", None),
        ]:
            response = await http.request(method, path, json=body)
            print(method, path, response.status_code, response.text)


if __name__ == "__main__":
    import asyncio

    asyncio.run(demo())
