"""A store write's detail: what its driver needs besides the key to remove
a half-written object

An S3 multipart upload is found again only by listing the bucket's
unfinished uploads, which needs a permission (``ListBucketMultipartUploads``)
a deployment may not grant and which some S3-compatible servers answer
incompletely.  The writer records the upload's id in ``store_writes.detail``
once it starts it, so crash recovery aborts exactly that upload.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('store_writes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('store_writes', schema=None) as batch_op:
        batch_op.drop_column('detail')
