"""entitlements and outbound webhooks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = app.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('agency_request',
    sa.Column('id', BigId, nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=False),
    sa.Column('victim_pk', sa.Integer(), nullable=True),
    sa.Column('agency_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('details', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('acknowledged_at', UTC, nullable=True),
    sa.Column('completed_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['agency_pk'], ['agency.id'], name=op.f('fk_agency_request_agency_pk_agency')),
    sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_agency_request_case_pk_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['victim_pk'], ['victim.id'], name=op.f('fk_agency_request_victim_pk_victim'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_request')),
    sa.UniqueConstraint('request_id', name=op.f('uq_agency_request_request_id'))
    )
    with op.batch_alter_table('agency_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_request_agency_pk'), ['agency_pk'], unique=False)
        batch_op.create_index('ix_agency_request_case_kind', ['case_pk', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_request_victim_pk'), ['victim_pk'], unique=False)

    op.create_table('outbound_webhook',
    sa.Column('id', BigId, nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.Column('request_pk', BigId, nullable=False),
    sa.Column('agency_pk', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', UTC, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', UTC, nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('first_attempt_at', UTC, nullable=True),
    sa.Column('finished_at', UTC, nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['agency_pk'], ['agency.id'], name=op.f('fk_outbound_webhook_agency_pk_agency')),
    sa.ForeignKeyConstraint(['request_pk'], ['agency_request.id'], name=op.f('fk_outbound_webhook_request_pk_agency_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_webhook')),
    sa.UniqueConstraint('webhook_id', name=op.f('uq_outbound_webhook_webhook_id'))
    )
    with op.batch_alter_table('outbound_webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_webhook_agency_pk'), ['agency_pk'], unique=False)
        batch_op.create_index('ix_outbound_webhook_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_webhook_request_pk'), ['request_pk'], unique=False)

    op.create_table('outbound_attempt',
    sa.Column('id', BigId, nullable=False),
    sa.Column('webhook_pk', BigId, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', UTC, nullable=False),
    sa.Column('finished_at', UTC, nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['webhook_pk'], ['outbound_webhook.id'], name=op.f('fk_outbound_attempt_webhook_pk_outbound_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_attempt'))
    )
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_attempt_webhook_pk'), ['webhook_pk'], unique=False)

    op.create_table('outbound_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_pk', BigId, nullable=False),
    sa.Column('request_pk', BigId, nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('resolved_at', UTC, nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_outbound_task_case_pk_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_pk'], ['agency_request.id'], name=op.f('fk_outbound_task_request_pk_agency_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_pk'], ['outbound_webhook.id'], name=op.f('fk_outbound_task_webhook_pk_outbound_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_task')),
    sa.UniqueConstraint('webhook_pk', name=op.f('uq_outbound_task_webhook_pk'))
    )
    with op.batch_alter_table('outbound_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_task_case_pk'), ['case_pk'], unique=False)
        batch_op.create_index('ix_outbound_task_open', ['resolved_at', 'created_at'], unique=False)

    op.create_table('entitlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=False),
    sa.Column('victim_pk', sa.Integer(), nullable=False),
    sa.Column('right', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('request_pk', BigId, nullable=True),
    sa.Column('draft', JSON, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['case_pk'], ['case.id'], name=op.f('fk_entitlement_case_pk_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_pk'], ['agency_request.id'], name=op.f('fk_entitlement_request_pk_agency_request'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['victim_pk'], ['victim.id'], name=op.f('fk_entitlement_victim_pk_victim'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement')),
    sa.UniqueConstraint('victim_pk', 'right', 'key', name=op.f('uq_entitlement_victim_pk_right_key'))
    )
    with op.batch_alter_table('entitlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlement_case_pk'), ['case_pk'], unique=False)

    op.create_table('entitlement_transition',
    sa.Column('id', BigId, nullable=False),
    sa.Column('entitlement_pk', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('trigger', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('request_pk', BigId, nullable=True),
    sa.Column('at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['entitlement_pk'], ['entitlement.id'], name=op.f('fk_entitlement_transition_entitlement_pk_entitlement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_pk'], ['agency_request.id'], name=op.f('fk_entitlement_transition_request_pk_agency_request'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement_transition'))
    )
    with op.batch_alter_table('entitlement_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlement_transition_entitlement_pk'), ['entitlement_pk'], unique=False)


def downgrade() -> None:
    op.drop_table('entitlement_transition')
    op.drop_table('entitlement')
    op.drop_table('outbound_task')
    op.drop_table('outbound_attempt')
    op.drop_table('outbound_webhook')
    op.drop_table('agency_request')
