"""bounded busy reads: a busy-interval length limit and a covering booking index

The proposal queries (athlete_sched/db/queries.py) read only the rows near the window:

- A busy interval row is now at most 7 days long. Imports store a longer interval as
  consecutive pieces (services/busy.py), rows already longer are split here, and the
  database refuses longer ones (PostgreSQL: CHECK ck_busy_interval_span; SQLite: triggers,
  as for the booking span in 0002). That lets the busy query stop reading the
  (therapist_id, end, start) index at `window end + 7 days` instead of at the therapist's
  last imported interval (a year of calendar ahead: ~3,600 index entries a proposals
  request in bench/propose.py, of which ~130 touch the windows).
- ix_booking_therapist_block_end holds (therapist_id, block_end, start, end, status):
  every column the therapist's window reads and the booking guard need, so those rows
  come from the index alone (SQLite read ~800 table rows a request through it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:00:00.000000

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

MAX_BUSY_SPAN_DAYS = 7
# julianday() is a float in days; the tolerance (~0.1 s) keeps a row of exactly 7 days on
# the allowed side of the comparison (as in 0002).
SQLITE_TOO_LONG = (f'julianday(NEW."end") - julianday(NEW.start) '
                   f'> {MAX_BUSY_SPAN_DAYS} + 0.000001')
SQLITE_FORMAT = '%Y-%m-%d %H:%M:%S.%f'  # how the UTCDateTime type stores an instant
INDEX = 'ix_booking_therapist_block_end'
OLD_COLUMNS = ['therapist_id', 'block_end']
NEW_COLUMNS = ['therapist_id', 'block_end', 'start', 'end', 'status']


def _instant(value, sqlite):
    if sqlite:
        return datetime.strptime(value, SQLITE_FORMAT).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _stored(value, sqlite):
    return value.strftime(SQLITE_FORMAT) if sqlite else value


def _split_long_busy_intervals(bind):
    """Cut every busy interval longer than the limit into pieces of at most the limit: the
    row keeps the first piece, the others are new rows of the same therapist and calendar."""
    sqlite = bind.dialect.name == 'sqlite'
    too_long = (f'julianday("end") - julianday(start) > {MAX_BUSY_SPAN_DAYS}' if sqlite else
                f"\"end\" > start + interval '{MAX_BUSY_SPAN_DAYS} days'")
    rows = bind.execute(sa.text(
        'SELECT id, therapist_id, start, "end", source, calendar_id FROM busy_interval '
        f'WHERE {too_long} ORDER BY id')).all()
    longest = timedelta(days=MAX_BUSY_SPAN_DAYS)
    for row_id, therapist_id, start, end, source, calendar_id in rows:
        start, end = _instant(start, sqlite), _instant(end, sqlite)
        cuts = []
        while start + longest < end:
            cuts.append(start + longest)
            start += longest
        bind.execute(sa.text('UPDATE busy_interval SET "end" = :end WHERE id = :id'),
                     {'end': _stored(cuts[0], sqlite), 'id': row_id})
        bind.execute(sa.text(
            'INSERT INTO busy_interval (therapist_id, start, "end", source, calendar_id) '
            'VALUES (:therapist_id, :start, :end, :source, :calendar_id)'),
            [{'therapist_id': therapist_id, 'start': _stored(lo, sqlite),
              'end': _stored(hi, sqlite), 'source': source, 'calendar_id': calendar_id}
             for lo, hi in zip(cuts, [*cuts[1:], end], strict=True)])


def upgrade():
    bind = op.get_bind()
    _split_long_busy_intervals(bind)
    if bind.dialect.name == 'postgresql':
        # The split fired data_version's deferred triggers (0004); ALTER TABLE refuses to
        # run while they are pending, so they run now.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
        op.execute(
            "ALTER TABLE busy_interval ADD CONSTRAINT ck_busy_interval_span "
            f"CHECK (\"end\" <= start + interval '{MAX_BUSY_SPAN_DAYS} days')")
    elif bind.dialect.name == 'sqlite':
        for when in ('INSERT', 'UPDATE'):
            op.execute(
                f"CREATE TRIGGER busy_interval_span_{when.lower()} BEFORE {when} "
                f"ON busy_interval WHEN {SQLITE_TOO_LONG} "
                f"BEGIN SELECT RAISE(ABORT, 'ck_busy_interval_span'); END")
    op.drop_index(INDEX, table_name='booking')
    op.create_index(INDEX, 'booking', NEW_COLUMNS, unique=False)


def downgrade():
    op.drop_index(INDEX, table_name='booking')
    op.create_index(INDEX, 'booking', OLD_COLUMNS, unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("ALTER TABLE busy_interval DROP CONSTRAINT IF EXISTS ck_busy_interval_span")
    elif bind.dialect.name == 'sqlite':
        for when in ('insert', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS busy_interval_span_{when}")
    # Split rows stay split: together they block exactly what the long row blocked.
