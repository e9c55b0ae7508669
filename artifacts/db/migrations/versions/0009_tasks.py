"""Tasks: durable records of asynchronous work (imports) and its outcome

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def upgrade():
    op.create_table(
        'tasks',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=30), nullable=False),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('owner', sa.String(length=255), nullable=True),
        sa.Column('artifact_id', sa.String(length=36), nullable=True),
        sa.Column('type_name', sa.String(length=64), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('user_id', sa.String(length=64), nullable=True),
        sa.Column('input', sa.Text(), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('handler', sa.String(length=64), nullable=True),
        sa.Column('holder', sa.String(length=64), nullable=True),
        sa.Column('heartbeat_at', TIMESTAMP, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('expires_at', TIMESTAMP, nullable=True),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_status_heartbeat_at'),
                              ['status', 'heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_owner_created_at'),
                              ['owner', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_created_at'),
                              ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_artifact_id'),
                              ['artifact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_expires_at'),
                              ['expires_at'], unique=False)


def downgrade():
    op.drop_table('tasks')
