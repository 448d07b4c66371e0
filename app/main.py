"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.agencies.routes import router as agency_router
from app.core import metrics
from app.core.config import Settings, get_settings
from app.core.db import make_engine, make_sessionmaker
from app.core.problems import Problem, database_unavailable, handle_problem, problem_response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Track My Crime", version="1.0.0",
                  description="Victim self-service portal: agency webhooks and JSON APIs.")
    engine = make_engine(settings.database_url, settings.db_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    app.add_exception_handler(Problem, handle_problem)

    async def handle_db_down(_request, _exc: Exception) -> JSONResponse:
        return problem_response(database_unavailable())

    app.add_exception_handler(DBAPIError, handle_db_down)
    app.include_router(agency_router)
    _add_health_routes(app)
    _describe_agency_events(app)
    return app


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
            with app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError:
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ready")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
