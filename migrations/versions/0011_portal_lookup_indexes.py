"""index what the portal looks up on every case page: victims and representatives by their
address in lower case (the proven grant), portal actions by session

On PostgreSQL each index is built with CREATE INDEX CONCURRENTLY, outside a transaction, so
the portal and agency ingest go on writing while they build (a plain CREATE INDEX locks each
table against writes for the whole build). SQLite builds them as before.

If a concurrent build fails or is cancelled, PostgreSQL keeps that index INVALID, the ones
built before it stay, and the database stays at 0010: drop whichever of this migration's
indexes exist (`DROP INDEX CONCURRENTLY IF EXISTS ix_victim_lower_email;` and likewise
ix_victim_lower_mobile, ix_representative_lower_email, ix_representative_lower_mobile,
ix_portal_action_session_pk) and run `tmc migrate` again. Downgrade drops them with DROP
INDEX CONCURRENTLY IF EXISTS, so a failed downgrade is simply run again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column): lower(column)
_LOWER = [
    ('ix_victim_lower_email', 'victim', 'email'),
    ('ix_victim_lower_mobile', 'victim', 'mobile'),
    ('ix_representative_lower_email', 'representative', 'email'),
    ('ix_representative_lower_mobile', 'representative', 'mobile'),
]


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == 'postgresql'


def _outside_transaction_on_postgresql() -> AbstractContextManager[None]:
    # CONCURRENTLY refuses to run inside a transaction; SQLite keeps its transaction.
    return op.get_context().autocommit_block() if _on_postgresql() else nullcontext()


def upgrade() -> None:
    # CREATE INDEX needs no table rebuild on SQLite (no batch mode).
    with _outside_transaction_on_postgresql():
        for name, table, column in _LOWER:
            op.create_index(name, table, [sa.text(f'lower({column})')], unique=False,
                            postgresql_concurrently=True)
        op.create_index('ix_portal_action_session_pk', 'portal_action', ['session_pk'],
                        unique=False, postgresql_concurrently=True)


def downgrade() -> None:
    with _outside_transaction_on_postgresql():
        op.drop_index('ix_portal_action_session_pk', table_name='portal_action',
                      postgresql_concurrently=True, if_exists=_on_postgresql())
        for name, table, _column in reversed(_LOWER):
            op.drop_index(name, table_name=table, postgresql_concurrently=True,
                          if_exists=_on_postgresql())
