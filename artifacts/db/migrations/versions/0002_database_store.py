"""database blob store: store_objects and store_chunks

Tables of the "database" blob store (``artifacts.stores.database``): one row
per stored object, its bytes in chunk rows.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('store_objects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('slot', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('chunk_size', sa.Integer(), nullable=False),
    sa.Column('committed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_objects')),
    sa.UniqueConstraint('slot', name=op.f('uq_store_objects_slot')),
    # Object ids (locations) are never reused on SQLite either.
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('store_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_objects_committed_updated_at'), ['committed', 'updated_at'], unique=False)

    op.create_table('store_chunks',
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['object_id'], ['store_objects.id'], name=op.f('fk_store_chunks_object_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('object_id', 'seq', name=op.f('pk_store_chunks'))
    )


def downgrade():
    op.drop_table('store_chunks')
    with op.batch_alter_table('store_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_objects_committed_updated_at'))
    op.drop_table('store_objects')
