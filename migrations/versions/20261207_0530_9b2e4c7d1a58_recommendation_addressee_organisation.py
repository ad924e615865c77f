"""a recommendation's addressee organisation; its notification kind

Revision ID: 9b2e4c7d1a58
Revises: 7a3d9c4e2f61
Create Date: 2026-12-07 05:30:00

A recommendation may be addressed to one of the project's partner organisations, beside the free
text kept for others ("ILO", "donor"); that organisation's reporters are told of it
(`recommendation_addressed`, a new kind of notification each person may choose how to receive).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b2e4c7d1a58'
down_revision = '7a3d9c4e2f61'
branch_labels = None
depends_on = None

OLD_KINDS = (
    'submission_submitted', 'submission_returned', 'submission_approved', 'submission_reopened',
    'comment_shared', 'design_responses', 'scorecard_invited', 'scorecard_reopened',
    'evaluation_closed', 'recommendation_added', 'response_due', 'report_due', 'scorecard_due', 'review_digest',
)
NEW_KINDS = OLD_KINDS[:10] + ('recommendation_addressed',) + OLD_KINDS[10:]


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
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('addressed_organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_recommendation_addressed_organisation_id'), ['addressed_organisation_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_recommendation_addressed_organisation_id_organisation'),
            'organisation',
            ['addressed_organisation_id'],
            ['id'],
        )
    _change_kinds(OLD_KINDS, NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM notification WHERE kind = 'recommendation_addressed'")
    op.execute("DELETE FROM notification_preference WHERE kind = 'recommendation_addressed'")
    _change_kinds(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table('recommendation', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_recommendation_addressed_organisation_id_organisation'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_recommendation_addressed_organisation_id'))
        batch_op.drop_column('addressed_organisation_id')
