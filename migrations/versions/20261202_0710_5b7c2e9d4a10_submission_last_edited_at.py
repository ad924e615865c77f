"""submission last edited at

Revision ID: 5b7c2e9d4a10
Revises: 5e7f3a9c1b20
Create Date: 2026-12-02 07:00:00

"Last saved" on a report named the last editor with the time of the last change of any kind, so
a reviewer's return was credited to the author. The time the organisation's words last changed
gets its own column. Existing rows take the best time the table knows: a draft's last update, or
the last submission for anything that has left the draft state (its words cannot have changed
after that unless it was returned and edited again, when its last update is that edit).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7c2e9d4a10'
down_revision = '5e7f3a9c1b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_edited_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE submission SET last_edited_at = CASE"
        " WHEN status = 'draft' OR submitted_at IS NULL THEN updated_at"
        " WHEN status = 'returned' AND returned_at IS NOT NULL AND updated_at > returned_at THEN updated_at"
        " ELSE submitted_at END"
    )


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('last_edited_at')
