"""index what the portal looks up on every case page: victims and representatives by their
address in lower case (the proven grant), portal actions by session

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

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


def upgrade() -> None:
    # CREATE INDEX needs no table rebuild on SQLite (no batch mode).
    for name, table, column in _LOWER:
        op.create_index(name, table, [sa.text(f'lower({column})')], unique=False)
    op.create_index('ix_portal_action_session_pk', 'portal_action', ['session_pk'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_portal_action_session_pk', table_name='portal_action')
    for name, table, _column in reversed(_LOWER):
        op.drop_index(name, table_name=table)
