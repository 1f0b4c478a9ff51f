"""clinic_settings: the clinic's settings an admin changes on the pages

- clinic_settings: one row at most (id 1, CHECK). clinic_name, booking_notice_minutes,
  cancel_notice_hours, recovery_gap_minutes: NULL means the configuration's default
  (CLINIC_NAME, BOOKING_NOTICE_MINUTES, CANCEL_NOTICE_HOURS, RECOVERY_GAP_MINUTES); the
  numbers are bounded by CHECKs (athlete_sched/db/models/settings.py). updated_at and
  updated_by say who saved them last.
- PostgreSQL: the data_version triggers of 0004 on the new table too, since the notice and
  the recovery gap change what proposals answer (cached answers must see the change).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _between(column, low, high):
    return sa.CheckConstraint(f'{column} IS NULL OR {column} BETWEEN {low} AND {high}',
                              name=op.f(f'ck_clinic_settings_{column}'))


def upgrade():
    op.create_table(
        'clinic_settings',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('clinic_name', sa.String(length=120), nullable=True),
        sa.Column('booking_notice_minutes', sa.Integer(), nullable=True),
        sa.Column('cancel_notice_hours', sa.Integer(), nullable=True),
        sa.Column('recovery_gap_minutes', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_clinic_settings_single')),
        _between('booking_notice_minutes', 0, 10080),
        _between('cancel_notice_hours', 0, 336),
        _between('recovery_gap_minutes', 0, 720),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_settings')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # The same triggers as 0004's VERSIONED_TABLES, calling its bump_data_version().
        op.execute('CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT OR UPDATE OR '
                   'DELETE ON clinic_settings DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                   'EXECUTE FUNCTION bump_data_version()')
        op.execute('CREATE TRIGGER data_version_truncate AFTER TRUNCATE ON clinic_settings '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()')


def downgrade():
    # Dropping the table drops its triggers too (bump_data_version() stays: 0004's).
    op.drop_table('clinic_settings')
