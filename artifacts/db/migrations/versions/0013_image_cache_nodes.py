"""The shared record of which node caches which image

Glance 33's default image cache driver (centralized_db) keeps, in the
database, which node (its worker_self_reference_url) caches which image,
so that GET /v2/cache/nodes/{image_id} names them all; Glare records the
same in image_cache_nodes (artifacts/cache_nodes.py).

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade():
    op.create_table(
        'image_cache_nodes',
        sa.Column('image_id', sa.String(length=36), nullable=False),
        sa.Column('node_url', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('cached_at', Timestamp, nullable=False),
        sa.PrimaryKeyConstraint('image_id', 'node_url',
                                name=op.f('pk_image_cache_nodes')))
    with op.batch_alter_table('image_cache_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_cache_nodes_node_url'),
                              ['node_url'], unique=False)


def downgrade():
    with op.batch_alter_table('image_cache_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_cache_nodes_node_url'))
    op.drop_table('image_cache_nodes')
