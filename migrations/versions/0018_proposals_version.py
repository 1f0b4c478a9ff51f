"""proposals_version: a commit counter of what proposals read besides bookings, events,
team memberships and schedules; an index of bookings by time alone

- proposals_version: one row (id 1) whose n grows whenever a transaction that wrote
  time_off, busy_interval, site or clinic_settings, or changed or deleted an athlete's
  home site (all proposals read of an athlete; a new athlete has no proposals cached),
  commits, on both backends,
  whoever wrote it (this app on any host, psql, a migration). With schedule_version (0015)
  for the schedules' tables and row_version (0017) fingerprints of the bookings near an
  event's windows and of the athlete's events and memberships, it keys the proposals
  cache (db/queries/proposal_keys.py): a booking far from an event's windows leaves that
  event's proposals cached.
- PostgreSQL: a deferred constraint trigger per table, once per writing transaction at
  commit (as 0004's and 0015's: after every other lock, so it cannot join a deadlock),
  and a TRUNCATE trigger. SQLite: a row trigger per table and operation (SQLite has no
  statement triggers; it has one writer at a time).
- ix_booking_block_end (block_end, start, row_version): the bookings whose blocked range
  touches a span, every therapist's, read in the index alone (the fingerprint's range).
- The tables it counts must never be rebuilt by a batch copy on SQLite (that drops the
  triggers): later migrations ADD COLUMN in place.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

PROPOSALS_TABLES = ('time_off', 'busy_interval', 'site', 'clinic_settings')  # any write
# athlete: a deleted one, or a home site changed (INSERT or other columns: nothing to do)
ATHLETE_WRITES = (('update', 'UPDATE OF home_site_id', 'home_site_id'), ('delete', 'DELETE', None))
BUMP_PROPOSALS_VERSION = """
CREATE FUNCTION bump_proposals_version() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
  IF current_setting('athlete_sched.proposals_bumped', true) IS DISTINCT FROM txid_current()::text
  THEN
    UPDATE proposals_version SET n = n + 1 WHERE id = 1;
    PERFORM set_config('athlete_sched.proposals_bumped', txid_current()::text, true);
  END IF;
  RETURN NULL;
END
$function$
"""


def upgrade():
    op.create_table(
        'proposals_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals_version')),
    )
    op.execute('INSERT INTO proposals_version (id, n) VALUES (1, 0)')
    if op.get_bind().dialect.name == 'postgresql':
        # Earlier revisions' data steps in this transaction may have queued deferred
        # triggers (0004's); CREATE INDEX on booking refuses to run while they are pending.
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')
    op.create_index('ix_booking_block_end', 'booking', ['block_end', 'start', 'row_version'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BUMP_PROPOSALS_VERSION)
        for table in PROPOSALS_TABLES:
            op.execute(f'CREATE CONSTRAINT TRIGGER proposals_version_bump AFTER INSERT OR '
                       f'UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH '
                       f'ROW EXECUTE FUNCTION bump_proposals_version()')
            op.execute(f'CREATE TRIGGER proposals_version_truncate AFTER TRUNCATE ON {table} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION bump_proposals_version()')
        for name, operation, column in ATHLETE_WRITES:
            when = (f'WHEN (OLD.{column} IS DISTINCT FROM NEW.{column}) ' if column else '')
            op.execute(f'CREATE CONSTRAINT TRIGGER proposals_version_{name} AFTER {operation} '
                       f'ON athlete DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when}'
                       f'EXECUTE FUNCTION bump_proposals_version()')
        op.execute('CREATE TRIGGER proposals_version_truncate AFTER TRUNCATE ON athlete '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_proposals_version()')
        return
    for table in PROPOSALS_TABLES:
        for operation in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f'CREATE TRIGGER proposals_version_{operation.lower()}_{table} AFTER '
                       f'{operation} ON {table} BEGIN UPDATE proposals_version SET n = n + 1 '
                       f'WHERE id = 1; END')
    for name, operation, column in ATHLETE_WRITES:
        when = f'WHEN NEW.{column} IS NOT OLD.{column} ' if column else ''
        op.execute(f'CREATE TRIGGER proposals_version_{name}_athlete AFTER {operation} ON '
                   f'athlete {when}BEGIN UPDATE proposals_version SET n = n + 1 WHERE id = 1; '
                   f'END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')  # as in the upgrade
        for table in PROPOSALS_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS proposals_version_bump ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS proposals_version_truncate ON {table}')
        for name in ('update', 'delete', 'truncate'):
            op.execute(f'DROP TRIGGER IF EXISTS proposals_version_{name} ON athlete')
        op.execute('DROP FUNCTION IF EXISTS bump_proposals_version()')
    else:
        for table in PROPOSALS_TABLES:
            for operation in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS proposals_version_{operation}_{table}')
        for name in ('update', 'delete'):
            op.execute(f'DROP TRIGGER IF EXISTS proposals_version_{name}_athlete')
    op.drop_index('ix_booking_block_end', table_name='booking')
    op.drop_table('proposals_version')
