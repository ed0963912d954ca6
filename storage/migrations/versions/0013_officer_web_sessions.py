"""officer_session: an officer's sign-in on the web chat, opened with a one-time code, with an end

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'officer_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['chat_account.id']),
        sa.ForeignKeyConstraint(['officer_id'], ['officer.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('officer_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_session_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_officer_session_officer_id'), ['officer_id'], unique=False)


    if op.get_bind().dialect.name == "postgresql":
        # 0009 made this a timestamp without time zone, unlike every other time here (SQLite stores both alike).
        op.alter_column('sender_replica', 'seen_at', type_=sqlmodel.sql.sqltypes.UTCDateTime(),
                        postgresql_using="seen_at AT TIME ZONE 'UTC'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('sender_replica', 'seen_at', type_=sa.DateTime(), postgresql_using="seen_at AT TIME ZONE 'UTC'")
    op.drop_table('officer_session')
