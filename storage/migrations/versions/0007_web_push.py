"""web push subscriptions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:05:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_push_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('p256dh', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('auth', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['chat_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('endpoint')
    )
    with op.batch_alter_table('web_push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_push_subscription_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_push_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_push_subscription_account_id'))
    op.drop_table('web_push_subscription')
