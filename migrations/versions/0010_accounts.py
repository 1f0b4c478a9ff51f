"""accounts: passwords, named API tokens, one-time sign-in links

- user_account: `password_hash` (argon2id; NULL until the user sets one through an
  invitation or a reset link) and `login_version` (part of a signed-in session's id:
  raising it ends every session issued before). `token_hash` moves out:
- api_token: a user's named bearer tokens (SHA-256 hashes, unique). Every existing
  user's token becomes one token named "first token", so every token keeps working.
- sign_in_link: one-time links (`reset`, `invite`), stored as hashes, expiring, single use.

The user_account change runs first and the old tokens are carried over in Python: SQLite
rebuilds the table (batch mode), which must not cascade into tables that point at it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _user_fk(table):
    return sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE',
                                   name=op.f(f'fk_{table}_user_id_user_account'))


def upgrade():
    bind = op.get_bind()
    tokens = bind.execute(sa.text(
        'SELECT id, token_hash, created_at FROM user_account ORDER BY id')).all()
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_token_hash'), type_='unique')
        batch_op.drop_column('token_hash')
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('login_version', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        _user_fk('api_token'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    op.create_index('ix_api_token_user_id', 'api_token', ['user_id'])
    op.create_table(
        'sign_in_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.CheckConstraint("purpose IN ('reset', 'invite')",
                           name=op.f('ck_sign_in_link_purpose')),
        _user_fk('sign_in_link'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_link')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_link_token_hash')),
    )
    op.create_index('ix_sign_in_link_user_id', 'sign_in_link', ['user_id'])
    if tokens:  # the stored values as read (SQLite's text stamps stay as they were)
        bind.execute(sa.text(
            "INSERT INTO api_token (user_id, name, token_hash, created_at) "
            "VALUES (:user_id, 'first token', :token_hash, :created_at)"),
            [{'user_id': u, 'token_hash': h, 'created_at': c} for u, h, c in tokens])


def downgrade():
    bind = op.get_bind()
    first = dict(bind.execute(sa.text(
        'SELECT user_id, MIN(token_hash) FROM api_token GROUP BY user_id')).all())
    op.drop_table('sign_in_link')
    op.drop_table('api_token')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('login_version')
        batch_op.drop_column('password_hash')
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
    for user_id, in bind.execute(sa.text('SELECT id FROM user_account')).all():
        # A user without a token gets a hash no token has (64 hex digits of its id).
        bind.execute(sa.text('UPDATE user_account SET token_hash = :h WHERE id = :id'),
                     {'h': first.get(user_id) or f'{user_id:064x}', 'id': user_id})
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('token_hash', nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_token_hash'),
                                          ['token_hash'])
