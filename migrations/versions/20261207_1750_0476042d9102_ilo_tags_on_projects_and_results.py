"""ILO tags on projects and results

Revision ID: 0476042d9102
Revises: 3b8e5d1f7a24
Create Date: 2026-12-07 17:50:22.912845

The ILO's own terms a project or a result serves: Decent Work Country Programme outcomes
(e.g. KEN 101), Programme and Budget outcomes (1 to 8) and SDG targets (e.g. 8.8). One row per
owner, scheme and code, indexed by (scheme, code) for the portfolio's roll-ups. New tables only:
no batch operation, so the audit_event triggers are untouched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0476042d9102'
down_revision = '3b8e5d1f7a24'
branch_labels = None
depends_on = None


def _scheme():
    return sa.Enum('dwcp', 'pb', 'sdg', name='tagscheme', native_enum=False, create_constraint=True, length=4)


def upgrade():
    op.create_table(
        'project_tag',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('scheme', _scheme(), nullable=False),
        sa.Column('code', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_tag_project_id_project')),
        sa.PrimaryKeyConstraint('project_id', 'scheme', 'code', name=op.f('pk_project_tag')),
    )
    op.create_index('ix_project_tag_scheme_code', 'project_tag', ['scheme', 'code'], unique=False)
    op.create_table(
        'result_tag',
        sa.Column('result_id', sa.Integer(), nullable=False),
        sa.Column('scheme', _scheme(), nullable=False),
        sa.Column('code', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['result_id'], ['result.id'], name=op.f('fk_result_tag_result_id_result')),
        sa.PrimaryKeyConstraint('result_id', 'scheme', 'code', name=op.f('pk_result_tag')),
    )
    op.create_index('ix_result_tag_scheme_code', 'result_tag', ['scheme', 'code'], unique=False)


def downgrade():
    op.drop_index('ix_result_tag_scheme_code', table_name='result_tag')
    op.drop_table('result_tag')
    op.drop_index('ix_project_tag_scheme_code', table_name='project_tag')
    op.drop_table('project_tag')
