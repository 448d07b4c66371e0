"""Sessions that only read end with COMMIT (psycopg keeps its prepared statements); sessions
that may have written are still rolled back when closed without a commit."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine

from app.core.db import make_engine, make_sessionmaker
from app.portal.models import KnownDevice


def _devices(engine: Engine) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(KnownDevice)) or 0


def _prepared_statements(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        connection.commit()
        return count or 0


def test_reads_closed_without_commit_keep_the_connection_s_prepared_statements(
        database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("prepared statements are psycopg's")
    engine = make_engine(database_url, pool_size=1)  # one connection, reused in turn
    try:
        factory = make_sessionmaker(engine)
        for _ in range(8):  # psycopg prepares a statement on its 6th execution
            with factory() as session:
                session.scalar(select(func.count()).select_from(KnownDevice)
                               .where(KnownDevice.identity_key == "someone"))
        # A rollback at each close would have discarded them (and the counts towards them).
        assert _prepared_statements(engine) >= 1
    finally:
        engine.dispose()


def test_a_core_insert_closed_without_commit_is_rolled_back(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        session.scalar(select(func.count()).select_from(KnownDevice))
        session.execute(insert(KnownDevice).values(identity_key="k", device_hash="d"))
    assert _devices(engine) == 0


def test_a_driver_level_write_closed_without_commit_is_rolled_back(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        session.connection().exec_driver_sql(
            "INSERT INTO known_device (identity_key, device_hash, first_seen_at) "
            "VALUES ('k', 'd', CURRENT_TIMESTAMP)")
    assert _devices(engine) == 0


def test_pending_orm_objects_are_not_flushed_by_closing(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        session.scalar(select(func.count()).select_from(KnownDevice))
        session.add(KnownDevice(identity_key="k", device_hash="d"))
    assert _devices(engine) == 0


def test_a_write_after_a_commit_is_rolled_back_on_close(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        session.execute(insert(KnownDevice).values(identity_key="a", device_hash="1"))
        session.commit()
        session.scalar(select(func.count()).select_from(KnownDevice))
        session.execute(insert(KnownDevice).values(identity_key="b", device_hash="2"))
    with make_sessionmaker(engine)() as session:
        assert session.scalars(select(KnownDevice.identity_key)).all() == ["a"]


def test_a_burst_s_connections_stay_open_for_the_next_burst(database_url: str) -> None:
    """Connections opened for a burst are kept: the next burst opens none (SQLAlchemy's
    overflow connections were closed on return, so every burst forked PostgreSQL backends)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the connection pool is PostgreSQL's; SQLite opens a file")
    engine = make_engine(database_url, pool_size=2)  # up to 4 connections
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))
    try:
        for _burst in range(3):
            held = [engine.connect() for _ in range(4)]
            for connection in held:
                connection.close()
        assert len(opened) == 4
        assert engine.pool.checkedin() == 4
    finally:
        engine.dispose()
