"""Test fixtures: every database test runs on SQLite and on PostgreSQL (real servers, no mocks).

PostgreSQL comes from TMC_TEST_POSTGRES_URL (default: the local server, database `test`, used only
to create a scratch database per test worker). With CI=true a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.core.migrations import upgrade_to_head
from app.models import Base
from tests.agency_client import AgencyClient, Registry

POSTGRES_ADMIN_URL = os.environ.get(
    "TMC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return str(exc).splitlines()[0]


def require_postgres() -> None:
    """Skips the test where PostgreSQL is not available; with CI=true fails it instead."""
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """An empty PostgreSQL database of this name (any left over from before dropped first):
    its URL; dropped afterwards, even with connections still open."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_template_url() -> Iterator[str]:
    require_postgres()
    with postgres_database(f"tmc_test_{_worker()}_{os.getpid()}") as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade_to_head(f"sqlite:///{path}")
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    # Only tables the migrations made: a model whose migration is still being written must not
    # break every other test.
    existing = set(inspect(engine).get_table_names())
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name in existing)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "tmc.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_template_url")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Tests drive the notification worker themselves (in_process_worker off).
    return Settings(env="test", database_url=database_url, base_url="http://testserver",
                    secret_key="test-secret-key-that-is-long-enough-0123456789",
                    in_process_worker=False)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def app(settings: Settings):
    from app.main import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def registry(session: Session, settings: Settings, client) -> Registry:
    """Registers agencies and gives each a client that signs like a real agency would."""
    return Registry(session, settings, client)


@pytest.fixture
def police(registry: Registry) -> AgencyClient:
    return registry.add("met-police", "police", "Metropolitan Police Service")
