"""seasons and teams: a session shared by two events, the coach's team summary email

- booking.shared_event_id: a session that serves a second event of the athlete's season
  as well (the post of one event that is the pre of the next, services/season.py); NULL
  for an ordinary session. Deleting that event makes the session an ordinary one again.
- mail_message.method may be 'SUMMARY': the coach's plain-text summary of a team booking
  (no calendar part; every athlete and therapist gets their own invite).
- SQLite: a batch change copies the table, and dropping the old one drops its triggers
  (booking's overlap and span guards of 0001/0002): they are read before and created again
  after, unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _method_check(batch_op, methods):
    batch_op.drop_constraint(op.f('ck_mail_message_method'), type_='check')
    batch_op.create_check_constraint(
        op.f('ck_mail_message_method'), f"method IN ({', '.join(repr(m) for m in methods)})")


def _triggers(table):
    """The CREATE TRIGGER statements on `table` (SQLite; none elsewhere)."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return []
    return list(bind.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table "
        "ORDER BY name"), {'table': table}).scalars())


def _restore(triggers):
    for statement in triggers:
        op.execute(statement)


def upgrade():
    kept = _triggers('booking')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_event_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_booking_shared_event_id_event'), 'event',
                                    ['shared_event_id'], ['id'], ondelete='SET NULL')
    _restore(kept)
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        _method_check(batch_op, ('REQUEST', 'CANCEL', 'SUMMARY'))


def downgrade():
    op.execute("DELETE FROM mail_message WHERE method = 'SUMMARY'")
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        _method_check(batch_op, ('REQUEST', 'CANCEL'))
    kept = _triggers('booking')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_booking_shared_event_id_event'), type_='foreignkey')
        batch_op.drop_column('shared_event_id')
    _restore(kept)
