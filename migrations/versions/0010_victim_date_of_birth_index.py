"""index victim records by date of birth (the portal's sign-in and case list read by it)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_victim_date_of_birth', 'victim', ['date_of_birth'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_victim_date_of_birth', table_name='victim')
