"""Decision 148's third level: a product's phân nhóm

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 16:00:00.000000

Stored products keep their group and nhóm (the codes did not change); their phân nhóm is not known and stays
empty, so a re-evaluation asks it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_code', sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_column('category_code')
