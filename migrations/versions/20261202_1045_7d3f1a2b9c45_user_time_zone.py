"""user time zone

Revision ID: 7d3f1a2b9c45
Revises: 7c4e1a2b9d36
Create Date: 2026-12-02 10:30:00

Each user's time zone (an IANA name such as Africa/Nairobi), used for every time the app shows
them and every e-mail it sends them. Empty until chosen: the configured default applies.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3f1a2b9c45'
down_revision = "7c4e1a2b9d36"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
