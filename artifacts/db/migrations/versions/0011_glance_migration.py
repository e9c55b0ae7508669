"""What `glare migrate-from-glance` brought over, per Glance image

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def upgrade():
    op.create_table(
        'glance_migration',
        sa.Column('image_id', sa.String(length=36), nullable=False),
        sa.Column('stamp', sa.String(length=40), nullable=False),
        sa.Column('copied_store', sa.String(length=255), nullable=True),
        sa.Column('copied_url', sa.Text(), nullable=True),
        sa.Column('copied_digest', sa.String(length=200), nullable=True),
        sa.Column('migrated_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('image_id', name=op.f('pk_glance_migration')))


def downgrade():
    op.drop_table('glance_migration')
