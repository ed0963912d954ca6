"""Results as councils record them: mandatory criteria, the council's note, 4★ "tiềm năng 5★" certificates

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 22:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mandatory_met', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('result_note', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('potential_five', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('potential_five')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('result_note')
        batch_op.drop_column('mandatory_met')
