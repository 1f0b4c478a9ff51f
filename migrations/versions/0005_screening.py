"""screening: an athlete's answers to the special considerations and the therapist's review

- screening: one row per athlete (athlete_id is the key; deleted with the athlete). The
  answers are JSON (consideration key -> true / false / null, see
  athlete_sched/core/screening.py), with the athlete's note and when they last changed;
  then the decision a therapist recorded ('cleared' | 'not-cleared'), by whom (kept as
  NULL if that therapist is deleted), when, and their note. No decision: all four NULL.
- PostgreSQL: the data_version triggers of 0004 on the new table too, since a therapist's
  decision changes what a team plan may place (cached answers must see the change).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'screening',
        sa.Column('athlete_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=2000), nullable=False),
        sa.Column('answered_at', TS, nullable=False),
        sa.Column('reviewed_by_therapist_id', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', TS, nullable=True),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('review_note', sa.String(length=2000), nullable=True),
        sa.CheckConstraint("decision IS NULL OR decision IN ('cleared', 'not-cleared')",
                           name=op.f('ck_screening_decision')),
        sa.CheckConstraint('(decision IS NULL) = (reviewed_at IS NULL)',
                           name=op.f('ck_screening_reviewed')),
        sa.CheckConstraint('decision IS NOT NULL OR (reviewed_by_therapist_id IS NULL '
                           'AND review_note IS NULL)', name=op.f('ck_screening_review')),
        sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'], ondelete='CASCADE',
                                name=op.f('fk_screening_athlete_id_athlete')),
        sa.ForeignKeyConstraint(['reviewed_by_therapist_id'], ['therapist.id'],
                                ondelete='SET NULL',
                                name=op.f('fk_screening_reviewed_by_therapist_id_therapist')),
        sa.PrimaryKeyConstraint('athlete_id', name=op.f('pk_screening')),
    )
    op.create_index('ix_screening_reviewed_by_therapist_id', 'screening',
                    ['reviewed_by_therapist_id'])
    if op.get_bind().dialect.name == 'postgresql':
        # The same triggers as 0004's VERSIONED_TABLES, calling its bump_data_version().
        op.execute('CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT OR UPDATE OR '
                   'DELETE ON screening DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                   'EXECUTE FUNCTION bump_data_version()')
        op.execute('CREATE TRIGGER data_version_truncate AFTER TRUNCATE ON screening '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()')


def downgrade():
    # Dropping the table drops its triggers too (bump_data_version() stays: 0004's).
    op.drop_index('ix_screening_reviewed_by_therapist_id', table_name='screening')
    op.drop_table('screening')
