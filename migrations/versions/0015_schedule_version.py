"""schedule_version: a commit counter of the tables the therapists' schedules are read from

- schedule_version: one row (id 1) whose n grows whenever a transaction that wrote
  therapist, working_period, working_day or working_day_period commits, on both backends.
  A per-process cache of the clinic's schedules (services/schedules.py) is keyed by it:
  bookings, which change all day, leave it alone, so the schedules a proposals request
  starts from stay cached while the clinic books, and a change of hours is seen by the
  next request of every worker on every host.
- PostgreSQL: a deferred constraint trigger per table, once per writing transaction at
  commit (as data_version's of 0004: after every other lock the transaction takes, so it
  cannot join a deadlock), and a TRUNCATE trigger. SQLite: a row trigger per table and
  operation (SQLite has no statement triggers; it has one writer at a time).
- The tables it counts must never be rebuilt by a batch copy on SQLite (that drops the
  triggers): later migrations ADD COLUMN in place, as 0014 does.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 22:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

SCHEDULE_TABLES = ('therapist', 'working_period', 'working_day', 'working_day_period')
BUMP_SCHEDULE_VERSION = """
CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
  IF current_setting('athlete_sched.schedule_bumped', true) IS DISTINCT FROM txid_current()::text
  THEN
    UPDATE schedule_version SET n = n + 1 WHERE id = 1;
    PERFORM set_config('athlete_sched.schedule_bumped', txid_current()::text, true);
  END IF;
  RETURN NULL;
END
$function$
"""


def upgrade():
    op.create_table(
        'schedule_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_version')),
    )
    op.execute('INSERT INTO schedule_version (id, n) VALUES (1, 0)')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BUMP_SCHEDULE_VERSION)
        for table in SCHEDULE_TABLES:
            op.execute(f'CREATE CONSTRAINT TRIGGER schedule_version_bump AFTER INSERT OR '
                       f'UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH '
                       f'ROW EXECUTE FUNCTION bump_schedule_version()')
            op.execute(f'CREATE TRIGGER schedule_version_truncate AFTER TRUNCATE ON {table} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION bump_schedule_version()')
        return
    for table in SCHEDULE_TABLES:
        for operation in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f'CREATE TRIGGER schedule_version_{operation.lower()}_{table} AFTER '
                       f'{operation} ON {table} BEGIN UPDATE schedule_version SET n = n + 1 '
                       f'WHERE id = 1; END')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in SCHEDULE_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS schedule_version_bump ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS schedule_version_truncate ON {table}')
        op.execute('DROP FUNCTION IF EXISTS bump_schedule_version()')
    else:
        for table in SCHEDULE_TABLES:
            for operation in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS schedule_version_{operation}_{table}')
    op.drop_table('schedule_version')
