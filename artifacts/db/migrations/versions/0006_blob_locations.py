"""Blob locations: a blob's data may sit in several places at once

Moves ``artifact_blobs.store/location/location_metadata`` into rows of the
new ``blob_locations`` table (one per existing located blob, position 0,
``active`` for a live blob, ``pending_delete`` for one waiting for the
scrubber), then drops the three columns.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'blob_locations',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('blob_id', ID, nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('store', sa.String(length=255), nullable=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('meta_data', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(['blob_id'], ['artifact_blobs.id'],
                                name=op.f('fk_blob_locations_blob_id'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blob_locations')))
    with op.batch_alter_table('blob_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blob_locations_blob_id_position'),
                              ['blob_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_blob_locations_status'),
                              ['status'], unique=False)
    op.execute(
        "INSERT INTO blob_locations (blob_id, position, store, url, "
        "meta_data, status, created_at, updated_at) "
        "SELECT id, 0, store, location, location_metadata, "
        "CASE WHEN status = 'pending_delete' THEN 'pending_delete' "
        "ELSE 'active' END, created_at, updated_at "
        "FROM artifact_blobs WHERE location IS NOT NULL")
    with op.batch_alter_table('artifact_blobs', schema=None) as batch_op:
        batch_op.drop_column('store')
        batch_op.drop_column('location')
        batch_op.drop_column('location_metadata')


def downgrade():
    with op.batch_alter_table('artifact_blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store', sa.String(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column('location', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('location_metadata', sa.Text(),
                                      nullable=False, server_default='{}'))
    # The first location of each blob becomes its only one again.
    op.execute(
        "UPDATE artifact_blobs SET "
        "store = (SELECT l.store FROM blob_locations l WHERE l.blob_id = "
        "artifact_blobs.id ORDER BY l.position, l.id LIMIT 1), "
        "location = (SELECT l.url FROM blob_locations l WHERE l.blob_id = "
        "artifact_blobs.id ORDER BY l.position, l.id LIMIT 1)")
    op.drop_table('blob_locations')
