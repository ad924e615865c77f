"""outcome substantiation

Revision ID: 4e7a2c9d1b83
Revises: ba7743774270
Create Date: 2026-12-07 21:10:00.000000

Substantiation of outcome statements: a person without an account is asked by e-mail whether they
agree with a statement and answers through a single-use link (its token kept only as a SHA-256).
A new table only: no batch operation, so the audit_event triggers are untouched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e7a2c9d1b83'
down_revision = 'ba7743774270'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outcome_substantiation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outcome_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            'verdict',
            sa.Enum('fully', 'partly', 'not', name='substantiationverdict', native_enum=False,
                    create_constraint=True, length=10),
            nullable=True,
        ),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['outcome_id'], ['outcome_statement.id'], name=op.f('fk_outcome_substantiation_outcome_id_outcome_statement')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_outcome_substantiation_requested_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_substantiation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_outcome_substantiation_token_hash')),
    )
    op.create_index('ix_outcome_substantiation_outcome_email', 'outcome_substantiation', ['outcome_id', 'email'], unique=False)
    op.create_index(op.f('ix_outcome_substantiation_requested_by_id'), 'outcome_substantiation', ['requested_by_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_outcome_substantiation_requested_by_id'), table_name='outcome_substantiation')
    op.drop_index('ix_outcome_substantiation_outcome_email', table_name='outcome_substantiation')
    op.drop_table('outcome_substantiation')
