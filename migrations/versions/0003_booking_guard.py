"""the booking guard: event.occupied_end, and on PostgreSQL booking_refusal()

athlete_sched/db/guard.py checks every conflict rule of a booking in one statement.

- event.occupied_end: the end of the instants an event occupies (core.windows.event_span:
  the finish when known, else local 00:00 after the last local day). It depends on the
  event's time zone, which SQLite cannot compute, so it is stored: filled here for the
  existing events and required from now on (PostgreSQL: NOT NULL; SQLite cannot add
  that to an existing column without rebuilding the table, so triggers refuse a NULL).
- ix_event_athlete_id / ix_event_team_id gain occupied_end as a second column (same
  names), so the check reads only an athlete's (or team's) future events.
- PostgreSQL: booking_refusal(...) takes the advisory locks of the therapist and the
  athlete (the keys and order of extensions.lock_for_booking) and then runs the check,
  in one round trip. A VOLATILE function reads with a fresh snapshot per statement, so
  the check sees what a writer it waited for has committed; a single SELECT that locked
  and checked would read with the snapshot taken before the wait. The query is
  guard.CHECK_SQL with `:name` written `p_name`; tests/test_guard.py compares the two.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:30:00.000000

"""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

EVENT = sa.table(
    'event', sa.column('id', sa.Integer), sa.column('timezone', sa.String),
    sa.column('start', sa.DateTime(timezone=True)), sa.column('end', sa.DateTime(timezone=True)),
    sa.column('end_is_date', sa.Boolean), sa.column('occupied_end', sa.DateTime(timezone=True)))
OWNERS = ('athlete_id', 'team_id')

# 1634926593 = 0x61730001 = THERAPIST_LOCK_SPACE, 1634926594 = 0x61730002 = ATHLETE_LOCK_SPACE
BOOKING_REFUSAL = """
CREATE FUNCTION booking_refusal(
    p_booking_id integer, p_athlete_id integer, p_event_id integer, p_kind text,
    p_therapist_id integer, p_start timestamptz, p_end timestamptz,
    p_near_start timestamptz, p_near_end timestamptz, p_near_reach timestamptz,
    p_reach timestamptz) RETURNS text
LANGUAGE plpgsql VOLATILE AS $function$
BEGIN
  PERFORM pg_advisory_xact_lock(1634926593, p_therapist_id),
          pg_advisory_xact_lock(1634926594, p_athlete_id);
  RETURN (
SELECT CASE
  WHEN EXISTS (
    SELECT 1 FROM booking b
     WHERE b.athlete_id = p_athlete_id AND b.event_id = p_event_id AND b.kind = p_kind
       AND b.status = 'confirmed' AND b.id <> p_booking_id)
  THEN 'already-booked'
  WHEN EXISTS (
    SELECT 1 FROM booking b
     WHERE b.therapist_id = p_therapist_id AND b.status = 'confirmed' AND b.id <> p_booking_id
       AND b.block_end > p_near_start AND b.block_end < p_near_reach
       AND b.start < p_near_end AND b."end" > p_near_start)
    OR EXISTS (
    SELECT 1 FROM time_off t
     WHERE t.therapist_id = p_therapist_id AND t."end" > p_start AND t.start < p_end)
    OR EXISTS (
    SELECT 1 FROM busy_interval t
     WHERE t.therapist_id = p_therapist_id AND t."end" > p_start AND t.start < p_end)
  THEN 'slot-taken'
  WHEN EXISTS (
    SELECT 1 FROM booking b
     WHERE b.athlete_id = p_athlete_id AND b.status = 'confirmed' AND b.id <> p_booking_id
       AND b."end" > p_start AND b."end" < p_reach AND b.start < p_end)
    OR EXISTS (
    SELECT 1 FROM event e
     WHERE e.athlete_id = p_athlete_id AND e.occupied_end > p_start AND e.start < p_end)
    OR EXISTS (
    SELECT 1 FROM team_member m JOIN event e ON e.team_id = m.team_id
     WHERE m.athlete_id = p_athlete_id AND e.occupied_end > p_start AND e.start < p_end)
  THEN 'athlete-busy'
END AS refused
  );
END
$function$
"""
DROP_BOOKING_REFUSAL = (
    "DROP FUNCTION IF EXISTS booking_refusal(integer, integer, integer, text, integer, "
    "timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz)")


def _aware(value):
    """SQLite gives back the stored UTC text as a naive datetime."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def occupied_end(tz_name, start, end, end_is_date):
    """core.windows.event_span, frozen here: the finish when known, otherwise local 00:00
    of the day after the last local day (the end's day, or the start's without an end)."""
    if end is not None and not end_is_date:
        return _aware(end)
    tz = ZoneInfo(tz_name)
    last = _aware(end if end is not None else start).astimezone(tz).date() + timedelta(days=1)
    return datetime(last.year, last.month, last.day, tzinfo=tz).astimezone(timezone.utc)


def _stored(bind, value):
    return value.replace(tzinfo=None) if bind.dialect.name == 'sqlite' else value


def _fill(bind):
    rows = bind.execute(sa.select(EVENT.c.id, EVENT.c.timezone, EVENT.c.start, EVENT.c.end,
                                  EVENT.c.end_is_date)).all()
    for id_, tz_name, start, end, end_is_date in rows:
        value = occupied_end(tz_name, start, end, end_is_date)
        bind.execute(EVENT.update().where(EVENT.c.id == id_).values(
            occupied_end=_stored(bind, value)))


def _require_occupied_end(bind):
    if bind.dialect.name == 'postgresql':
        op.alter_column('event', 'occupied_end', nullable=False)
    elif bind.dialect.name == 'sqlite':
        for when in ('INSERT', 'UPDATE'):
            op.execute(
                f"CREATE TRIGGER event_occupied_end_{when.lower()} BEFORE {when} ON event "
                f"WHEN NEW.occupied_end IS NULL "
                f"BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: event.occupied_end'); "
                f"END")


def _replace_owner_indexes(with_occupied_end):
    for owner in OWNERS:
        name = f'ix_event_{owner}'
        op.drop_index(name, table_name='event')
        columns = [owner, 'occupied_end'] if with_occupied_end else [owner]
        op.create_index(name, 'event', columns, unique=False)


def upgrade():
    bind = op.get_bind()
    op.add_column('event', sa.Column('occupied_end', sa.DateTime(timezone=True), nullable=True))
    _fill(bind)
    _require_occupied_end(bind)
    _replace_owner_indexes(True)
    if bind.dialect.name == 'postgresql':
        op.execute(BOOKING_REFUSAL)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute(DROP_BOOKING_REFUSAL)
    _replace_owner_indexes(False)
    if bind.dialect.name == 'sqlite':
        for when in ('insert', 'update'):
            op.execute(f"DROP TRIGGER IF EXISTS event_occupied_end_{when}")
    op.drop_column('event', 'occupied_end')
