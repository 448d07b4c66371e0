"""notification update reminders ("no news is not forgotten")

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('update_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=False),
    sa.Column('victim_pk', sa.Integer(), nullable=False),
    sa.Column('obligation_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
              nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_pk'], ['case.id'],
                            name=op.f('fk_update_reminder_case_pk_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['obligation_pk'], ['obligation.id'],
                            name=op.f('fk_update_reminder_obligation_pk_obligation'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['victim_pk'], ['victim.id'],
                            name=op.f('fk_update_reminder_victim_pk_victim'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_update_reminder')),
    sa.UniqueConstraint('obligation_pk', 'number',
                        name=op.f('uq_update_reminder_obligation_pk_number'))
    )
    with op.batch_alter_table('update_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_update_reminder_case_pk'), ['case_pk'], unique=False)
        batch_op.create_index('ix_update_reminder_next', ['obligation_pk', 'next_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('update_reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_update_reminder_next')
        batch_op.drop_index(batch_op.f('ix_update_reminder_case_pk'))
    op.drop_table('update_reminder')
