"""Index migrations on big tables (0009, 0010, 0011) build CONCURRENTLY on PostgreSQL, so agency
events and portal writes go on while an index builds; each runs on a throwaway database.

Stepwise upgrades (0008 -> head, 0008 -> 0010 -> head), a fresh upgrade and a downgrade leave
every index there and valid (pg_index.indisvalid); a writer is not held up while a build
waits; a cancelled build leaves an invalid index, and dropping it and re-running (what the
migrations' docstrings tell an operator) finishes the upgrade. SQLite keeps plain indexes.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from app.core.migrations import ROOT, alembic_config
from tests.conftest import postgres_database, require_postgres

# index: table, for every index 0009-0011 add to a table that existed before
INDEXES = {
    "ix_obligation_updated_at": "obligation",
    "ix_obligation_trigger_at": "obligation",
    "ix_received_event_type_case": "received_event",
    "ix_victim_date_of_birth": "victim",
    "ix_victim_lower_email": "victim",
    "ix_victim_lower_mobile": "victim",
    "ix_representative_lower_email": "representative",
    "ix_representative_lower_mobile": "representative",
    "ix_portal_action_session_pk": "portal_action",
}
BY_0010 = ["ix_obligation_updated_at", "ix_obligation_trigger_at",
           "ix_received_event_type_case", "ix_victim_date_of_birth"]
WAIT_SECONDS = 30


@pytest.fixture
def scratch_url() -> Iterator[str]:
    require_postgres()
    with postgres_database(f"tmc_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture
def probe(scratch_url: str) -> Iterator[Engine]:
    """The test's own connections to the scratch database (not the migration's)."""
    engine = create_engine(scratch_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _version(probe: Engine) -> str:
    with probe.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def _indexes(probe: Engine) -> dict[str, bool]:
    """Which of INDEXES exist, each with whether PostgreSQL may use it (indisvalid)."""
    with probe.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.relname, i.indisvalid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(:names)"),
            {"names": list(INDEXES)}).all()
    return {name: valid for name, valid in rows}


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every SQL statement any engine runs inside the block."""
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def _assert_concurrent(statements: list[str], verb: str, names: list[str]) -> None:
    for name in names:
        ran = [s for s in statements if f" {name}" in s and s.startswith(verb)]
        assert ran, (verb, name)
        assert all(s.startswith(f"{verb} CONCURRENTLY") for s in ran), ran


def _wait_for(check: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _build_waiting(probe: Engine, index: str) -> int | None:
    """The backend of a CREATE INDEX of `index` waiting on a lock, if there is one."""
    with probe.connect() as connection:
        return connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE :build AND wait_event_type = 'Lock'"),
            {"build": f"CREATE INDEX%{index} %"}).scalar()


class _Upgrade:
    """`alembic upgrade target` in a thread, as `tmc migrate` beside a running service."""

    def __init__(self, url: str, target: str) -> None:
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(url, target), daemon=True)
        self.thread.start()

    def _run(self, url: str, target: str) -> None:
        try:
            command.upgrade(alembic_config(url), target)
        except BaseException as exc:  # handed to the test by finish()
            self.errors.append(exc)

    def finish(self) -> list[BaseException]:
        self.thread.join(WAIT_SECONDS)
        assert not self.thread.is_alive(), "migration did not finish"
        return self.errors


@contextmanager
def _open_writer(probe: Engine) -> Iterator[None]:
    """A write transaction left open on victim, as an ingest in flight would be."""
    with probe.connect() as connection:
        connection.exec_driver_sql("BEGIN")
        connection.execute(text("UPDATE victim SET email = NULL WHERE id = -1"))
        try:
            yield
        finally:
            connection.exec_driver_sql("ROLLBACK")


@pytest.mark.postgres
def test_stepwise_upgrades_and_downgrade_build_every_index_concurrently(
        scratch_url: str, probe: Engine) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0008")
    assert _indexes(probe) == {}

    with _statements() as upgraded:
        command.upgrade(config, "head")  # 0009, 0010, 0011 in turn
    assert _version(probe) == _head(scratch_url)
    assert _indexes(probe) == dict.fromkeys(INDEXES, True)
    _assert_concurrent(upgraded, "CREATE INDEX", list(INDEXES))

    with _statements() as downgraded:
        command.downgrade(config, "0008")
    assert _version(probe) == "0008"
    assert _indexes(probe) == {}
    assert "oversight_rollup_state" not in inspect(probe).get_table_names()
    _assert_concurrent(downgraded, "DROP INDEX", list(INDEXES))

    command.upgrade(config, "0010")
    assert _indexes(probe) == dict.fromkeys(BY_0010, True)
    command.upgrade(config, "head")
    assert _version(probe) == _head(scratch_url)
    assert _indexes(probe) == dict.fromkeys(INDEXES, True)


