"""Uploads with an owner that can be proven dead, and store writes recorded
before their first byte

Adds ``artifact_blobs.holder`` (the instance id of the process holding a
``saving`` claim) and the ``store_writes`` table (store and key of data
being written, so that an interrupted write's data can always be found and
removed).

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('artifact_blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', sa.String(length=64),
                                      nullable=True))
    op.create_table(
        'store_writes',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('store', sa.String(length=255), nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('artifact_id', sa.String(length=36), nullable=True),
        sa.Column('holder', sa.String(length=64), nullable=True),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_writes')))
    with op.batch_alter_table('store_writes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_writes_holder'),
                              ['holder'], unique=False)
        batch_op.create_index(batch_op.f('ix_store_writes_updated_at'),
                              ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_store_writes_artifact_id'),
                              ['artifact_id'], unique=False)


def downgrade():
    op.drop_table('store_writes')
    with op.batch_alter_table('artifact_blobs', schema=None) as batch_op:
        batch_op.drop_column('holder')
