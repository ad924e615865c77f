"""draft stash

Revision ID: 7c4e1a2b9d36
Revises: 5b7c2e9d4a10
Create Date: 2026-12-02 10:40:00

A report saved after the sender's session had expired was lost at the sign-in page. The posted
text is now kept, for a short while, in a table of its own until the same user signs in again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c4e1a2b9d36'
down_revision = '5b7c2e9d4a10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'draft_stash',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('had_files', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_draft_stash_submission_id_submission'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_draft_stash_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_stash')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_draft_stash_token_hash')),
    )
    with op.batch_alter_table('draft_stash', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_stash_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_draft_stash_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draft_stash_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('draft_stash', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_stash_user_id'))
        batch_op.drop_index(batch_op.f('ix_draft_stash_submission_id'))
        batch_op.drop_index(batch_op.f('ix_draft_stash_expires_at'))
    op.drop_table('draft_stash')
