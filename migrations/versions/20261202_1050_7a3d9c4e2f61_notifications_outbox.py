"""notifications, preferences and the outgoing-mail outbox

Revision ID: 7a3d9c4e2f61
Revises: 7d3f1a2b9c45
Create Date: 2026-12-02 10:40:00

Notifications shown in the app, each person's choice per kind of notification (immediately, in a
daily digest, or not at all), the outbox the background worker delivers over SMTP, and the days
before a report's due date each project's reporters are reminded.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a3d9c4e2f61'
down_revision = '7d3f1a2b9c45'
branch_labels = None
depends_on = None

KINDS = (
    'submission_submitted', 'submission_returned', 'submission_approved', 'submission_reopened',
    'comment_shared', 'design_responses', 'scorecard_invited', 'scorecard_reopened',
    'evaluation_closed', 'recommendation_added', 'response_due', 'report_due', 'scorecard_due', 'review_digest',
)


def _kind(name):
    return sa.Enum(*KINDS, name=name, native_enum=False, length=40, create_constraint=True)


def upgrade():
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind('notificationkind'), nullable=False),
        sa.Column('event_key', sa.String(length=200), nullable=False),
        sa.Column('subject_type', sa.String(length=40), nullable=True),
        sa.Column('subject_id', sa.String(length=40), nullable=True),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('digest_pending', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_notification_recipient_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
        sa.UniqueConstraint('recipient_id', 'event_key', name=op.f('uq_notification_recipient_id_event_key')),
    )
    op.create_index('ix_notification_recipient_read', 'notification', ['recipient_id', 'read_at'])
    op.create_index(op.f('ix_notification_digest_pending'), 'notification', ['digest_pending'])

    op.create_table(
        'notification_preference',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind('notificationkind'), nullable=False),
        sa.Column(
            'mode',
            sa.Enum('immediate', 'digest', 'off', name='deliverymode', native_enum=False, length=10,
                    create_constraint=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_preference_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preference_user_id_kind')),
    )
    op.create_index(op.f('ix_notification_preference_user_id'), 'notification_preference', ['user_id'])

    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('subject', sa.String(length=500), nullable=False),
        sa.Column('text_body', sa.Text(), nullable=False),
        sa.Column('html_body', sa.Text(), nullable=False),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column(
            'status',
            sa.Enum('queued', 'sending', 'sent', 'failed', name='outboxstatus', native_enum=False,
                    length=10, create_constraint=True),
            nullable=False,
        ),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_outbox_message_recipient_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_message_idempotency_key')),
    )
    op.create_index('ix_outbox_message_due', 'outbox_message', ['status', 'next_attempt_at'])
    op.create_index(op.f('ix_outbox_message_claimed_by'), 'outbox_message', ['claimed_by'])
    op.create_index(op.f('ix_outbox_message_created_at'), 'outbox_message', ['created_at'])
    op.create_index(op.f('ix_outbox_message_recipient_id'), 'outbox_message', ['recipient_id'])

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_reminder_days', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('report_reminder_days')
    op.drop_table('outbox_message')
    op.drop_table('notification_preference')
    op.drop_table('notification')
