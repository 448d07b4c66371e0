"""staff console and audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# The audit log is append-only: the database itself refuses to change or delete a row.
POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION staff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'staff_audit is append-only'; END $$""",
    """CREATE TRIGGER staff_audit_no_update BEFORE UPDATE OR DELETE ON staff_audit
       FOR EACH ROW EXECUTE FUNCTION staff_audit_append_only()""",
]
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER staff_audit_no_update BEFORE UPDATE ON staff_audit
       BEGIN SELECT RAISE(ABORT, 'staff_audit is append-only'); END""",
    """CREATE TRIGGER staff_audit_no_delete BEFORE DELETE ON staff_audit
       BEGIN SELECT RAISE(ABORT, 'staff_audit is append-only'); END""",
]


def upgrade() -> None:
    op.create_table('staff_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=512), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('roles', JSON, nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_account')),
    sa.UniqueConstraint('subject', name=op.f('uq_staff_account_subject'))
    )
    op.create_index(op.f('ix_staff_account_email'), 'staff_account', ['email'], unique=False)
    op.create_table('staff_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_pk', sa.Integer(), nullable=False),
    sa.Column('staff_email', sa.String(length=320), nullable=False),
    sa.Column('roles', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('what', sa.String(length=100), nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=True),
    sa.Column('victim_pk', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit'))
    )
    op.create_index('ix_staff_audit_account_at', 'staff_audit', ['account_pk', 'at'], unique=False)
    op.create_index('ix_staff_audit_case_at', 'staff_audit', ['case_pk', 'at'], unique=False)
    op.create_table('staff_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('account_pk', sa.Integer(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_pk'], ['staff_account.id'], name=op.f('fk_staff_session_account_pk_staff_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_session_token_hash'))
    )
    op.create_index(op.f('ix_staff_session_account_pk'), 'staff_session', ['account_pk'], unique=False)
    statements = (POSTGRES_APPEND_ONLY if op.get_bind().dialect.name == 'postgresql'
                  else SQLITE_APPEND_ONLY)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS staff_audit_no_update ON staff_audit')
        op.execute('DROP FUNCTION IF EXISTS staff_audit_append_only()')
    op.drop_index(op.f('ix_staff_session_account_pk'), table_name='staff_session')
    op.drop_table('staff_session')
    op.drop_index('ix_staff_audit_case_at', table_name='staff_audit')
    op.drop_index('ix_staff_audit_account_at', table_name='staff_audit')
    op.drop_table('staff_audit')
    op.drop_index(op.f('ix_staff_account_email'), table_name='staff_account')
    op.drop_table('staff_account')
