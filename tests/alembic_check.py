"""`alembic check` on a fresh SQLite database and a fresh PostgreSQL database (migrations match
the models on both). Run as `python -m tests.alembic_check`."""

from __future__ import annotations

import os
import sys
import tempfile

from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.migrations import alembic_config, upgrade_to_head

ADMIN_URL = os.environ.get("TMC_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def check(url: str) -> None:
    upgrade_to_head(url)
    command.check(alembic_config(url))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        check(f"sqlite:///{folder}/check.sqlite3")
    print("alembic check: SQLite clean")
    name = f"tmc_alembic_check_{os.getpid()}"
    try:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            print(f"alembic check: PostgreSQL required in CI: {exc}", file=sys.stderr)
            return 1
        print(f"alembic check: PostgreSQL skipped ({str(exc).splitlines()[0]})")
        return 0
    try:
        check(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
        print("alembic check: PostgreSQL clean")
    except CommandError as exc:
        print(f"alembic check failed: {exc}", file=sys.stderr)
        return 1
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
