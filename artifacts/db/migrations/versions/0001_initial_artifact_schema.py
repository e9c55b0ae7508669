"""initial artifact schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('artifacts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('type_name', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('version_major', sa.Integer(), nullable=False),
    sa.Column('version_minor', sa.Integer(), nullable=False),
    sa.Column('version_patch', sa.Integer(), nullable=False),
    sa.Column('version_prerelease', sa.String(length=255), nullable=False),
    sa.Column('version_build', sa.String(length=255), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('deleted_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifacts'))
    )
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifacts_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifacts_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifacts_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifacts_type_name_deleted_created_at_id'), ['type_name', 'deleted', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifacts_updated_at'), ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifacts_visibility'), ['visibility'], unique=False)

    op.create_table('artifact_blobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('artifact_id', sa.String(length=36), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('md5', sa.String(length=32), nullable=True),
    sa.Column('sha1', sa.String(length=40), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('sha512', sa.String(length=128), nullable=True),
    sa.Column('store', sa.String(length=255), nullable=True),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('location_metadata', sa.Text(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], name=op.f('fk_artifact_blobs_artifact_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact_blobs')),
    sa.UniqueConstraint('artifact_id', 'slot', name=op.f('uq_artifact_blobs_artifact_id_slot'))
    )
    with op.batch_alter_table('artifact_blobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_blobs_status'), ['status'], unique=False)

    op.create_table('artifact_members',
    sa.Column('artifact_id', sa.String(length=36), nullable=False),
    sa.Column('member', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], name=op.f('fk_artifact_members_artifact_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('artifact_id', 'member', name=op.f('pk_artifact_members'))
    )
    with op.batch_alter_table('artifact_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_members_member_status'), ['member', 'status'], unique=False)

    op.create_table('artifact_properties',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('artifact_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=255), nullable=False),
    sa.Column('string_value', sa.String(length=255), nullable=True),
    sa.Column('text_value', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('int_value', sa.BigInteger(), nullable=True),
    sa.Column('numeric_value', sa.Double(), nullable=True),
    sa.Column('bool_value', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], name=op.f('fk_artifact_properties_artifact_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact_properties')),
    sa.UniqueConstraint('artifact_id', 'name', 'position', 'item_key', name=op.f('uq_artifact_properties_artifact_id_name_position_item_key'))
    )
    with op.batch_alter_table('artifact_properties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_properties_name_int_value'), ['name', 'int_value'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifact_properties_name_string_value'), ['name', 'string_value'], unique=False)

    op.create_table('artifact_tags',
    sa.Column('artifact_id', sa.String(length=36), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], name=op.f('fk_artifact_tags_artifact_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('artifact_id', 'value', name=op.f('pk_artifact_tags'))
    )
    with op.batch_alter_table('artifact_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_tags_value'), ['value'], unique=False)

