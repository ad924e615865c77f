"""indicator aggregation: how a period's figure is made from the organisations' reports

Revision ID: 5e7f3a9c1b20
Revises: 4dac3d341ddf
Create Date: 2026-12-02 07:00:00

Every indicator states how the approved values of several organisations for one period make the
project's figure (sum, mean, the responsible organisation's value, yes when all or any say yes, or
the answers listed for qualitative indicators). Existing indicators get their measure's default;
before this, the project page and the downloads each applied a rule of their own.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7f3a9c1b20'
down_revision = '4dac3d341ddf'
branch_labels = None
depends_on = None

AGGREGATION = sa.Enum(
    'sum', 'mean', 'responsible', 'all_yes', 'any_yes', 'listed',
    name='aggregation', native_enum=False, create_constraint=True, length=20,
)


def upgrade():
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aggregation', AGGREGATION, nullable=True))
    op.execute(
        "UPDATE indicator SET aggregation = CASE measure"
        " WHEN 'number' THEN 'sum' WHEN 'percentage' THEN 'mean'"
        " WHEN 'yes_no' THEN 'all_yes' ELSE 'listed' END"
    )
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.alter_column('aggregation', existing_type=AGGREGATION, nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_indicator_aggregation_fits_measure'),
            "(measure = 'number' AND aggregation IN ('sum', 'mean', 'responsible'))"
            " OR (measure = 'percentage' AND aggregation IN ('mean', 'responsible'))"
            " OR (measure = 'yes_no' AND aggregation IN ('all_yes', 'any_yes', 'responsible'))"
            " OR (measure = 'qualitative' AND aggregation = 'listed')",
        )
        batch_op.create_check_constraint(
            op.f('ck_indicator_aggregation_responsible'),
            "aggregation <> 'responsible' OR responsible_organisation_id IS NOT NULL",
        )


def downgrade():
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_indicator_aggregation_responsible'), type_='check')
        batch_op.drop_constraint(op.f('ck_indicator_aggregation_fits_measure'), type_='check')
        # The enum's own CHECK: batch mode on SQLite would copy it into the rebuilt table.
        batch_op.drop_constraint(op.f('ck_indicator_aggregation'), type_='check')
        batch_op.drop_column('aggregation')
