"""Per-project quotas: overrides, upload reservations, per-project guards

``artifact_quotas`` holds the overrides an admin sets (``type_name`` '' is
the project's total over all types, ``value`` -1 unlimited);
``upload_reservations`` the bytes uploads in progress have reserved;
``quota_guards`` one row per project that serializes its quota decisions
(``artifacts.quotas``).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def upgrade():
    op.create_table(
        'artifact_quotas',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('type_name', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'type_name', 'name',
                                name=op.f('pk_artifact_quotas')))
    op.create_table(
        'upload_reservations',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('type_name', sa.String(length=64), nullable=False),
        sa.Column('artifact_id', sa.String(length=36), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.Column('expires_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_reservations')))
    with op.batch_alter_table('upload_reservations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_upload_reservations_project_id_expires_at'),
            ['project_id', 'expires_at'], unique=False)
    op.create_table(
        'quota_guards',
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('serial', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quota_guards')))


def downgrade():
    op.drop_table('quota_guards')
    with op.batch_alter_table('upload_reservations', schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f('ix_upload_reservations_project_id_expires_at'))
    op.drop_table('upload_reservations')
    op.drop_table('artifact_quotas')
