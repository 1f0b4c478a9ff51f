"""feed freshness: row_version on the rows feeds list, and feed_version for what they name

- booking, event, team_member get row_version: a fresh number at every insert and update
  of the row, whoever writes it (this app on any host, psql, a migration): SQLite row
  triggers take the next value of feed_version.row_clock (one writer at a time, so a later
  write always gets a larger number); PostgreSQL a BEFORE trigger takes nextval of the
  sequence row_version (never the same number twice; not in commit order, which is why a
  feed's PostgreSQL fingerprint sums a hash of the versions instead of taking the max:
  db/queries/calendars.py). Existing rows are numbered here.
- feed_version: one row (id 1). `names` grows whenever a committed transaction changed
  something feeds show that is not one of their own rows: the name of an athlete, a
  therapist, a team or an event (only when it changes), any site, the clinic's settings.
  `row_clock`: SQLite's row_version clock (unused on PostgreSQL).
  PostgreSQL raises `names` in a deferred constraint trigger once per writing transaction
  at commit (as 0004 and 0015 do: after every other lock, so it cannot join a deadlock),
  plus TRUNCATE triggers; SQLite in row triggers.
- A feed's fingerprint is then a few indexed aggregates of its owner's rows plus `names`
  (services/calendars.py): a write that touches no feed's rows or names leaves every feed
  cached, and a rebuilt feed serializes only the rows whose row_version changed.
- Plain ADD COLUMN in place on both backends (no batch copy: SQLite keeps its triggers).
- SQLite: booking's update guards (overlap and span, 0001/0002) fire only on an UPDATE of
  the columns they read (BEFORE UPDATE OF ...), so that the row_version stamp after each
  insert and update does not check the row's overlaps a second time (GUARDED_UPDATES).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ROW_TABLES = ('booking', 'event', 'team_member')
NAMED_TABLES = ('athlete', 'therapist', 'team', 'event')  # a change of `name` counts
SHOWN_TABLES = ('site', 'clinic_settings')  # any change counts
STAMP_ROW_VERSION = """
CREATE FUNCTION stamp_row_version() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
  NEW.row_version := nextval('row_version');
  RETURN NEW;
END
$function$
"""
BUMP_FEED_NAMES = """
CREATE FUNCTION bump_feed_names() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
  IF current_setting('athlete_sched.feed_names_bumped', true) IS DISTINCT FROM txid_current()::text
  THEN
    UPDATE feed_version SET names = names + 1 WHERE id = 1;
    PERFORM set_config('athlete_sched.feed_names_bumped', txid_current()::text, true);
  END IF;
  RETURN NULL;
