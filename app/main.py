"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.agencies.routes import router as agency_router
from app.core import metrics
from app.core.config import Settings, get_settings
from app.core.db import describe_db_error, make_engine, make_sessionmaker
from app.core.problems import Problem, database_unavailable, handle_problem, problem_response

log = logging.getLogger("tmc.app")

# Machine callers, which get the problem JSON when the database is down: agencies
# (agency-events.md), the JSON APIs and the SMS and email providers' callbacks. Every other
# path that reads the database is a page a person is looking at.
MACHINE_PREFIXES = ("/webhooks/", "/api/", "/notifications/")
STAFF_PREFIX = "/staff"  # app/staff, app/oversight and the staff pages of app/contact
DATABASE_DOWN_RETRY_AFTER_SECONDS = 5


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Track My Crime", version="1.0.0",
                  description="Victim self-service portal: agency webhooks and JSON APIs.",
                  lifespan=_lifespan)
    engine = make_engine(settings.database_url, settings.db_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.freeze_start_up_objects = False

    app.add_exception_handler(Problem, handle_problem)

    async def handle_db_down(request: Request, exc: DBAPIError) -> Response:
        log.warning("request answered 503: database error (%s)", describe_db_error(exc))
        return _database_down_response(request)

    app.add_exception_handler(DBAPIError, handle_db_down)
    app.include_router(agency_router)
    from app.obligations.routes import router as obligations_router

    app.include_router(obligations_router)  # behind the staff sign-in (app/staff/auth.py)
    from app.notifications.routes import router as notifications_router

    app.include_router(notifications_router)
    from app.contact.routes import router as contact_router

    app.include_router(contact_router)  # victims' messages and escalations, and staff replies
    _add_health_routes(app)
    _describe_agency_events(app)
    _add_portal(app, settings)
    _add_staff(app, settings)
    _add_hardening(app, settings)
    return app


def _database_down_response(request: Request) -> Response:
    """The problem for machines; for people (htmx requests included: never JSON) a page in the
    staff console's or the portal's layout, with Retry-After and never cached."""
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES):
        return problem_response(database_unavailable())
    if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/"):
        from app.staff.routes import unavailable_page

        page = unavailable_page(request)
    else:
        from app.portal.routes import unavailable_response

        page = unavailable_response(request)
    page.headers["Retry-After"] = str(DATABASE_DOWN_RETRY_AFTER_SECONDS)
    return page


def _add_staff(app: FastAPI, settings: Settings) -> None:
    """The staff console (app/staff) and the oversight dashboard (app/oversight)."""
    from app.oversight.routes import router as oversight_router
    from app.staff import auth
    from app.staff.routes import router as staff_router

    auth.install(app)
    app.include_router(staff_router)
    app.include_router(oversight_router)
    if settings.staff_oidc_enabled:  # Authlib and httpx: ~9 MiB a process, only when used
        from app.staff import oidc

        oidc.install(app, settings)


def _add_portal(app: FastAPI, settings: Settings) -> None:
    """The victim portal's pages (app/portal) and its static files."""
    from fastapi.staticfiles import StaticFiles

    from app.core.ratelimit import Throttle
    from app.core.templating import STATIC_DIR
    from app.portal.routes import (
        CsrfFailed,
        PortalBusy,
        Refused,
        busy_response,
        csrf_failed_response,
        refused_response,
    )
    from app.portal.routes import router as portal_router

    app.state.throttle = Throttle(settings.redis_url)

    async def handle_csrf_failed(request, _exc: Exception) -> Response:  # type: ignore[no-untyped-def]
        return csrf_failed_response(request)

    app.add_exception_handler(CsrfFailed, handle_csrf_failed)
    app.add_exception_handler(PortalBusy, busy_response)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, refused_response)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(portal_router)
    from app.entitlements.routes import router as entitlements_router

    app.include_router(entitlements_router)  # "Your rights": /cases/{public_id}/rights/...
    if settings.oidc_enabled:  # Authlib and httpx: ~9 MiB a process, only when used
        from app.portal import oidc

        oidc.install(app, settings)


def _add_hardening(app: FastAPI, settings: Settings) -> None:
    """Request limits and security headers, for every route (portal, staff, webhooks, APIs)."""
    from app.agencies.routes import EVENTS_PATH
    from app.core.request_limits import RequestLimitsMiddleware
    from app.core.security_headers import SecurityHeadersMiddleware

    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.form_max_body_bytes,
                       max_header_bytes=settings.max_header_bytes,
                       body_timeout_seconds=settings.request_body_timeout_seconds,
                       exempt_prefixes=(EVENTS_PATH.split("{", 1)[0],))
    # Added last, so outermost: every response, errors included, carries the headers.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """The app as each `tmc serve` process runs it, for hours: see _freeze_start_up_objects."""
    app = create_app(settings)
    app.state.freeze_start_up_objects = True
    return app


def _freeze_start_up_objects() -> None:
    """Take what a process holds once it has started (modules, classes, routes, mappers,
    settings: some 140,000 objects) out of the cyclic garbage collector's sight; they live as
    long as the process. Every full collection scanned them all, stopping the process's
    requests for 70-450 ms several times a minute under load; it now scans only what came later
    (docs/performance.md, session 6). Not for the test suite's many short-lived apps: a
    frozen object in a reference cycle is never collected."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On the embedded default (SQLite), the notification worker runs in this process unless
    TMC_IN_PROCESS_WORKER=0 (`tmc serve --no-worker`); on PostgreSQL run `tmc worker`."""
    settings: Settings = app.state.settings
    if app.state.freeze_start_up_objects:
        _freeze_start_up_objects()
    worker = None
    if settings.is_sqlite and settings.in_process_worker:
        from app.core.worker import Worker
        from app.jobs import all_jobs

        worker = Worker(app.state.engine, all_jobs(settings))
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop(timeout=10.0)


def _describe_agency_events(app: FastAPI) -> None:
    from fastapi.openapi.utils import get_openapi

    from app.agencies.openapi import add_event_schemas
    from app.agencies.routes import EVENTS_PATH

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            app.openapi_schema = add_event_schemas(schema, EVENTS_PATH)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_health_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        try:
            with app.state.sessionmaker() as session:  # AppSession: a read ends in COMMIT
                session.execute(text("SELECT 1"))
        except DBAPIError:
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ready")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
