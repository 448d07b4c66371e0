"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    or_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite gives naive values back, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook open transactions itself (see _begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # A deferred SQLite transaction that reads then writes can fail to upgrade its lock when
    # another writer got in first; taking the write lock up front serialises writers cleanly.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# How long a request waits for a pooled connection before giving up (SQLAlchemy's default is
# 30 s). The portal holds no connection while it waits for a thread, so a long wait means the
# database itself is stuck: better to answer 503 soon than hang.
POOL_TIMEOUT_SECONDS = 5.0


_READ_ONLY = "tmc_read_only"
_READ_VERBS = ("SELECT", "BEGIN", "SHOW")  # BEGIN: SQLite's "BEGIN IMMEDIATE" (_begin_immediate)


def _transaction_began(connection: Any) -> None:
    connection.info[_READ_ONLY] = True


def _note_writes(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """A transaction stays read-only while every statement it runs is a read. Anything else
    (INSERT, UPDATE, DELETE, WITH, SAVEPOINT, DDL...) counts as a write."""
    if connection.info.get(_READ_ONLY) and \
            not statement.lstrip()[:6].upper().startswith(_READ_VERBS):
        connection.info[_READ_ONLY] = False


def _track_read_only_transactions(engine: Engine) -> None:
    event.listen(engine, "begin", _transaction_began)
    event.listen(engine, "before_cursor_execute", _note_writes)


class AppSession(Session):
    """A Session that ends a transaction which only read with COMMIT when it is closed.

    For a transaction that wrote nothing COMMIT and ROLLBACK are the same, but psycopg
    discards every prepared statement of the connection (and its counts towards preparing) on
    each ROLLBACK (`Connection.rollback` in psycopg/_connection_base.py). Requests that read
    and close their session without committing (pages, polls, staff reads, idle worker passes)
    therefore made the pool parse and plan every statement every time: two thirds of
    PostgreSQL's CPU for a case page. Anything that may have written (a statement that is not
    a read, pending ORM changes, a savepoint) is rolled back as before; so is everything when
    the connection's engine does not track writes (only `make_engine`'s engines do)."""

    def close(self) -> None:
        self._commit_if_only_read()
        super().close()

    def _commit_if_only_read(self) -> None:
        connection = self.info.pop(_CONNECTION, None)
        if connection is None or self.new or self.dirty or self.deleted:
            return
        transaction = self.get_transaction()
        if transaction is None or not transaction.is_active or connection.closed \
                or not connection.in_transaction() or connection.info.get(_READ_ONLY) is not True:
            return
        with contextlib.suppress(DBAPIError):  # then close() rolls back and discards it
            self.commit()


_CONNECTION = "tmc_connection"


@event.listens_for(AppSession, "after_begin")
def _remember_connection(session: Session, _transaction: Any, connection: Any) -> None:
    session.info[_CONNECTION] = connection


def connections_kept(pool_size: int) -> int:
    """A process's connections: up to twice TMC_DB_POOL_SIZE, each kept open once opened.

    Not SQLAlchemy's pool_size=N with N overflow: its overflow connections are closed when
    they come back to a full pool, so under a burst every request beyond N opened a new
    PostgreSQL connection (a backend forked, its catalogue caches cold, no prepared
    statements). At 160 requests/s of the load mix that was ~24 new connections a second and
    PostgreSQL's CPU doubled, pushing a busy machine into a queue it did not leave."""
    return 2 * pool_size


def make_engine(url: str, pool_size: int = 10,
                pool_timeout: float = POOL_TIMEOUT_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        _track_read_only_transactions(engine)
        return engine
    # No pre-ping: it costs a round trip per checkout. A connection that died while pooled
    # fails its first statement instead, is invalidated, and the webhook answers 503 (retried).
    engine = create_engine(url, pool_size=connections_kept(pool_size), max_overflow=0,
                           pool_recycle=1800, pool_timeout=pool_timeout)
    _track_read_only_transactions(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=AppSession, expire_on_commit=False, autoflush=False)


_UPSERTS: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _upsert_statement(dialect: str, table: Table, conflict_columns: tuple[str, ...]) -> Any:
    """Built once per table: building and cache-keying a statement costs more than running it."""
    key = (dialect, table.name, conflict_columns)
    statement = _UPSERTS.get(key)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = (insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
                     .returning(table.c.id))
        _UPSERTS[key] = statement
    return statement


def upsert_ignore(
    session: Session, model: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id; None when the row already existed.

    Column defaults (e.g. `created_at`) apply as in any Core insert."""
    connection = session.connection()
    statement = _upsert_statement(connection.dialect.name, model.__table__,  # type: ignore
                                  tuple(conflict_columns))
    return connection.execute(statement, values).scalar_one_or_none()


def one_of(column: Any, values: Iterable[Any]) -> Any:
    """`column IN (constants)` for a statement built once, as ORs of ordinary parameters:
    `in_` makes an expanding parameter, which SQLAlchemy renders into the statement again on
    every execution (about a third of a small statement's CPU)."""
    return or_(*(column == value for value in values))


def describe_db_error(exc: DBAPIError) -> str:
    """The driver's class and SQLSTATE (e.g. 53300: too many connections): enough for an
    operator to tell why, without the statement or its parameters, which may hold a victim's
    details."""
    orig = exc.orig
    return f"{type(orig).__name__}, SQLSTATE {getattr(orig, 'sqlstate', None) or '-'}"
