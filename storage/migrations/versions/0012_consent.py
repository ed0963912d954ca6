"""chat_account: when the person agreed to the personal-data notice, and which version

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consented_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.drop_column('consent_version')
        batch_op.drop_column('consented_at')
