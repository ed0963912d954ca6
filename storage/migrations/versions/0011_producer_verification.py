"""producer: verified or only claimed in chat; a tax code is unique among verified producers only

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.text import fold

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFIED = sa.text("verified_at IS NOT NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # 0001 made the unique constraint without a name; SQLite's batch copy finds it by this convention.
    convention = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
    with op.batch_alter_table('producer', naming_convention=convention if sqlite else None) as batch_op:
        batch_op.add_column(sa.Column('verified_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('verified_how', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('name_folded', sa.String(length=200), nullable=False, server_default=''))
        batch_op.drop_constraint('uq_producer_tax_code' if sqlite else 'producer_tax_code_key', type_='unique')
        batch_op.create_index('ix_producer_tax_code', ['tax_code'], unique=False)
        batch_op.create_index('ix_producer_name_folded', ['name_folded'], unique=False)
    producer = sa.table('producer', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('name_folded', sa.String))
    bind = op.get_bind()
    for producer_id, name in bind.execute(sa.select(producer.c.id, producer.c.name)).all():
        bind.execute(producer.update().where(producer.c.id == producer_id).values(name_folded=fold(name)))
    # What the province's list brought in is verified; what was typed in chat is a claim until checked.
    op.execute("UPDATE producer SET verified_at = created_at, verified_how = 'import' WHERE id IN "
               "(SELECT producer_id FROM application WHERE kind = 'imported')")
    op.create_index('uq_producer_verified_tax_code', 'producer', ['tax_code'], unique=True,
                    sqlite_where=VERIFIED, postgresql_where=VERIFIED)


def downgrade() -> None:
    op.drop_index('uq_producer_verified_tax_code', table_name='producer')
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.drop_index('ix_producer_name_folded')
        batch_op.drop_column('name_folded')
        batch_op.drop_index('ix_producer_tax_code')
        batch_op.drop_column('verified_how')
        batch_op.drop_column('verified_at')
        batch_op.create_unique_constraint('producer_tax_code_key', ['tax_code'])
