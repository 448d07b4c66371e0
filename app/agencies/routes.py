"""The webhook agencies call (agency-events.md section 2)."""

from __future__ import annotations

import logging

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.agencies import service
from app.core.db import describe_db_error
from app.core.metrics import EVENTS
from app.core.problems import (
    Problem,
    body_timeout,
    body_too_large,
    database_unavailable,
    problem_response,
)
from app.core.request_limits import BodyTimeout

router = APIRouter(tags=["agency events"])
log = logging.getLogger("tmc.agencies")

PROBLEM = {"content": {"application/problem+json": {}}}


async def read_body_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(f"The body must be at most {limit} bytes.")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise body_too_large(f"The body must be at most {limit} bytes.")
            chunks.append(chunk)
    except BodyTimeout:
        raise body_timeout("The body did not arrive in time. Nothing was stored; "
                           "send the event again.") from None
    return b"".join(chunks)


def _ingest(request: Request, agency_id: str, body: bytes) -> service.Outcome:
    settings = request.app.state.settings
    with request.app.state.sessionmaker() as session:
        try:
            return service.ingest(session, settings.secret_key, agency_id, body, request.headers)
        except PoolTimeout:  # every connection busy for the pool's timeout: the agency retries
            log.warning("event refused with 503: no pooled database connection came free")
            raise database_unavailable() from None
        except DBAPIError as exc:
            session.rollback()
            if exc.connection_invalidated or _is_unavailable(exc):
                log.warning("event refused with 503: database unavailable (%s)",
                            describe_db_error(exc))
                raise database_unavailable() from None
            raise


def _ingest_limiter(request: Request) -> CapacityLimiter:
    """At most as many ingesting threads as pooled connections: more threads would only wait
    for a connection while contending for the GIL."""
    state = request.app.state
    limiter = getattr(state, "ingest_limiter", None)
    if limiter is None:
        limiter = state.ingest_limiter = CapacityLimiter(state.settings.db_pool_size)
    return limiter


def _is_unavailable(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


EVENTS_PATH = "/webhooks/agencies/{agency_id}/events"


@router.post(
    EVENTS_PATH,
    status_code=202,
    summary="Receive one signed agency event",
    responses={200: {"description": "Duplicate of an accepted event"},
               **{code: PROBLEM for code in (401, 403, 404, 408, 409, 413, 422, 503)}},
)
async def receive_event(agency_id: str, request: Request) -> JSONResponse:
    """Standard Webhooks-signed event; 202 only after it is committed."""
    limit = request.app.state.settings.webhook_max_body_bytes
    try:
        body = await read_body_capped(request, limit)
        outcome = await to_thread.run_sync(_ingest, request, agency_id, body,
                                           limiter=_ingest_limiter(request))
    except Problem as problem:
        EVENTS.labels(type="-", outcome=str(problem.status)).inc()
        return problem_response(problem)
    EVENTS.labels(type="-", outcome=str(outcome.status)).inc()
    return JSONResponse(outcome.body(), status_code=outcome.status)
