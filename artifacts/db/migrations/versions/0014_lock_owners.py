"""Owners of locks and upload reservations

A lock or an upload's quota reservation held by a process that died used
to stay until its lease ran out (30 s for a lock, 120 s for a
reservation), even when the process was on this host and provably dead.
Both now record the process's instance id (``artifacts.instance``), so a
restarting server (and the next acquirer of a lock) releases those of
this host's dead processes at once; other hosts' still expire with their
lease.  Existing rows have no owner: only their lease applies.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('artifact_locks', 'upload_reservations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('owner', sa.String(length=64),
                                          nullable=True))


def downgrade():
    for table in ('artifact_locks', 'upload_reservations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('owner')