@pytest.mark.postgres
def test_fresh_database_upgrades_to_head_in_one_run(scratch_url: str, probe: Engine) -> None:
    command.upgrade(alembic_config(scratch_url), "head")
    assert _version(probe) == _head(scratch_url)
    assert _indexes(probe) == dict.fromkeys(INDEXES, True)


@pytest.mark.postgres
def test_writes_go_on_while_an_index_builds(scratch_url: str, probe: Engine) -> None:
    command.upgrade(alembic_config(scratch_url), "0009")
    with _open_writer(probe):
        upgrade = _Upgrade(scratch_url, "0010")
        # The build waits for the open writer; a plain CREATE INDEX would queue a SHARE lock
        # that every new writer then waits behind.
        _wait_for(lambda: _build_waiting(probe, "ix_victim_date_of_birth"), "the build")
        with probe.connect() as writer:
            writer.exec_driver_sql("SET lock_timeout = '2s'")
            writer.exec_driver_sql("BEGIN")
            writer.execute(text("UPDATE victim SET email = NULL WHERE id = -1"))
            writer.exec_driver_sql("COMMIT")
    assert upgrade.finish() == []
    assert _version(probe) == "0010"
    assert _indexes(probe)["ix_victim_date_of_birth"] is True


@pytest.mark.postgres
def test_a_failed_build_is_dropped_and_run_again(scratch_url: str, probe: Engine) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0009")
    with _open_writer(probe):
        upgrade = _Upgrade(scratch_url, "head")
        pid = _wait_for(lambda: _build_waiting(probe, "ix_victim_date_of_birth"), "the build")
        with probe.connect() as connection:
            connection.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": pid})
    errors = upgrade.finish()
    assert len(errors) == 1 and "canceling statement" in str(errors[0])
    assert _version(probe) == "0009"
    assert _indexes(probe) == {**dict.fromkeys(BY_0010[:3], True),
                               "ix_victim_date_of_birth": False}

    with pytest.raises(DBAPIError, match="already exists"):
        command.upgrade(config, "head")
    with probe.connect() as connection:  # what 0010's docstring tells the operator
        connection.exec_driver_sql("DROP INDEX CONCURRENTLY IF EXISTS ix_victim_date_of_birth")
    command.upgrade(config, "head")
    assert _version(probe) == _head(scratch_url)
    assert _indexes(probe) == dict.fromkeys(INDEXES, True)


FAILING_MIGRATION = '''"""a migration after the index ones that fails

Revision ID: 9999
Revises: {head}
"""
from alembic import op

revision = "9999"
down_revision = "{head}"


def upgrade() -> None:
    op.execute("SELECT 1/0")
'''


@pytest.mark.postgres
def test_a_later_migration_failing_keeps_the_built_indexes_stamped(
        scratch_url: str, probe: Engine, tmp_path: Path) -> None:
    """Each migration commits on its own (env.py): otherwise the version stamp of a migration
    whose indexes were built outside any transaction rolls back with the failing one, and the
    next `tmc migrate` fails on indexes that already exist."""
    head = _head(scratch_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_fails.py").write_text(FAILING_MIGRATION.format(head=head))
    config = alembic_config(scratch_url)
    config.set_main_option("script_location", str(scripts))
    command.upgrade(config, "0008")

    with pytest.raises(DBAPIError, match="division by zero"):
        command.upgrade(config, "heads")
    assert _version(probe) == head
    assert _indexes(probe) == dict.fromkeys(INDEXES, True)


def test_sqlite_keeps_plain_indexes_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    config = alembic_config(url)
    engine = create_engine(url)

    def indexes() -> set[str]:
        with engine.connect() as connection:
            return set(connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()) & set(INDEXES)

    try:
        command.upgrade(config, "0008")
        assert indexes() == set()
        command.upgrade(config, "head")
        assert indexes() == set(INDEXES)
        command.downgrade(config, "0008")
        assert indexes() == set()
        command.upgrade(config, "0010")
        assert indexes() == set(BY_0010)
        command.upgrade(config, "head")
        assert indexes() == set(INDEXES)
    finally:
        engine.dispose()
