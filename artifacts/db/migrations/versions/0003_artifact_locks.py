"""artifact_locks: database-held leases that serialize work on one artifact

One row per held lock (``artifacts.locking``): the sha256 of the logical
key, the holder (one uuid per acquisition), when it was taken, when its
lease expires, and the operation holding it (for the 409 message).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('artifact_locks',
    sa.Column('lock_key', sa.String(length=255), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('acquired_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('expires_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('lock_key', name=op.f('pk_artifact_locks'))
    )
    with op.batch_alter_table('artifact_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_locks_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('artifact_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_locks_expires_at'))
    op.drop_table('artifact_locks')
