"""edit versions

Revision ID: 5b8e2d4c7a19
Revises: 9b2e4c7d1a58
Create Date: 2026-12-07 05:30:00

An edit counter (`version`) on every record people edit in forms that had none: projects,
results, indicators, reporting periods, organisations, accounts, criteria sets, scales and
recommendations. Saving moves it on with one conditional UPDATE, so of two people saving the
same version exactly one succeeds (mel_app/locking.py). Existing rows start at 1.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e2d4c7a19'
down_revision = '9b2e4c7d1a58'
branch_labels = None
depends_on = None

TABLES = (
    "project",
    "reporting_period",
    "result",
    "indicator",
    "organisation",
    "user",
    "criteria_set",
    "scale",
    "recommendation",
)


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False)
            )


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
