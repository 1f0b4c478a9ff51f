"""bounded window queries: a booking-span limit and covering indexes for blocks

The proposal queries (athlete_sched/db/queries.py) read only the rows near the window:

- A booking's blocked range [start, block_end) is at most 720 minutes (a session of at
  most 480 minutes plus a buffer of at most 240). The database now refuses longer ones
  (PostgreSQL: CHECK ck_booking_span; SQLite: triggers, as for the overlap rules), which
  is what lets the booking queries stop reading the (therapist_id, block_end) and
  (athlete_id, end) indexes at `window end + 720 minutes` instead of at the last future
  booking.
- Time off and busy intervals have no length limit, so their queries read the index from
  the window's start on; (therapist_id, end, start) replaces (therapist_id, end) so that
  those rows come from the index alone (same index names).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:10:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

MAX_BOOKING_SPAN_MINUTES = 480 + 240
# julianday() is a float in days; the tolerance (~0.1 s) keeps a range of exactly 720
# minutes on the allowed side of the comparison.
SQLITE_TOO_LONG = (f"(julianday(NEW.block_end) - julianday(NEW.start)) * 1440.0 "
                   f"> {MAX_BOOKING_SPAN_MINUTES} + 0.002")
BLOCK_TABLES = ('time_off', 'busy_interval')


def _replace_block_indexes(columns):
    for table in BLOCK_TABLES:
        name = f'ix_{table}_therapist_end'
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)


def upgrade():
    _replace_block_indexes(['therapist_id', 'end', 'start'])
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT ck_booking_span "
            f"CHECK (block_end <= start + interval '{MAX_BOOKING_SPAN_MINUTES} minutes')")
    elif bind.dialect.name == 'sqlite':
        for when in ('INSERT', 'UPDATE'):
            op.execute(
                f"CREATE TRIGGER booking_span_{when.lower()} BEFORE {when} ON booking "
                f"WHEN {SQLITE_TOO_LONG} "
                f"BEGIN SELECT RAISE(ABORT, 'ck_booking_span'); END")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("ALTER TABLE booking DROP CONSTRAINT IF EXISTS ck_booking_span")
    elif bind.dialect.name == 'sqlite':
        for when in ('insert', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS booking_span_{when}")
    _replace_block_indexes(['therapist_id', 'end'])
