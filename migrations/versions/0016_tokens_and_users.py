"""tokens and users: feed tokens kept as hashes, API tokens that expire, disabled users

- calendar_feed.token becomes token_hash: each existing token is replaced in place by its
  SHA-256 (hex), so every feed URL handed out before keeps working (a feed is looked up by
  the hash of the token in its URL) while the database no longer holds a usable token.
  calendar_feed.token_seed: the random seed a new token is derived from with the app's key
  (services/calendars.py), so the pages can show the link again; NULL for the tokens
  hashed here (their link still works but can no longer be shown: rotating makes a new
  one that can).
- api_token.expires_at (NULL: never) and last_used_at (written at most once a minute).
- user_account.disabled_at (NULL: active): a disabled user cannot sign in, and their
  sessions and tokens stop working.
- Plain ADD COLUMN and RENAME COLUMN in place on both backends (no batch copy: SQLite keeps
  its triggers, as 0014 and 0015 say).

Downgrading renames the column back but cannot bring the tokens back: every feed then
needs a rotate for a working link.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:00:00.000000

"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _hash_tokens() -> None:
    conn = op.get_bind()
    found = conn.execute(sa.text('SELECT id, token_hash FROM calendar_feed')).all()
    for feed_id, token in found:
        conn.execute(sa.text('UPDATE calendar_feed SET token_hash = :hash WHERE id = :id'),
                     {'hash': hashlib.sha256(token.encode()).hexdigest(), 'id': feed_id})


def upgrade():
    op.execute('ALTER TABLE calendar_feed RENAME COLUMN token TO token_hash')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE calendar_feed RENAME CONSTRAINT uq_calendar_feed_token '
                   'TO uq_calendar_feed_token_hash')
    op.add_column('calendar_feed', sa.Column('token_seed', sa.String(64), nullable=True))
    op.add_column('api_token', sa.Column('expires_at', TS, nullable=True))
    op.add_column('api_token', sa.Column('last_used_at', TS, nullable=True))
    op.add_column('user_account', sa.Column('disabled_at', TS, nullable=True))
    # The data step last: on PostgreSQL the UPDATE queues calendar_feed's deferred
    # data_version trigger (0004), and a table with pending trigger events cannot be altered.
    _hash_tokens()


def downgrade():
    op.drop_column('user_account', 'disabled_at')
    op.drop_column('api_token', 'last_used_at')
    op.drop_column('api_token', 'expires_at')
    op.drop_column('calendar_feed', 'token_seed')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE calendar_feed RENAME CONSTRAINT uq_calendar_feed_token_hash '
                   'TO uq_calendar_feed_token')
    op.execute('ALTER TABLE calendar_feed RENAME COLUMN token_hash TO token')
