"""the waiting list's holds: booking_refusal() gains `now` and the rule 'held'; offers
count in proposals_version

- PostgreSQL: booking_refusal() (migrations 0003, 0009) is replaced by one with a twelfth
  argument, p_now, running guard.CHECK_SQL as it now is: after 'slot-taken' and before
  'athlete-busy', the rule 'held' refuses a claim on a therapist's time that a live offer
  of the waiting list (waitlist_entry.offer_expires > p_now) holds for another athlete,
  the buffer counted as for bookings. Same locks, same order; the old signature is
  dropped (a function's arguments cannot change in place), and the downgrade restores
  0009's. SQLite runs CHECK_SQL as it is: nothing to do there.
- proposals_version (0018) also grows when a transaction that wrote an offer commits: a
  waitlist_entry inserted or deleted with an offer, or updated so that its offer
  (therapist, start, end, block end, expiry) changed. Proposals of other athletes leave a
  held slot out (services/proposals.py), so their cached answers must go when an offer
  is made or cleared. Joining or leaving the line without an offer changes no proposal.
  PostgreSQL: deferred constraint triggers with the 0018 function (once per transaction,
  at commit) and a TRUNCATE trigger; SQLite: row triggers.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# 1634926593 = 0x61730001 = THERAPIST_LOCK_SPACE, 1634926594 = 0x61730002 = ATHLETE_LOCK_SPACE
BOOKING_REFUSAL = """
CREATE FUNCTION booking_refusal(
    p_booking_id integer, p_athlete_id integer, p_event_id integer, p_kind text,
    p_therapist_id integer, p_start timestamptz, p_end timestamptz,
    p_near_start timestamptz, p_near_end timestamptz, p_near_reach timestamptz,
    p_reach timestamptz, p_now timestamptz) RETURNS text
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
    SELECT 1 FROM waitlist_entry w
     WHERE w.offer_therapist_id = p_therapist_id AND w.athlete_id <> p_athlete_id
       AND w.offer_block_end > p_near_start AND w.offer_start < p_near_end
       AND w.offer_end > p_near_start AND w.offer_expires > p_now)
  THEN 'held'
  WHEN EXISTS (
    SELECT 1 FROM booking b
     WHERE b.athlete_id = p_athlete_id AND b.status = 'confirmed' AND b.id <> p_booking_id
       AND b."end" > p_start AND b."end" < p_reach AND b.start < p_end)
    OR EXISTS (
    SELECT 1 FROM event e
     WHERE e.athlete_id = p_athlete_id AND e.occupied_end > p_start AND e.start < p_end)
    OR EXISTS (
    SELECT 1 FROM team_member m CROSS JOIN event e
     WHERE m.athlete_id = p_athlete_id AND e.team_id = m.team_id
       AND e.occupied_end > p_start AND e.start < p_end)
  THEN 'athlete-busy'
END AS refused
  );
END
$function$
"""

# Migration 0009's definition, restored by the downgrade.
PREVIOUS_BOOKING_REFUSAL = """
CREATE OR REPLACE FUNCTION booking_refusal(
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
    SELECT 1 FROM team_member m CROSS JOIN event e
     WHERE m.athlete_id = p_athlete_id AND e.team_id = m.team_id
       AND e.occupied_end > p_start AND e.start < p_end)
  THEN 'athlete-busy'
END AS refused
  );
END
$function$
"""

OLD_SIGNATURE = ('booking_refusal(integer, integer, integer, text, integer, timestamptz, '
                 'timestamptz, timestamptz, timestamptz, timestamptz, timestamptz)')
NEW_SIGNATURE = OLD_SIGNATURE.replace(')', ', timestamptz)')
# An offer made, changed or cleared (any of these columns), or a row with one inserted or
# deleted.
OFFER_COLUMNS = ('offer_therapist_id', 'offer_start', 'offer_end', 'offer_block_end',
                 'offer_expires')
PG_OFFER_CHANGED = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in OFFER_COLUMNS)
SQLITE_OFFER_CHANGED = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in OFFER_COLUMNS)
# (trigger name, operation, condition): PostgreSQL, SQLite
PG_TRIGGERS = (
    ('proposals_version_offer_insert', 'INSERT', 'NEW.offer_start IS NOT NULL'),
    ('proposals_version_offer_update', f"UPDATE OF {', '.join(OFFER_COLUMNS)}",
     PG_OFFER_CHANGED),
    ('proposals_version_offer_delete', 'DELETE', 'OLD.offer_start IS NOT NULL'))
SQLITE_TRIGGERS = (
    ('proposals_version_insert_waitlist_entry', 'INSERT', 'NEW.offer_start IS NOT NULL'),
    ('proposals_version_update_waitlist_entry', f"UPDATE OF {', '.join(OFFER_COLUMNS)}",
     SQLITE_OFFER_CHANGED),
    ('proposals_version_delete_waitlist_entry', 'DELETE', 'OLD.offer_start IS NOT NULL'))
SQLITE_BUMP = 'UPDATE proposals_version SET n = n + 1 WHERE id = 1;'


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')  # as 0019: pending trigger events
        op.execute(f'DROP FUNCTION IF EXISTS {OLD_SIGNATURE}')
        op.execute(BOOKING_REFUSAL)
        for name, operation, condition in PG_TRIGGERS:
            op.execute(f'CREATE CONSTRAINT TRIGGER {name} AFTER {operation} ON waitlist_entry '
                       f'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({condition}) '
                       f'EXECUTE FUNCTION bump_proposals_version()')
        op.execute('CREATE TRIGGER proposals_version_truncate AFTER TRUNCATE ON waitlist_entry '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_proposals_version()')
        return
    for name, operation, condition in SQLITE_TRIGGERS:
        op.execute(f'CREATE TRIGGER {name} AFTER {operation} ON waitlist_entry '
                   f'WHEN {condition} BEGIN {SQLITE_BUMP} END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')
        for name, _, _ in PG_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON waitlist_entry')
        op.execute('DROP TRIGGER IF EXISTS proposals_version_truncate ON waitlist_entry')
        op.execute(f'DROP FUNCTION IF EXISTS {NEW_SIGNATURE}')
        op.execute(PREVIOUS_BOOKING_REFUSAL)
    else:
        for name, _, _ in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
