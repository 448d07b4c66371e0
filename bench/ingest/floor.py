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
    async with request.app.state.pool.connection() as connection:
        if request.app.state.mode in ("tx", "notify"):
            async with connection.transaction():
                await connection.execute(INSERT, (agency_id, webhook_id, body.decode()))
                await connection.execute(
                    "NOTIFY bench_floor" if request.app.state.mode == "notify" else "SELECT 1")
        else:
            await connection.execute(INSERT, (agency_id, webhook_id, body.decode()))
    return JSONResponse({"status": "accepted", "event_id": webhook_id}, status_code=202)


async def readyz(request: Request) -> Response:
    async with request.app.state.pool.connection() as connection:
        await connection.execute("SELECT 1")
    return PlainTextResponse("ready")


app = Starlette(
    routes=[Route("/webhooks/agencies/{agency_id}/events", receive, methods=["POST"]),
            Route("/readyz", readyz)],
    lifespan=lifespan,
)
