"""Communes by their official code

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 18:00:00.000000

A producer's commune was free text. Each one whose text is a commune or ward of today in the producer's province
(with or without "Xã"/"Phường", diacritics optional) gets its code and its official name; the others keep their
text, with no code, and are asked again at the next re-evaluation. Drafts are carried over the same way: a typed
commune that matches becomes its code, one that does not is forgotten so the form asks it again (the review never
submits with a hole); a broadcast draft's typed communes are forgotten too.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.communes import match_commune

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commune_code', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_producer_commune_code'), ['commune_code'], unique=False)
    producer = sa.table('producer', sa.column('id', sa.Integer()), sa.column('province_code', sa.String()),
                        sa.column('commune', sa.String()), sa.column('commune_code', sa.Integer()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(producer.c.id, producer.c.province_code, producer.c.commune)
                              .where(producer.c.commune.is_not(None))).all()
    for producer_id, province_code, name in rows:
        found = match_commune(province_code, name)
        if found is not None:
            connection.execute(producer.update().where(producer.c.id == producer_id)
                               .values(commune_code=found.code, commune=found.name))
    state = sa.table('conversation_state', sa.column('account_id', sa.Integer()), sa.column('flow', sa.String()),
                     sa.column('data', sa.JSON()))
    for account_id, flow, data in connection.execute(sa.select(state.c.account_id, state.c.flow, state.c.data)).all():
        data = dict(data or {})
        typed = data.get("commune")
        if flow in ("register", "reevaluate") and isinstance(typed, str) and not typed.isdecimal():
            found = match_commune(data.get("province_code"), typed)
            if found is not None:
                data["commune"] = str(found.code)
            else:
                del data["commune"]
        elif flow == "broadcast" and data.get("bc_communes"):
            del data["bc_communes"]
        else:
            continue
        connection.execute(state.update().where(state.c.account_id == account_id).values(data=data))


def downgrade() -> None:
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_producer_commune_code'))
        batch_op.drop_column('commune_code')
