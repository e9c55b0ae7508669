"""Metadata definitions catalog: Glance's six metadef tables

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
NAME = sa.String(length=80).with_variant(
    mysql.VARCHAR(length=80, collation='utf8mb4_bin'), 'mysql')


def _timestamps():
    return [sa.Column('created_at', TIMESTAMP, nullable=False),
            sa.Column('updated_at', TIMESTAMP, nullable=True)]


def _namespace_fk(table):
    return sa.ForeignKeyConstraint(
        ['namespace_id'], ['metadef_namespaces.id'],
        name=op.f('fk_%s_namespace_id' % table), ondelete='CASCADE')


def upgrade():
    op.create_table(
        'metadef_namespaces',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace', NAME, nullable=False),
        sa.Column('display_name', sa.String(length=80), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('visibility', sa.String(length=32), nullable=True),
        sa.Column('protected', sa.Boolean(), nullable=True),
        sa.Column('owner', sa.String(length=255), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metadef_namespaces')),
        sa.UniqueConstraint('namespace',
                            name=op.f('uq_metadef_namespaces_namespace')))
    op.create_index(op.f('ix_metadef_namespaces_owner'),
                    'metadef_namespaces', ['owner'])
    op.create_index(op.f('ix_metadef_namespaces_created_at_id'),
                    'metadef_namespaces', ['created_at', 'id'])

    op.create_table(
        'metadef_resource_types',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', NAME, nullable=False),
        sa.Column('protected', sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metadef_resource_types')),
        sa.UniqueConstraint('name',
                            name=op.f('uq_metadef_resource_types_name')))

    op.create_table(
        'metadef_objects',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('name', NAME, nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('required', sa.Text(), nullable=True),
        sa.Column('json_schema', sa.Text(), nullable=False),
        *_timestamps(),
        _namespace_fk('metadef_objects'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metadef_objects')),
        sa.UniqueConstraint('namespace_id', 'name',
                            name=op.f('uq_metadef_objects_namespace_id_name')))

    op.create_table(
        'metadef_properties',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('name', NAME, nullable=False),
        sa.Column('json_schema', sa.Text(), nullable=False),
        *_timestamps(),
        _namespace_fk('metadef_properties'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metadef_properties')),
        sa.UniqueConstraint(
            'namespace_id', 'name',
            name=op.f('uq_metadef_properties_namespace_id_name')))

    op.create_table(
        'metadef_tags',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('name', NAME, nullable=False),
        *_timestamps(),
        _namespace_fk('metadef_tags'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metadef_tags')),
        sa.UniqueConstraint('namespace_id', 'name',
                            name=op.f('uq_metadef_tags_namespace_id_name')))

    op.create_table(
        'metadef_namespace_resource_types',
        sa.Column('resource_type_id', sa.Integer(), nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('properties_target', sa.String(length=80), nullable=True),
        sa.Column('prefix', sa.String(length=80), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ['resource_type_id'], ['metadef_resource_types.id'],
            name=op.f('fk_metadef_namespace_resource_types_'
                      'resource_type_id')),
        _namespace_fk('metadef_namespace_resource_types'),
        sa.PrimaryKeyConstraint(
            'resource_type_id', 'namespace_id',
            name=op.f('pk_metadef_namespace_resource_types')))
    op.create_index(
        op.f('ix_metadef_namespace_resource_types_namespace_id'),
        'metadef_namespace_resource_types', ['namespace_id'])


def downgrade():
    for table in ('metadef_namespace_resource_types', 'metadef_tags',
                  'metadef_properties', 'metadef_objects',
                  'metadef_resource_types', 'metadef_namespaces'):
        op.drop_table(table)
