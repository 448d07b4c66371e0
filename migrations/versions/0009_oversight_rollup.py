"""oversight roll-up: obligation counts, a duration histogram and notification counts per
refresh, its state row; indexes for the refresh (obligation updated_at, trigger_at) and for
counting cases by event type

On PostgreSQL the indexes on the existing obligation and received_event tables are built with
CREATE INDEX CONCURRENTLY, outside a transaction and before anything else of this migration,
so agency events go on being ingested while they build (a plain CREATE INDEX locks each table
against writes for the whole build). SQLite builds them in batch mode as before; the new
oversight_* tables are indexed in the migration's transaction on both.

If the migration fails on PostgreSQL (a concurrent build that fails or is cancelled leaves its
index INVALID), the database stays at 0008 with whichever of these indexes were built: drop
those of ix_obligation_updated_at, ix_obligation_trigger_at and ix_received_event_type_case
that exist (`DROP INDEX CONCURRENTLY IF EXISTS ix_obligation_updated_at;` and likewise) and
run `tmc migrate` again. Downgrade drops them with DROP INDEX CONCURRENTLY
IF EXISTS, so a failed downgrade is simply run again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# (index, table, columns) on tables that already hold the service's data
_EXISTING_TABLE_INDEXES = [
    ('ix_obligation_updated_at', 'obligation', ['updated_at']),
    ('ix_obligation_trigger_at', 'obligation', ['trigger_at']),
    ('ix_received_event_type_case', 'received_event', ['type', 'case_pk']),
]


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == 'postgresql'


def upgrade() -> None:
    if _on_postgresql():
        _create_indexes_concurrently()
        _create_rollup_tables()
    else:
        _create_rollup_tables()
        _create_indexes_in_batch()


def downgrade() -> None:
    if _on_postgresql():
        _drop_indexes_concurrently()
    else:
        _drop_indexes_in_batch()
    _drop_rollup_tables()


def _create_indexes_concurrently() -> None:
    # CONCURRENTLY refuses to run inside a transaction. First, so that a failed build leaves
    # nothing else of this migration committed (the autocommit block commits what ran before).
    with op.get_context().autocommit_block():
        for name, table, columns in _EXISTING_TABLE_INDEXES:
            op.create_index(name, table, columns, unique=False, postgresql_concurrently=True)


def _drop_indexes_concurrently() -> None:
    with op.get_context().autocommit_block():
        for name, table, _columns in reversed(_EXISTING_TABLE_INDEXES):
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def _create_indexes_in_batch() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_updated_at', ['updated_at'], unique=False)
        batch_op.create_index('ix_obligation_trigger_at', ['trigger_at'], unique=False)
    with op.batch_alter_table('received_event', schema=None) as batch_op:
        batch_op.create_index('ix_received_event_type_case', ['type', 'case_pk'], unique=False)


def _drop_indexes_in_batch() -> None:
    with op.batch_alter_table('received_event', schema=None) as batch_op:
        batch_op.drop_index('ix_received_event_type_case')
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_trigger_at')
        batch_op.drop_index('ix_obligation_updated_at')


def _create_rollup_tables() -> None:
    op.create_table('oversight_obligation_count',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('trigger_month', sa.String(length=7), nullable=False),
    sa.Column('due_month', sa.String(length=7), nullable=True),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('owner_agency_pk', sa.Integer(), nullable=True),
    sa.Column('borough', sa.String(length=100), nullable=False),
    sa.Column('offence_group', sa.String(length=32), nullable=False),
    sa.Column('enhanced', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_obligation_count'))
    )
    op.create_index('ix_oversight_obligation_count_month', 'oversight_obligation_count',
                    ['trigger_month'], unique=False)
    op.create_table('oversight_duration_count',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('trigger_month', sa.String(length=7), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('tenths', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_duration_count'))
    )
    op.create_index('ix_oversight_duration_count_month', 'oversight_duration_count',
                    ['trigger_month'], unique=False)
    op.create_table('oversight_notification_count',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_notification_count'))
    )
    op.create_table('oversight_rollup_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('watermark', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refreshed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('full_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oversight_rollup_state'))
    )


def _drop_rollup_tables() -> None:
    op.drop_table('oversight_rollup_state')
    op.drop_table('oversight_notification_count')
    op.drop_index('ix_oversight_duration_count_month', table_name='oversight_duration_count')
    op.drop_table('oversight_duration_count')
    op.drop_index('ix_oversight_obligation_count_month', table_name='oversight_obligation_count')
    op.drop_table('oversight_obligation_count')
