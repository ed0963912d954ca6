"""sender_replica: instances that send for the bot, so they can share the platforms' limits

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 21:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sender_replica',
                    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
                    sa.Column('seen_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('worker'))
    op.create_index(op.f('ix_sender_replica_seen_at'), 'sender_replica', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sender_replica_seen_at'), table_name='sender_replica')
    op.drop_table('sender_replica')
