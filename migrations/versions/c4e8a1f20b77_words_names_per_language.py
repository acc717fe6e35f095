"""Every word in the reader's language: names per language for departments and job titles

Revision ID: c4e8a1f20b77
Revises: e9806b4dbc3c
Create Date: 2026-12-03 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f20b77'
down_revision = 'e9806b4dbc3c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names', sa.JSON(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_titles', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('job_titles')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('names')
