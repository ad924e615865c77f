"""outcome statements

Revision ID: 6c3f1a9e2b47
Revises: 0476042d9102
Create Date: 2026-12-07 19:00:00.000000

Outcome harvesting: a project's outcome statements and the partner organisations that contributed
to each. New tables only: no batch operation, so the audit_event triggers are untouched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c3f1a9e2b47'
down_revision = '0476042d9102'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outcome_statement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('social_actor', sa.String(length=300), nullable=False),
        sa.Column('change', sa.Text(), nullable=False),
        sa.Column('changed_on', sa.Date(), nullable=False),
        sa.Column('month_only', sa.Boolean(), nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.Column('significance', sa.Text(), nullable=False),
        sa.Column('contribution', sa.Text(), nullable=False),
        sa.Column('result_id', sa.Integer(), nullable=True),
        sa.Column('unexpected', sa.Boolean(), nullable=False),
        sa.Column('negative', sa.Boolean(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_outcome_statement_project_id_project')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_outcome_statement_recorded_by_id_user')),
        sa.ForeignKeyConstraint(
            ['result_id', 'project_id'], ['result.id', 'result.project_id'], name='fk_outcome_statement_result_project'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_statement')),
    )
    op.create_index('ix_outcome_statement_project_changed', 'outcome_statement', ['project_id', 'changed_on'], unique=False)
    op.create_index(op.f('ix_outcome_statement_recorded_by_id'), 'outcome_statement', ['recorded_by_id'], unique=False)
    op.create_index(op.f('ix_outcome_statement_result_id'), 'outcome_statement', ['result_id'], unique=False)
    op.create_table(
        'outcome_contributor',
        sa.Column('outcome_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_outcome_contributor_organisation_id_organisation')),
        sa.ForeignKeyConstraint(['outcome_id'], ['outcome_statement.id'], name=op.f('fk_outcome_contributor_outcome_id_outcome_statement')),
        sa.PrimaryKeyConstraint('outcome_id', 'organisation_id', name=op.f('pk_outcome_contributor')),
    )
    op.create_index(op.f('ix_outcome_contributor_organisation_id'), 'outcome_contributor', ['organisation_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outcome_contributor_organisation_id'), table_name='outcome_contributor')
    op.drop_table('outcome_contributor')
    op.drop_index(op.f('ix_outcome_statement_result_id'), table_name='outcome_statement')
    op.drop_index(op.f('ix_outcome_statement_recorded_by_id'), table_name='outcome_statement')
    op.drop_index('ix_outcome_statement_project_changed', table_name='outcome_statement')
    op.drop_table('outcome_statement')
