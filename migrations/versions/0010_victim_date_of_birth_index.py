"""index victim records by date of birth (the portal's sign-in and case list read by it)

On PostgreSQL the index is built with CREATE INDEX CONCURRENTLY, outside a transaction, so
agency events and portal writes go on while it builds (a plain CREATE INDEX locks the victim
table against writes for the whole build). SQLite builds it as before.

If the concurrent build fails or is cancelled, PostgreSQL keeps an INVALID index and the
database stays at 0009: run `DROP INDEX CONCURRENTLY IF EXISTS ix_victim_date_of_birth;` and
run `tmc migrate` again. Downgrade drops it with DROP INDEX CONCURRENTLY IF EXISTS, so a
failed downgrade is simply run again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == 'postgresql'


def _outside_transaction_on_postgresql() -> AbstractContextManager[None]:
    # CONCURRENTLY refuses to run inside a transaction; SQLite keeps its transaction.
    return op.get_context().autocommit_block() if _on_postgresql() else nullcontext()


def upgrade() -> None:
    with _outside_transaction_on_postgresql():
        op.create_index('ix_victim_date_of_birth', 'victim', ['date_of_birth'], unique=False,
                        postgresql_concurrently=True)


def downgrade() -> None:
    with _outside_transaction_on_postgresql():
        op.drop_index('ix_victim_date_of_birth', table_name='victim',
                      postgresql_concurrently=True, if_exists=_on_postgresql())
