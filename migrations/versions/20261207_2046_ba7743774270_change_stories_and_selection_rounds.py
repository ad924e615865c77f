"""change stories and selection rounds

Revision ID: ba7743774270
Revises: 6c3f1a9e2b47
Create Date: 2026-12-07 20:46:35.487296

Most Significant Change: a project's domains of change, its stories of change (with their consent
and optional evidence file), and the selection rounds at the project, regional and ACTRAV levels
with their members, the stories they read and each member's proposal. New tables only: no batch
operation recreates a table, so the audit_event triggers are untouched.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ba7743774270'
down_revision = '6c3f1a9e2b47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('story_domain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_story_domain_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_story_domain')),
    sa.UniqueConstraint('id', 'project_id', name=op.f('uq_story_domain_id_project_id')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_story_domain_project_id_name'))
    )
    op.create_table('change_story',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('domain_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('who_involved', sa.Text(), nullable=False),
    sa.Column('why_significant', sa.Text(), nullable=False),
    sa.Column('told_by_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('names_people', sa.Boolean(), nullable=False),
    sa.Column('people_consent', sa.Boolean(), nullable=False),
    sa.Column('share_consent', sa.Boolean(), nullable=False),
    sa.Column('chosen_at', sa.Enum('project', 'regional', 'actrav', name='storylevel', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('NOT names_people OR people_consent', name=op.f('ck_change_story_named_people_consented')),
    sa.ForeignKeyConstraint(['domain_id', 'project_id'], ['story_domain.id', 'story_domain.project_id'], name='fk_change_story_domain_project'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_change_story_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['period_id'], ['reporting_period.id'], name=op.f('fk_change_story_period_id_reporting_period')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_change_story_project_id_project')),
    sa.ForeignKeyConstraint(['told_by_id'], ['user.id'], name=op.f('fk_change_story_told_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_story'))
    )
    with op.batch_alter_table('change_story', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_story_chosen_at'), ['chosen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_story_domain_id'), ['domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_story_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_story_period_id'), ['period_id'], unique=False)
        batch_op.create_index('ix_change_story_project_domain', ['project_id', 'domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_story_told_by_id'), ['told_by_id'], unique=False)

    op.create_table('selection_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('project', 'regional', 'actrav', name='storylevel', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('domain_id', sa.Integer(), nullable=True),
    sa.Column('period_id', sa.Integer(), nullable=True),
    sa.Column('region', sa.Enum('africa', 'americas', 'arab_states', 'asia_pacific', 'europe_central_asia', name='iloregion', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='roundstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discussion', sa.Text(), nullable=False),
    sa.Column('chosen_story_id', sa.Integer(), nullable=True),
    sa.Column('choice_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level <> 'project' OR (project_id IS NOT NULL AND domain_id IS NOT NULL)", name=op.f('ck_selection_round_project_round_has_project_and_domain')),
    sa.CheckConstraint("level <> 'regional' OR region IS NOT NULL", name=op.f('ck_selection_round_regional_round_has_region')),
    sa.CheckConstraint("level = 'project' OR (project_id IS NULL AND domain_id IS NULL AND period_id IS NULL)", name=op.f('ck_selection_round_higher_round_has_no_project')),
    sa.CheckConstraint("level = 'regional' OR region IS NULL", name=op.f('ck_selection_round_region_only_for_regional')),
    sa.ForeignKeyConstraint(['chosen_story_id'], ['change_story.id'], name=op.f('fk_selection_round_chosen_story_id_change_story')),
    sa.ForeignKeyConstraint(['domain_id', 'project_id'], ['story_domain.id', 'story_domain.project_id'], name='fk_selection_round_domain_project'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user.id'], name=op.f('fk_selection_round_opened_by_id_user')),
    sa.ForeignKeyConstraint(['period_id'], ['reporting_period.id'], name=op.f('fk_selection_round_period_id_reporting_period')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_selection_round_project_id_project')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_round'))
    )
    with op.batch_alter_table('selection_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_selection_round_chosen_story_id'), ['chosen_story_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_domain_id'), ['domain_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_opened_by_id'), ['opened_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_round_status'), ['status'], unique=False)

    op.create_table('story_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size >= 0', name=op.f('ck_story_evidence_size_non_negative')),
    sa.ForeignKeyConstraint(['story_id'], ['change_story.id'], name=op.f('fk_story_evidence_story_id_change_story')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_story_evidence_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_story_evidence')),
    sa.UniqueConstraint('story_id', name=op.f('uq_story_evidence_story_id'))
    )
    op.create_table('round_candidate',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('project', 'regional', 'actrav', name='storylevel', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['selection_round.id'], name=op.f('fk_round_candidate_round_id_selection_round')),
    sa.ForeignKeyConstraint(['story_id'], ['change_story.id'], name=op.f('fk_round_candidate_story_id_change_story')),
    sa.PrimaryKeyConstraint('round_id', 'story_id', name=op.f('pk_round_candidate')),
    sa.UniqueConstraint('story_id', 'level', name=op.f('uq_round_candidate_story_id_level'))
    )
    with op.batch_alter_table('round_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_candidate_story_id'), ['story_id'], unique=False)

    op.create_table('round_member',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('constituency', sa.Enum('workers', 'employers', 'government', 'ilo', 'donor', 'other', name='orggroup', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['selection_round.id'], name=op.f('fk_round_member_round_id_selection_round')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_round_member_user_id_user')),
    sa.PrimaryKeyConstraint('round_id', 'user_id', name=op.f('pk_round_member'))
    )
    with op.batch_alter_table('round_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_member_user_id'), ['user_id'], unique=False)

    op.create_table('story_proposal',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id', 'story_id'], ['round_candidate.round_id', 'round_candidate.story_id'], name='fk_story_proposal_candidate'),
    sa.ForeignKeyConstraint(['round_id', 'user_id'], ['round_member.round_id', 'round_member.user_id'], name='fk_story_proposal_member'),
    sa.ForeignKeyConstraint(['round_id'], ['selection_round.id'], name=op.f('fk_story_proposal_round_id_selection_round')),
    sa.ForeignKeyConstraint(['story_id'], ['change_story.id'], name=op.f('fk_story_proposal_story_id_change_story')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_story_proposal_user_id_user')),
    sa.PrimaryKeyConstraint('round_id', 'user_id', name=op.f('pk_story_proposal'))
    )
    with op.batch_alter_table('story_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_story_proposal_story_id'), ['story_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_story_proposal_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('story_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_story_proposal_user_id'))
        batch_op.drop_index(batch_op.f('ix_story_proposal_story_id'))

    op.drop_table('story_proposal')
    with op.batch_alter_table('round_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_member_user_id'))

    op.drop_table('round_member')
    with op.batch_alter_table('round_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_candidate_story_id'))

    op.drop_table('round_candidate')
    op.drop_table('story_evidence')
    with op.batch_alter_table('selection_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_selection_round_status'))
        batch_op.drop_index(batch_op.f('ix_selection_round_project_id'))
        batch_op.drop_index(batch_op.f('ix_selection_round_period_id'))
        batch_op.drop_index(batch_op.f('ix_selection_round_opened_by_id'))
        batch_op.drop_index(batch_op.f('ix_selection_round_level'))
        batch_op.drop_index(batch_op.f('ix_selection_round_domain_id'))
        batch_op.drop_index(batch_op.f('ix_selection_round_chosen_story_id'))

    op.drop_table('selection_round')
    with op.batch_alter_table('change_story', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_story_told_by_id'))
        batch_op.drop_index('ix_change_story_project_domain')
        batch_op.drop_index(batch_op.f('ix_change_story_period_id'))
        batch_op.drop_index(batch_op.f('ix_change_story_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_change_story_domain_id'))
        batch_op.drop_index(batch_op.f('ix_change_story_chosen_at'))

    op.drop_table('change_story')
    op.drop_table('story_domain')
