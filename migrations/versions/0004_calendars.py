"""calendars in and out: busy calendars (upload and subscriptions), feed tokens, the iMIP
mail queue, event.updated_at

- busy_calendar: where a therapist's busy intervals come from (one upload per therapist,
  any number of subscribed URLs), with the last good import's hash and the server's
  validators, the last attempt and its error. busy_interval.calendar_id links each
  interval to its calendar, so an import replaces exactly its own intervals.
- calendar_feed: one secret feed token per therapist, athlete or team.
- mail_message: iMIP messages queued in the booking's transaction, sent after commit.
- data_version (PostgreSQL's use; the table exists on both): a commit counter for the
  per-process caches (athlete_sched/db/version.py). A deferred constraint trigger on every
  table an answer is built from adds 1 to one of 16 counter rows (chosen by backend pid)
  once per writing transaction, at commit time: after every other lock the transaction
  takes, so it cannot join a deadlock (TRUNCATE, which fires no row trigger, bumps at once), and spread over rows so that committers rarely wait
  for each other. sum(n) then names the committed state a READ COMMITTED statement sees.
- event.updated_at: a feed's Last-Modified and an event's DTSTAMP; existing events take
  their created_at. (SQLite cannot add a NOT NULL column without a default, so the column
  is added with a placeholder default that is overwritten at once and that the app never
  relies on: the model always sets the value.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ONE_FEED_OWNER = ' + '.join(f'CASE WHEN {owner} IS NULL THEN 0 ELSE 1 END'
                            for owner in ('therapist_id', 'athlete_id', 'team_id')) + ' = 1'



VERSIONED_TABLES = ('therapist', 'working_period', 'time_off', 'busy_interval', 'busy_calendar',
                    'athlete', 'team', 'team_member', 'event', 'booking', 'calendar_feed')
VERSION_SHARDS = 16
BUMP_DATA_VERSION = f"""
CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
  IF current_setting('athlete_sched.version_bumped', true) IS DISTINCT FROM txid_current()::text
  THEN
    UPDATE data_version SET n = n + 1 WHERE shard = pg_backend_pid() % {VERSION_SHARDS};
    PERFORM set_config('athlete_sched.version_bumped', txid_current()::text, true);
  END IF;
  RETURN NULL;
END
$function$
"""


def upgrade():
    op.create_table(
        'data_version',
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('shard', name=op.f('pk_data_version')),
    )
    op.bulk_insert(sa.table('data_version', sa.column('shard', sa.Integer),
                            sa.column('n', sa.BigInteger)),
                   [{'shard': i, 'n': 0} for i in range(VERSION_SHARDS)])
    op.create_table(
        'busy_calendar',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('therapist_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('interval_minutes', sa.Integer(), nullable=False),
        sa.Column('body_hash', sa.String(length=64), nullable=True),
        sa.Column('etag', sa.String(length=512), nullable=True),
        sa.Column('last_modified', sa.String(length=64), nullable=True),
        sa.Column('busy_count', sa.Integer(), nullable=False),
        sa.Column('synced_at', TS, nullable=True),
        sa.Column('checked_at', TS, nullable=True),
        sa.Column('due_at', TS, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('error_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint("kind IN ('upload', 'url')", name=op.f('ck_busy_calendar_kind')),
        sa.CheckConstraint("(kind = 'url') = (url IS NOT NULL)", name=op.f('ck_busy_calendar_url')),
        sa.CheckConstraint('interval_minutes BETWEEN 5 AND 10080',
                           name=op.f('ck_busy_calendar_interval_minutes')),
        sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], ondelete='CASCADE',
                                name=op.f('fk_busy_calendar_therapist_id_therapist')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_busy_calendar')),
    )
    op.create_index('ix_busy_calendar_therapist_id', 'busy_calendar', ['therapist_id'])
    op.create_index('ix_busy_calendar_due', 'busy_calendar', ['kind', 'due_at'])
    op.create_index('uq_busy_calendar_one_upload', 'busy_calendar', ['therapist_id'],
                    unique=True, postgresql_where=sa.text("kind = 'upload'"),
                    sqlite_where=sa.text("kind = 'upload'"))

    with op.batch_alter_table('busy_interval') as batch:
        batch.add_column(sa.Column('calendar_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_busy_interval_calendar_id_busy_calendar'),
                                 'busy_calendar', ['calendar_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_busy_interval_calendar_id', 'busy_interval', ['calendar_id'])

    op.create_table(
        'calendar_feed',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('therapist_id', sa.Integer(), nullable=True),
        sa.Column('athlete_id', sa.Integer(), nullable=True),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('rotated_at', TS, nullable=False),
        sa.CheckConstraint(ONE_FEED_OWNER, name=op.f('ck_calendar_feed_one_owner')),
        sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_feed_therapist_id_therapist')),
        sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_feed_athlete_id_athlete')),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_feed_team_id_team')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feed')),
        sa.UniqueConstraint('token', name=op.f('uq_calendar_feed_token')),
        sa.UniqueConstraint('therapist_id', name=op.f('uq_calendar_feed_therapist_id')),
        sa.UniqueConstraint('athlete_id', name=op.f('uq_calendar_feed_athlete_id')),
        sa.UniqueConstraint('team_id', name=op.f('uq_calendar_feed_team_id')),
    )

    op.create_table(
        'mail_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_attempt_at', TS, nullable=True),
        sa.Column('sent_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint("method IN ('REQUEST', 'CANCEL')", name=op.f('ck_mail_message_method')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='SET NULL',
                                name=op.f('fk_mail_message_booking_id_booking')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_message')),
    )
    op.create_index('ix_mail_message_booking_id', 'mail_message', ['booking_id'])
    op.create_index('ix_mail_message_unsent', 'mail_message', ['sent_at', 'id'])

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BUMP_DATA_VERSION)
        for table in VERSIONED_TABLES:
            op.execute(f'CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT OR UPDATE OR '
                       f'DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                       f'EXECUTE FUNCTION bump_data_version()')
            op.execute(f'CREATE TRIGGER data_version_truncate AFTER TRUNCATE ON {table} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()')

    op.add_column('event', sa.Column('updated_at', TS, nullable=False,
                                     server_default='1970-01-01 00:00:00+00:00'))
    op.execute('UPDATE event SET updated_at = created_at')
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('event', 'updated_at', server_default=None)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in VERSIONED_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS data_version_bump ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS data_version_truncate ON {table}')
        op.execute('DROP FUNCTION IF EXISTS bump_data_version()')
    op.drop_table('data_version')
    with op.batch_alter_table('event') as batch:
        batch.drop_column('updated_at')
    op.drop_table('mail_message')
    op.drop_table('calendar_feed')
    op.drop_index('ix_busy_interval_calendar_id', table_name='busy_interval')
    with op.batch_alter_table('busy_interval') as batch:
        batch.drop_constraint(op.f('fk_busy_interval_calendar_id_busy_calendar'), type_='foreignkey')
        batch.drop_column('calendar_id')
    op.drop_table('busy_calendar')
