"""course and tune-up sessions: bookings beyond one event's pre and post

- booking.kind may be 'course' (core/courses.py: a course of sessions in the weeks before
  a race's pre window) or 'tune-up' (a periodic session in a quiet period, which belongs
  to no event: event_id is NULL exactly for a tune-up, CHECK ck_booking_tune_up_event). An
  athlete may have several of either, so the partial unique index "one confirmed booking
  per athlete, event and kind" now covers 'pre' and 'post' only.
- SQLite: the batch copy of the table drops its triggers; they are read before and
  created again after, unchanged (as in 0006).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEX = 'uq_booking_one_confirmed_per_kind'
ONCE_OLD = "status = 'confirmed'"
ONCE_NEW = "status = 'confirmed' AND kind IN ('pre', 'post')"
TUNE_UP_EVENT = "(kind = 'tune-up') = (event_id IS NULL)"


def _triggers(table):
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return []
    return list(bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table "
        "ORDER BY name"), {'table': table}).scalars())


def _change(kinds, where, tune_ups):
    kept = _triggers('booking')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        if tune_ups:
            batch_op.alter_column('event_id', existing_type=sa.Integer(), nullable=True)
            batch_op.create_check_constraint(op.f('ck_booking_tune_up_event'), TUNE_UP_EVENT)
        else:
            batch_op.drop_constraint(op.f('ck_booking_tune_up_event'), type_='check')
            batch_op.alter_column('event_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f('ck_booking_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_booking_kind'), f"kind IN ({', '.join(repr(k) for k in kinds)})")
        batch_op.drop_index(INDEX)
        batch_op.create_index(INDEX, ['athlete_id', 'event_id', 'kind'], unique=True,
                              postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    for statement in kept:
        op.execute(statement)


def upgrade():
    _change(('pre', 'post', 'course', 'tune-up'), ONCE_NEW, tune_ups=True)


def downgrade():
    op.execute("DELETE FROM booking WHERE kind IN ('course', 'tune-up')")
    _change(('pre', 'post'), ONCE_OLD, tune_ups=False)
