"""compliance requirements and unscheduled briefings

Revision ID: 825353a31819
Revises: 5319a63d6d83
Create Date: 2026-11-25 19:59:54.075081

"""
from alembic import op
import sqlalchemy as sa

import lms.core.model


# revision identifiers, used by Alembic.
revision = '825353a31819'
down_revision = '5319a63d6d83'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('job_title', sa.String(length=200), nullable=True),
    sa.Column('interval_months', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.model.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('interval_months IS NULL OR (interval_months BETWEEN 1 AND 120)', name=op.f('ck_requirements_interval_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_requirements_created_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_requirements_department_id_departments')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_requirements_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requirements'))
    )
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requirements_program_id'), ['program_id'], unique=False)

    op.create_table('unscheduled_briefings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('triggered_by_id', sa.Integer(), nullable=True),
    sa.Column('triggered_at', lms.core.model.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.model.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('due_on >= since', name=op.f('ck_unscheduled_briefings_due_after_since')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_unscheduled_briefings_department_id_departments')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_unscheduled_briefings_program_id_programs')),
    sa.ForeignKeyConstraint(['triggered_by_id'], ['users.id'], name=op.f('fk_unscheduled_briefings_triggered_by_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['program_versions.id'], name=op.f('fk_unscheduled_briefings_version_id_program_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unscheduled_briefings'))
    )
    with op.batch_alter_table('unscheduled_briefings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unscheduled_briefings_program_id'), ['program_id'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table('unscheduled_briefings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unscheduled_briefings_program_id'))

    op.drop_table('unscheduled_briefings')
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requirements_program_id'))

    op.drop_table('requirements')
