"""initial schema, with the booking guarantees in the database

PostgreSQL: exclusion constraints (btree_gist + tstzrange) so that no two confirmed
bookings overlap for one therapist (blocked range: session plus buffer) or for one
athlete. SQLite: triggers that refuse the same overlaps. Both: a partial unique index,
one confirmed booking per athlete, event and kind.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 19:26:43.700044

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('athlete',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('sport', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.CheckConstraint("sport IN ('running', 'mtb', 'cycling', 'triathlon', 'other')", name=op.f('ck_athlete_sport')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_athlete')),
    sa.UniqueConstraint('email', name=op.f('uq_athlete_email'))
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('coach_email', sa.String(length=254), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team'))
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_coach_email'), ['coach_email'], unique=False)

    op.create_table('therapist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('session_minutes', sa.Integer(), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('slot_step_minutes', sa.Integer(), nullable=False),
    sa.CheckConstraint('buffer_minutes BETWEEN 0 AND 240', name=op.f('ck_therapist_buffer_minutes')),
    sa.CheckConstraint('session_minutes BETWEEN 5 AND 480', name=op.f('ck_therapist_session_minutes')),
    sa.CheckConstraint('slot_step_minutes BETWEEN 1 AND 240', name=op.f('ck_therapist_slot_step_minutes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_therapist')),
    sa.UniqueConstraint('email', name=op.f('uq_therapist_email'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'therapist', 'coach', 'athlete')", name=op.f('ck_user_account_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_account_token_hash'))
    )
    op.create_table('busy_interval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.CheckConstraint('"start" < "end"', name=op.f('ck_busy_interval_period')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_busy_interval_therapist_id_therapist'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_busy_interval'))
    )
    with op.batch_alter_table('busy_interval', schema=None) as batch_op:
        batch_op.create_index('ix_busy_interval_therapist_end', ['therapist_id', 'end'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('athlete_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sport', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_is_date', sa.Boolean(), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_is_date', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("priority IN ('A', 'B', 'C')", name=op.f('ck_event_priority')),
    sa.CheckConstraint("sport IN ('running', 'mtb', 'cycling', 'triathlon', 'other')", name=op.f('ck_event_sport')),
    sa.CheckConstraint('"end" IS NULL OR "end" >= "start"', name=op.f('ck_event_period')),
    sa.CheckConstraint('(athlete_id IS NULL) <> (team_id IS NULL)', name=op.f('ck_event_one_owner')),
    sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'], name=op.f('fk_event_athlete_id_athlete'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_event_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_athlete_id'), ['athlete_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_team_id'), ['team_id'], unique=False)

    op.create_table('team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('athlete_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'], name=op.f('fk_team_member_athlete_id_athlete'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'athlete_id', name=op.f('pk_team_member'))
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_athlete_id'), ['athlete_id'], unique=False)

    op.create_table('time_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.CheckConstraint('"start" < "end"', name=op.f('ck_time_off_period')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_time_off_therapist_id_therapist'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_off'))
    )
    with op.batch_alter_table('time_off', schema=None) as batch_op:
        batch_op.create_index('ix_time_off_therapist_end', ['therapist_id', 'end'], unique=False)

    op.create_table('working_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.CheckConstraint('day BETWEEN 0 AND 6', name=op.f('ck_working_period_day')),
    sa.CheckConstraint('start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute', name=op.f('ck_working_period_period')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_working_period_therapist_id_therapist'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_period'))
    )
    with op.batch_alter_table('working_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_working_period_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('athlete_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('block_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('pre', 'post')", name=op.f('ck_booking_kind')),
    sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name=op.f('ck_booking_status')),
    sa.CheckConstraint('"end" <= block_end', name=op.f('ck_booking_block')),
    sa.CheckConstraint('"start" < "end"', name=op.f('ck_booking_period')),
    sa.CheckConstraint('sequence >= 0', name=op.f('ck_booking_sequence')),
    sa.ForeignKeyConstraint(['athlete_id'], ['athlete.id'], name=op.f('fk_booking_athlete_id_athlete'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_booking_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_booking_therapist_id_therapist'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking')),
    sa.UniqueConstraint('uid', name='uq_booking_uid')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_athlete_end', ['athlete_id', 'end'], unique=False)
        batch_op.create_index('ix_booking_event', ['event_id'], unique=False)
        batch_op.create_index('ix_booking_therapist_block_end', ['therapist_id', 'block_end'], unique=False)
        batch_op.create_index('uq_booking_one_confirmed_per_kind', ['athlete_id', 'event_id', 'kind'], unique=True, postgresql_where=sa.text("status = 'confirmed'"), sqlite_where=sa.text("status = 'confirmed'"))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT ex_booking_therapist_overlap "
            "EXCLUDE USING gist (therapist_id WITH =, tstzrange(start, block_end) WITH &&) "
            "WHERE (status = 'confirmed')")
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT ex_booking_athlete_overlap "
            "EXCLUDE USING gist (athlete_id WITH =, tstzrange(start, \"end\") WITH &&) "
            "WHERE (status = 'confirmed')")
    elif bind.dialect.name == "sqlite":
        for when, exclude in (("INSERT", ""), ("UPDATE", "AND b.id <> NEW.id ")):
            op.execute(
                f"CREATE TRIGGER booking_therapist_overlap_{when.lower()} "
                f"BEFORE {when} ON booking WHEN NEW.status = 'confirmed' AND EXISTS ("
                f"SELECT 1 FROM booking b WHERE b.therapist_id = NEW.therapist_id "
                f"AND b.status = 'confirmed' {exclude}"
                f"AND b.start < NEW.block_end AND NEW.start < b.block_end) "
                f"BEGIN SELECT RAISE(ABORT, 'ex_booking_therapist_overlap'); END")
            op.execute(
                f"CREATE TRIGGER booking_athlete_overlap_{when.lower()} "
                f"BEFORE {when} ON booking WHEN NEW.status = 'confirmed' AND EXISTS ("
                f"SELECT 1 FROM booking b WHERE b.athlete_id = NEW.athlete_id "
                f"AND b.status = 'confirmed' {exclude}"
                f"AND b.start < NEW.\"end\" AND NEW.start < b.\"end\") "
                f"BEGIN SELECT RAISE(ABORT, 'ex_booking_athlete_overlap'); END")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("therapist", "athlete"):
            for when in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS booking_{name}_overlap_{when}")
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('uq_booking_one_confirmed_per_kind', postgresql_where=sa.text("status = 'confirmed'"), sqlite_where=sa.text("status = 'confirmed'"))
        batch_op.drop_index('ix_booking_therapist_block_end')
        batch_op.drop_index('ix_booking_event')
        batch_op.drop_index('ix_booking_athlete_end')

    op.drop_table('booking')
    with op.batch_alter_table('working_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_working_period_therapist_id'))

    op.drop_table('working_period')
    with op.batch_alter_table('time_off', schema=None) as batch_op:
        batch_op.drop_index('ix_time_off_therapist_end')

    op.drop_table('time_off')
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_athlete_id'))

    op.drop_table('team_member')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_team_id'))
        batch_op.drop_index(batch_op.f('ix_event_athlete_id'))

    op.drop_table('event')
    with op.batch_alter_table('busy_interval', schema=None) as batch_op:
        batch_op.drop_index('ix_busy_interval_therapist_end')

    op.drop_table('busy_interval')
    op.drop_table('user_account')
    op.drop_table('therapist')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_coach_email'))

    op.drop_table('team')
    op.drop_table('athlete')
