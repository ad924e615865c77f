"""the notification of an invitation to a selection round

Revision ID: e41c7b9d0a23
Revises: 4e7a2c9d1b83
Create Date: 2026-12-07 21:30:00

A person invited to a selection round of change stories is told (`round_invited`, a new kind of
notification each person may choose how to receive).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e41c7b9d0a23'
down_revision = '4e7a2c9d1b83'
branch_labels = None
depends_on = None

OLD_KINDS = (
    'submission_submitted', 'submission_returned', 'submission_approved', 'submission_reopened',
    'comment_shared', 'design_responses', 'scorecard_invited', 'scorecard_reopened',
    'evaluation_closed', 'recommendation_added', 'recommendation_addressed', 'response_due', 'report_due',
    'scorecard_due', 'review_digest',
)
NEW_KINDS = OLD_KINDS[:11] + ('round_invited',) + OLD_KINDS[11:]


def _kind(kinds):
    return sa.Enum(*kinds, name='notificationkind', native_enum=False, length=40, create_constraint=True)


def _change_kinds(old, new):
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in ('notification', 'notification_preference'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if sqlite:
                # The enum's own CHECK, dropped by name: batch mode would copy it into the rebuilt
                # table. Elsewhere changing the type drops it.
                batch_op.drop_constraint(op.f(f'ck_{table}_notificationkind'), type_='check')
            batch_op.alter_column('kind', existing_type=_kind(old), type_=_kind(new), existing_nullable=False)


def upgrade():
    _change_kinds(OLD_KINDS, NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM notification WHERE kind = 'round_invited'")
    op.execute("DELETE FROM notification_preference WHERE kind = 'round_invited'")
    _change_kinds(NEW_KINDS, OLD_KINDS)
