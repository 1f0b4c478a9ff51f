"""jobs: the waiting list, notices sent, race calendars, reminder preference (issue 15)

- waitlist_entry: an athlete waiting for a slot in one window (pre or post) of an event,
  in line by (created_at, id), one place per athlete, event and window; the offer held
  for them (therapist, [offer_start, offer_end), blocked to offer_block_end, until
  offer_expires) while they may book it.
- sent_notice: one row per notice queued (kind, key) — a reminder of a booking at the
  start it announced, a check-in, an offer, a new race — written with its mail, so that
  two workers never queue one twice (the unique key refuses the second).
- race_calendar: an athlete's race calendar, uploaded or subscribed (as busy_calendar).
- event.calendar_uid (unique per athlete) and event.removed_from_calendar: the races a
  race calendar brought, kept in step by UID.
- athlete.reminders: reminders and check-ins on (the default) or off.
- mail_message.method may be 'NOTICE': a plain message of the background work.
- ADD COLUMN in place on athlete and event (no batch copy: SQLite keeps their triggers,
  as 0014-0018 say); mail_message has no triggers, so its CHECK is changed by a batch
  copy on SQLite, as 0006 did.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _method_check(methods):
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mail_message_method'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_mail_message_method'), f"method IN ({', '.join(repr(m) for m in methods)})")


def _calendar_table():
    op.create_table(
        'race_calendar',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('athlete_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('interval_minutes', sa.Integer(), nullable=False),
        sa.Column('body_hash', sa.String(length=64), nullable=True),
        sa.Column('etag', sa.String(length=512), nullable=True),
        sa.Column('last_modified', sa.String(length=64), nullable=True),
        sa.Column('event_count', sa.Integer(), nullable=False),
        sa.Column('synced_at', TS, nullable=True),
        sa.Column('checked_at', TS, nullable=True),
        sa.Column('due_at', TS, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('error_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint("(kind = 'url') = (url IS NOT NULL)", name=op.f('ck_race_calendar_url')),
        sa.CheckConstraint("kind IN ('upload', 'url')", name=op.f('ck_race_calendar_kind')),
        sa.CheckConstraint('interval_minutes BETWEEN 5 AND 10080',
                           name=op.f('ck_race_calendar_interval_minutes')),
        sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'],
                                name=op.f('fk_race_calendar_athlete_id_athlete'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_race_calendar')),
    )
    op.create_index(op.f('ix_race_calendar_athlete_id'), 'race_calendar', ['athlete_id'])
    op.create_index('ix_race_calendar_due', 'race_calendar', ['kind', 'due_at'])
    op.create_index('uq_race_calendar_one_upload', 'race_calendar', ['athlete_id'], unique=True,
                    postgresql_where=sa.text("kind = 'upload'"),
                    sqlite_where=sa.text("kind = 'upload'"))


def _waitlist_table():
    op.create_table(
        'waitlist_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('athlete_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('offer_therapist_id', sa.Integer(), nullable=True),
        sa.Column('offer_site_id', sa.Integer(), nullable=True),
        sa.Column('offer_start', TS, nullable=True),
        sa.Column('offer_end', TS, nullable=True),
        sa.Column('offer_block_end', TS, nullable=True),
        sa.Column('offered_at', TS, nullable=True),
        sa.Column('offer_expires', TS, nullable=True),
        sa.Column('offers_made', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('pre', 'post')", name=op.f('ck_waitlist_entry_kind')),
        sa.CheckConstraint('(offer_start IS NULL) = (offer_expires IS NULL)',
                           name=op.f('ck_waitlist_entry_offer')),
        sa.CheckConstraint('offer_start IS NULL OR (offer_start < offer_end '
                           'AND offer_end <= offer_block_end)',
                           name=op.f('ck_waitlist_entry_offer_period')),
        sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'],
                                name=op.f('fk_waitlist_entry_athlete_id_athlete'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_waitlist_entry_event_id_event'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['offer_site_id'], ['site.id'],
                                name=op.f('fk_waitlist_entry_offer_site_id_site')),
        sa.ForeignKeyConstraint(['offer_therapist_id'], ['therapist.id'],
                                name=op.f('fk_waitlist_entry_offer_therapist_id_therapist'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry')),
        sa.UniqueConstraint('event_id', 'athlete_id', 'kind', name='uq_waitlist_entry_place'),
    )
    op.create_index('ix_waitlist_entry_athlete', 'waitlist_entry', ['athlete_id'])
    op.create_index('ix_waitlist_entry_line', 'waitlist_entry',
                    ['event_id', 'kind', 'created_at', 'id'])
    op.create_index('ix_waitlist_entry_offer', 'waitlist_entry',
                    ['offer_therapist_id', 'offer_block_end'])


def _notice_table():
    op.create_table(
        'sent_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('athlete_id', sa.Integer(), nullable=True),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'],
                                name=op.f('fk_sent_notice_athlete_id_athlete'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'],
                                name=op.f('fk_sent_notice_booking_id_booking'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_sent_notice_event_id_event'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_notice')),
        sa.UniqueConstraint('kind', 'key', name='uq_sent_notice_kind_key'),
    )
    op.create_index('ix_sent_notice_booking', 'sent_notice', ['booking_id'])


def upgrade():
    _calendar_table()
    _waitlist_table()
    _notice_table()
    if op.get_bind().dialect.name == 'postgresql':
        # Earlier revisions' data steps may have queued deferred triggers (0004's); a table
        # with pending trigger events cannot be altered.
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')
    op.add_column('athlete', sa.Column('reminders', sa.Boolean(), server_default=sa.true(),
                                       nullable=False))
    op.add_column('event', sa.Column('calendar_uid', sa.String(length=255), nullable=True))
    op.add_column('event', sa.Column('removed_from_calendar', sa.Boolean(),
                                     server_default=sa.false(), nullable=False))
    op.create_index('uq_event_calendar_uid', 'event', ['athlete_id', 'calendar_uid'],
                    unique=True, postgresql_where=sa.text('calendar_uid IS NOT NULL'),
                    sqlite_where=sa.text('calendar_uid IS NOT NULL'))
    _method_check(('REQUEST', 'CANCEL', 'SUMMARY', 'NOTICE'))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('SET CONSTRAINTS ALL IMMEDIATE')
    op.execute("DELETE FROM mail_message WHERE method = 'NOTICE'")
    _method_check(('REQUEST', 'CANCEL', 'SUMMARY'))
    op.drop_index('uq_event_calendar_uid', table_name='event')
    op.drop_column('event', 'removed_from_calendar')
    op.drop_column('event', 'calendar_uid')
    op.drop_column('athlete', 'reminders')
    op.drop_table('sent_notice')
    op.drop_table('waitlist_entry')
    op.drop_table('race_calendar')
