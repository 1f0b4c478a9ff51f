"""working days: one-day changes of a therapist's working hours

- working_day: a therapist's own hours on one local date (`day`, in the therapist's
  zone), in place of that weekday's weekly periods; `closed` when there are none. One row
  per therapist and date (uq_working_day_therapist_id, which also serves the reads of a
  span of dates per therapist); deleted with the therapist.
- working_day_period: its periods, minutes after local midnight as working_period's
  (same CHECK: 0 <= start < end <= 1440); deleted with their day.
- PostgreSQL: the data_version triggers of 0004 on both tables, since a day change
  changes what proposals may offer (cached answers must see it).

Existing data is untouched: with no working day, every date keeps its weekly hours, so
every proposal stays as it was.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TABLES = ('working_day', 'working_day_period')


def upgrade():
    op.create_table(
        'working_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('therapist_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('closed', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], ondelete='CASCADE',
                                name=op.f('fk_working_day_therapist_id_therapist')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_working_day')),
        sa.UniqueConstraint('therapist_id', 'day', name=op.f('uq_working_day_therapist_id')),
    )
    op.create_table(
        'working_day_period',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('working_day_id', sa.Integer(), nullable=False),
        sa.Column('start_minute', sa.Integer(), nullable=False),
        sa.Column('end_minute', sa.Integer(), nullable=False),
        sa.CheckConstraint('start_minute >= 0 AND end_minute <= 1440 AND '
                           'start_minute < end_minute',
                           name=op.f('ck_working_day_period_period')),
        sa.ForeignKeyConstraint(['working_day_id'], ['working_day.id'], ondelete='CASCADE',
                                name=op.f('fk_working_day_period_working_day_id_working_day')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_working_day_period')),
    )
    op.create_index('ix_working_day_period_working_day_id', 'working_day_period',
                    ['working_day_id'])
    if op.get_bind().dialect.name == 'postgresql':
        # The same triggers as 0004's VERSIONED_TABLES, calling its bump_data_version().
        for table in TABLES:
            op.execute(f'CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT OR UPDATE '
                       f'OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                       f'EXECUTE FUNCTION bump_data_version()')
            op.execute(f'CREATE TRIGGER data_version_truncate AFTER TRUNCATE ON {table} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()')


def downgrade():
    # Dropping the tables drops their triggers too (bump_data_version() stays: 0004's).
    op.drop_index('ix_working_day_period_working_day_id', table_name='working_day_period')
    op.drop_table('working_day_period')
    op.drop_table('working_day')
