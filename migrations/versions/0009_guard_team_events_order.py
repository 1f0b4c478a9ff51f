"""booking_refusal() reads an athlete's team events through team_member first

The booking guard's query (athlete_sched/db/guard.py CHECK_SQL) now joins team_member and
event with `CROSS JOIN ... WHERE` instead of `JOIN ... ON`: SQLite keeps the order of a
CROSS JOIN (team_member by athlete, then event by team and occupied_end), where after
ANALYZE of a clinic without teams (every event's team_id NULL, so the statistics say a
team_id matches every event) it read event first, every event ending after the claim.
PostgreSQL plans it as the same inner join as before. booking_refusal() (migration
0003) runs CHECK_SQL with `:name` written `p_name`, so it is redefined with the new text
(same signature, locks and result); tests/test_guard.py compares the two.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000

"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# 1634926593 = 0x61730001 = THERAPIST_LOCK_SPACE, 1634926594 = 0x61730002 = ATHLETE_LOCK_SPACE
BOOKING_REFUSAL = """
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

# Migration 0003's definition, restored by the downgrade.
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
    SELECT 1 FROM team_member m JOIN event e ON e.team_id = m.team_id
     WHERE m.athlete_id = p_athlete_id AND e.occupied_end > p_start AND e.start < p_end)
  THEN 'athlete-busy'
END AS refused
  );
END
$function$
"""


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BOOKING_REFUSAL)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PREVIOUS_BOOKING_REFUSAL)