END
$function$
"""
SQLITE_BUMP_NAMES = 'UPDATE feed_version SET names = names + 1 WHERE id = 1;'


def _sqlite_stamp(table: str) -> str:
    """The statements of a SQLite trigger that gives the row NEW the next row_version. The
    UPDATE trigger's WHEN lets its own stamp pass (row_version changed, to the clock's
    value), so it also ends with PRAGMA recursive_triggers on; any other update fires it,
    one that sets row_version by hand too."""
    return ('UPDATE feed_version SET row_clock = row_clock + 1 WHERE id = 1; '
            f'UPDATE {table} SET row_version = (SELECT row_clock FROM feed_version WHERE id = 1) '
            'WHERE rowid = NEW.rowid;')


# SQLite: booking's BEFORE UPDATE guards (overlap: 0001, span: 0002) and the columns each
# reads of the updated row. Re-created as BEFORE UPDATE OF those columns (`_guard_updates`):
# the row_version stamp, an UPDATE of row_version alone after every insert and update,
# no longer runs them again (a row whose guarded columns keep their values stays valid).
GUARDED_UPDATES = {
    'booking_therapist_overlap_update': ('id', 'therapist_id', 'status', 'start', 'block_end'),
    'booking_athlete_overlap_update': ('id', 'athlete_id', 'status', 'start', '"end"'),
    'booking_span_update': ('start', 'block_end'),
}


def _guard_updates(of_columns: bool) -> None:
    """SQLite: booking's update guards as they are, but firing only on an UPDATE that sets
    one of the columns they read (`of_columns`), or on every UPDATE (the downgrade)."""
    bind = op.get_bind()
    for name, columns in GUARDED_UPDATES.items():
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                   "AND name = :name"), {'name': name}).scalar()
        if sql is None:
            continue
        every, of = 'BEFORE UPDATE ON booking', f"BEFORE UPDATE OF {', '.join(columns)} ON booking"
        op.execute(f'DROP TRIGGER {name}')
        op.execute(sql.replace(every, of) if of_columns else sql.replace(of, every))


def _upgrade_postgresql() -> None:
    # Data steps of earlier revisions in this transaction (0014's) queued data_version's
    # deferred triggers (0004); ALTER TABLE refuses to run while they are pending.
    op.execute('SET CONSTRAINTS ALL IMMEDIATE')
    op.execute('CREATE SEQUENCE row_version AS bigint')
    op.execute(STAMP_ROW_VERSION)
    op.execute(BUMP_FEED_NAMES)
    for table in ROW_TABLES:
        # A volatile default numbers the existing rows, one nextval each.
        op.execute(f"ALTER TABLE {table} ADD COLUMN row_version bigint NOT NULL "
                   f"DEFAULT nextval('row_version')")
        op.execute(f'ALTER TABLE {table} ALTER COLUMN row_version DROP DEFAULT')  # the trigger's
        op.execute(f'CREATE TRIGGER row_version_stamp BEFORE INSERT OR UPDATE ON {table} '
                   f'FOR EACH ROW EXECUTE FUNCTION stamp_row_version()')
    for table in NAMED_TABLES:
        op.execute(f'CREATE CONSTRAINT TRIGGER feed_names_bump AFTER UPDATE OF name ON {table} '
                   f'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                   f'WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION bump_feed_names()')
    for table in SHOWN_TABLES:
        op.execute(f'CREATE CONSTRAINT TRIGGER feed_names_bump AFTER INSERT OR UPDATE OR DELETE '
                   f'ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                   f'EXECUTE FUNCTION bump_feed_names()')
        op.execute(f'CREATE TRIGGER feed_names_truncate AFTER TRUNCATE ON {table} '
                   f'FOR EACH STATEMENT EXECUTE FUNCTION bump_feed_names()')


def _upgrade_sqlite() -> None:
    for table in ROW_TABLES:
        op.add_column(table, sa.Column('row_version', sa.BigInteger(), nullable=False,
                                       server_default='0'))
        op.execute(f'UPDATE {table} SET row_version = rowid')
    op.execute('UPDATE feed_version SET row_clock = max('
               + ', '.join(f'(SELECT coalesce(max(row_version), 0) FROM {t})'
                           for t in ROW_TABLES) + ') WHERE id = 1')
    for table in ROW_TABLES:
        op.execute(f'CREATE TRIGGER row_version_insert_{table} AFTER INSERT ON {table} '
                   f'BEGIN {_sqlite_stamp(table)} END')
        op.execute(f'CREATE TRIGGER row_version_update_{table} AFTER UPDATE ON {table} '
                   f'WHEN NEW.row_version IS OLD.row_version OR NEW.row_version IS NOT '
                   f'(SELECT row_clock FROM feed_version WHERE id = 1) '
                   f'BEGIN {_sqlite_stamp(table)} END')
    _guard_updates(of_columns=True)
    for table in NAMED_TABLES:
        op.execute(f'CREATE TRIGGER feed_names_update_{table} AFTER UPDATE OF name ON {table} '
                   f'WHEN NEW.name IS NOT OLD.name BEGIN {SQLITE_BUMP_NAMES} END')
    for table in SHOWN_TABLES:
        for operation in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f'CREATE TRIGGER feed_names_{operation.lower()}_{table} AFTER '
                       f'{operation} ON {table} BEGIN {SQLITE_BUMP_NAMES} END')


def upgrade():
    op.create_table(
        'feed_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('names', sa.BigInteger(), nullable=False),
        sa.Column('row_clock', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_version')),
    )
    op.execute('INSERT INTO feed_version (id, names, row_clock) VALUES (1, 0, 0)')
    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')  # as in the upgrade
        for table in NAMED_TABLES + SHOWN_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS feed_names_bump ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS feed_names_truncate ON {table}')
        for table in ROW_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS row_version_stamp ON {table}')
            op.execute(f'ALTER TABLE {table} DROP COLUMN row_version')
        op.execute('DROP FUNCTION IF EXISTS bump_feed_names()')
        op.execute('DROP FUNCTION IF EXISTS stamp_row_version()')
        op.execute('DROP SEQUENCE IF EXISTS row_version')
    else:
        for table in NAMED_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS feed_names_update_{table}')
        for table in SHOWN_TABLES:
            for operation in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS feed_names_{operation}_{table}')
        _guard_updates(of_columns=False)
        for table in ROW_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS row_version_insert_{table}')
            op.execute(f'DROP TRIGGER IF EXISTS row_version_update_{table}')
            op.execute(f'ALTER TABLE {table} DROP COLUMN row_version')  # in place (3.35+)
    op.drop_table('feed_version')
