"""Data jobs of more than one kind: a kind and its payload

Copies into more stores were the only kind of data job; registering data
that already sits somewhere (the Image API's v2.17 location API) runs as
a job too, and needs its URL and expected digests, so every job now has a
``kind`` (existing rows: ``copy``) and a JSON ``payload``.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32),
                                      nullable=False, server_default='copy'))
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('data_jobs', schema=None) as batch_op:
        batch_op.drop_column('payload')
        batch_op.drop_column('kind')
