"""IATI publishing fields: sectors, country shares, planned budget, organisation types and ids

Revision ID: 4dac3d341ddf
Revises: d45d992b5d44
Create Date: 2026-12-02 06:40:00

What an IATI activity needs and the projects did not hold: the OECD DAC sectors of a project with
their shares, each country's share (NULL everywhere means an even split), the planned budget and
its currency, the donor's IATI identifier and type, and each organisation's IATI identifier and
OrganisationType code.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4dac3d341ddf'
down_revision = 'd45d992b5d44'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project_sector',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('percentage', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.CheckConstraint('length(code) = 5', name=op.f('ck_project_sector_code_five_digits')),
    sa.CheckConstraint('percentage > 0 AND percentage <= 100', name=op.f('ck_project_sector_percentage')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_sector_project_id_project')),
    sa.PrimaryKeyConstraint('project_id', 'code', name=op.f('pk_project_sector'))
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('budget_amount', sa.Numeric(precision=16, scale=2), nullable=True))
        batch_op.add_column(sa.Column('budget_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('donor_iati_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('donor_iati_type', sa.String(length=2), nullable=True))
        batch_op.create_check_constraint(
            'budget_currency', '(budget_amount IS NULL) = (budget_currency IS NULL)'
        )
        batch_op.create_check_constraint('budget_positive', 'budget_amount IS NULL OR budget_amount > 0')

    with op.batch_alter_table('project_country', schema=None) as batch_op:
        batch_op.add_column(sa.Column('percentage', sa.Numeric(precision=5, scale=2), nullable=True))
        batch_op.create_check_constraint(
            'percentage', 'percentage IS NULL OR (percentage > 0 AND percentage <= 100)'
        )

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('iati_ref', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('iati_type', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('iati_type')
        batch_op.drop_column('iati_ref')

    with op.batch_alter_table('project_country', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_project_country_percentage'), type_='check')
        batch_op.drop_column('percentage')

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_project_budget_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_project_budget_currency'), type_='check')
        batch_op.drop_column('donor_iati_type')
        batch_op.drop_column('donor_iati_ref')
        batch_op.drop_column('budget_currency')
        batch_op.drop_column('budget_amount')

    op.drop_table('project_sector')
