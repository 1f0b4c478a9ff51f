"""booking flags: a session a race move left outside its new windows

- booking.flag: NULL, or 'outside-window' when the event it serves moved (PATCH without
  move_bookings, a course session left in place) and its window no longer holds it; cleared
  when the session is rescheduled, cancelled, or the race moves back so it fits again.
  booking.flagged_at: when the flag was set (NULL with it).
- The data_version triggers of 0004 are per table and already on booking: nothing to add.
  Plain ADD COLUMN on both backends (nullable, no batch copy: SQLite keeps its triggers).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('booking', sa.Column('flag', sa.String(length=16), nullable=True))
    op.add_column('booking', sa.Column('flagged_at', sa.DateTime(timezone=True),
                                       nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would drop booking's triggers.
    op.drop_column('booking', 'flagged_at')
    op.drop_column('booking', 'flag')
