"""Sortable versions and the database-enforced (type, owner, name, version)
uniqueness of versioned artifacts.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'version_sort',
            sa.String(length=300).with_variant(
                mysql.VARCHAR(300, collation='utf8mb4_bin'), 'mysql'),
            nullable=False, server_default=''))
        batch_op.add_column(sa.Column('unique_key', sa.String(length=64),
                                      nullable=True))
        batch_op.create_index(
            batch_op.f('ix_artifacts_type_name_name_version_sort'),
            ['type_name', 'name', 'version_sort'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_artifacts_type_name_deleted_version_sort'),
            ['type_name', 'deleted', 'version_sort'], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_artifacts_unique_key'), ['unique_key'])
