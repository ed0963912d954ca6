"""Dossier documents carry when they came; a product photo never sent is recorded as skipped

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('application_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Rows from before this revision came with their application (supplements cannot be told apart any more).
    op.execute("UPDATE application_document SET added_at = (SELECT COALESCE(a.submitted_at, a.created_at) "
               "FROM application a WHERE a.id = application_document.application_id)")
    with op.batch_alter_table('application_document', schema=None) as batch_op:
        batch_op.alter_column('added_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
    # A registration without photos used to record the photo as uploaded, with no file.
    op.execute("UPDATE application_document SET delivery = 'skipped' "
               "WHERE doc_code = 'product-photo' AND delivery = 'upload' AND file_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('application_document', schema=None) as batch_op:
        batch_op.drop_column('added_at')
