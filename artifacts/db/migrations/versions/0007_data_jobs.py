"""Durable data jobs: copies into more stores that survive their worker

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'data_jobs',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('artifact_id', sa.String(length=36), nullable=False),
        sa.Column('type_name', sa.String(length=64), nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('store', sa.String(length=255), nullable=False),
        sa.Column('batch', sa.String(length=36), nullable=False),
        sa.Column('must_succeed', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=True),
        sa.Column('heartbeat_at', TIMESTAMP, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'],
                                name=op.f('fk_data_jobs_artifact_id'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_jobs')))
    with op.batch_alter_table('data_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_jobs_status_heartbeat_at'),
                              ['status', 'heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_jobs_batch'), ['batch'],
                              unique=False)


def downgrade():
    op.drop_table('data_jobs')
