"""chat_account: the province whose trainings and fairs a person not linked to a producer browses

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browse_province', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.drop_column('browse_province')
