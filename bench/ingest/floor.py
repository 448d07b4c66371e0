"""The floor of ingestion work: verify the Standard Webhooks signature, insert the raw body, 202.

Same URL shape as the service, served by uvicorn with the same number of processes, against the
same PostgreSQL, so that the service's rate can be read as a fraction of the least an endpoint
that durably accepts signed events must do. Nothing else: no schema validation, no idempotency,
no case projection. One autocommit INSERT per event from a psycopg connection pool, so the row is
committed before the 202.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tmc_bench \\
    FLOOR_SECRETS_FILE=secrets.json \\
    python -m uvicorn bench.ingest.floor:app --workers 2 --port 8081 --no-access-log

`FLOOR_SECRETS_FILE` holds a JSON object agency_id -> whsec_ secret. The table is
`bench_floor_event` (see TABLE_DDL; run.py creates it before the servers start).
`FLOOR_MODE` (an experiment, `run.py --floor-mode`): `plain` (default, one autocommit INSERT),
`tx` (BEGIN, INSERT, SELECT 1, COMMIT) or `notify` (BEGIN, INSERT, NOTIFY, COMMIT, as the service
does to wake its workers): `tx` against `notify` isolates what the NOTIFY costs.
`effects` is the least a receiver must do to answer 202 as the contract defines it ("event
stored, its effects applied, notifications queued") in hand-written SQL with no ORM: parse the
JSON, then in one transaction insert the event with the idempotency key (ON CONFLICT DO NOTHING),
lock and update the case row (created by the first event of a crime reference), insert one
timeline row and one notification row, commit. No validation, no obligations, no wording: it
bounds from above what any synchronous receiver in Python can reach on this machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS bench_floor_event (
    id bigserial PRIMARY KEY,
    agency_id text NOT NULL,
    webhook_id text NOT NULL,
    body text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = "INSERT INTO bench_floor_event (agency_id, webhook_id, body) VALUES (%s, %s, %s)"
EFFECTS_DDL = """
CREATE TABLE IF NOT EXISTS bench_effects_event (
    id bigserial PRIMARY KEY, agency_id text NOT NULL, webhook_id text NOT NULL,
    body text NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, webhook_id));
CREATE TABLE IF NOT EXISTS bench_floor_case (
    id bigserial PRIMARY KEY, crime_reference text NOT NULL UNIQUE, stage text NOT NULL,
    versions jsonb NOT NULL DEFAULT '{}', updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench_floor_timeline (
    id bigserial PRIMARY KEY, case_id bigint NOT NULL REFERENCES bench_floor_case,
    event_id bigint NOT NULL REFERENCES bench_effects_event, type text NOT NULL,
    params jsonb NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS bench_floor_timeline_case ON bench_floor_timeline (case_id);
CREATE TABLE IF NOT EXISTS bench_floor_notification (
    id bigserial PRIMARY KEY, case_id bigint NOT NULL REFERENCES bench_floor_case,
    event_id bigint NOT NULL REFERENCES bench_effects_event, status text NOT NULL,
    due_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS bench_floor_notification_due
    ON bench_floor_notification (status, due_at);
"""
INSERT_KEYED = ("INSERT INTO bench_effects_event (agency_id, webhook_id, body) VALUES (%s, %s, %s)"
                " ON CONFLICT (agency_id, webhook_id) DO NOTHING RETURNING id")
UPSERT_CASE = """
INSERT INTO bench_floor_case (crime_reference, stage) VALUES (%s, %s)
ON CONFLICT (crime_reference) DO UPDATE
    SET stage = EXCLUDED.stage, versions = bench_floor_case.versions || %s::jsonb,
        updated_at = now()
RETURNING id"""
INSERT_TIMELINE = ("INSERT INTO bench_floor_timeline (case_id, event_id, type, params, occurred_at)"
                   " VALUES (%s, %s, %s, %s::jsonb, %s)")
INSERT_NOTIFICATION = ("INSERT INTO bench_floor_notification (case_id, event_id, status)"
                       " VALUES (%s, %s, 'created')")
MAX_BODY = 256 * 1024


def _conninfo(url: str) -> str:
    # Accept the SQLAlchemy spelling too.
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    secrets = json.loads(Path(os.environ["FLOOR_SECRETS_FILE"]).read_text())
    app.state.hooks = {agency: Webhook(secret) for agency, secret in secrets.items()}
    size = int(os.environ.get("FLOOR_POOL_SIZE", "10"))
    pool = AsyncConnectionPool(_conninfo(os.environ["FLOOR_DATABASE_URL"]), min_size=size,
                               max_size=size * 2, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    app.state.pool = pool
    app.state.mode = os.environ.get("FLOOR_MODE", "plain")
    try:
        yield
    finally:
        await pool.close()


async def receive(request: Request) -> Response:
    agency_id = request.path_params["agency_id"]
    hook = request.app.state.hooks.get(agency_id)
    if hook is None:
        return JSONResponse({"title": "unknown agency"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"title": "body too large"}, status_code=413)
    try:
        hook.verify(body, request.headers, json_parse=False)
    except (WebhookVerificationError, ValueError, TypeError):
        return JSONResponse({"title": "invalid signature"}, status_code=401)
    webhook_id = request.headers["webhook-id"]
    if request.app.state.mode == "effects":
        await _store_with_effects(request.app.state.pool, agency_id, webhook_id, body)
        return JSONResponse({"status": "accepted", "event_id": webhook_id}, status_code=202)
    async with request.app.state.pool.connection() as connection:
        if request.app.state.mode in ("tx", "notify"):
            async with connection.transaction():
                await connection.execute(INSERT, (agency_id, webhook_id, body.decode()))
                await connection.execute(
                    "NOTIFY bench_floor" if request.app.state.mode == "notify" else "SELECT 1")
        else:
            await connection.execute(INSERT, (agency_id, webhook_id, body.decode()))
    return JSONResponse({"status": "accepted", "event_id": webhook_id}, status_code=202)


async def _store_with_effects(pool: AsyncConnectionPool, agency_id: str, webhook_id: str,
                             body: bytes) -> None:
    event = json.loads(body)
    async with pool.connection() as connection, connection.transaction():
        stored = await connection.execute(INSERT_KEYED, (agency_id, webhook_id, body.decode()))
        row = await stored.fetchone()
        if row is None:  # a duplicate: nothing more to do
            return
        case = await connection.execute(UPSERT_CASE, (
            event["crime_reference"], event["type"],
            json.dumps({event["type"]: event["occurred_at"]})))
        (case_id,) = await case.fetchone()
        await connection.execute(INSERT_TIMELINE, (case_id, row[0], event["type"],
                                                   json.dumps(event["data"]),
                                                   event["occurred_at"]))
        await connection.execute(INSERT_NOTIFICATION, (case_id, row[0]))


async def readyz(request: Request) -> Response:
    async with request.app.state.pool.connection() as connection:
        await connection.execute("SELECT 1")
    return PlainTextResponse("ready")


app = Starlette(
    routes=[Route("/webhooks/agencies/{agency_id}/events", receive, methods=["POST"]),
            Route("/readyz", readyz)],
    lifespan=lifespan,
)
