"""project published at

Revision ID: 8b1e4d2c7a53
Revises: 5b8e2d4c7a19
Create Date: 2026-12-07 06:00:00

When a project's specialists made its dashboard public (approved figures, closed evaluations'
results, the public IATI file). NULL: members only, the default.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8b1e4d2c7a53'
down_revision = "5b8e2d4c7a19"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('published_at')
