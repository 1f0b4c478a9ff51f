"""Users, their API tokens and one-time links, and the profiles they act as (a therapist or
athlete user acts as the therapist or athlete profile with the same email)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Connection, Select, bindparam, delete, func, or_, select, update

from ...extensions import db
from ..models import ApiToken, Athlete, SignInLink, Therapist, User


class Acting(NamedTuple):
    """A user with the ids of the profiles that share its email (None: no such profile)."""

    user: User
    athlete_id: int | None
    therapist_id: int | None


class Holding(NamedTuple):
    """A token's holder (Acting) with the token's id, expiry and last use."""

    acting: Acting
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None


def by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


def _acting() -> Select:
    return (select(User, Athlete.id, Therapist.id)
            .outerjoin(Athlete, Athlete.email == User.email)
            .outerjoin(Therapist, Therapist.email == User.email))


@cache
def _by_token_statement() -> Select:
    """Built once: every API request authenticates (db/queries/spans.py, on statements)."""
    return (_acting().add_columns(ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("token_hash")))


@cache
def _by_id_statement() -> Select:
    """Built once: every signed-in page request reads its user."""
    return _acting().where(User.id == bindparam("user_id"))


def holding_by_token_hash(token_hash: str) -> Holding | None:
    """The user holding this token, with its profiles' ids and the token's expiry and last
    use, in one query."""
    row = db.session.execute(_by_token_statement(), {"token_hash": token_hash}).first()
    return None if row is None else Holding(Acting(*row[:3]), *row[3:])


def acting_by_id(user_id: int) -> Acting | None:
    """The user, with its profiles' ids, in one query."""
    row = db.session.execute(_by_id_statement(), {"user_id": user_id}).first()
    return None if row is None else Acting(*row)


def tokens_of(user_id: int, after_id: int = 0, limit: int | None = None) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                          ApiToken.id > after_id)
                                   .order_by(ApiToken.id).limit(limit)))


def token_of(user_id: int, token_id: int) -> ApiToken | None:
    return db.session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                    ApiToken.user_id == user_id))


def touch_token(connection: Connection, token_id: int, at: datetime, before: datetime) -> None:
    """Note a use of the token at `at`, unless one after `before` is noted already (a
    connection of its own: unit_of_work.separate)."""
    connection.execute(update(ApiToken)
                       .where(ApiToken.id == token_id,
                              or_(ApiToken.last_used_at.is_(None),
                                  ApiToken.last_used_at < before))
                       .values(last_used_at=at))


def drop_tokens(user_id: int) -> None:
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def link_by_hash(token_hash: str) -> SignInLink | None:
    return db.session.scalar(select(SignInLink).where(SignInLink.token_hash == token_hash))


def page(after_id: int, limit: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.id > after_id)
                                   .order_by(User.id).limit(limit)))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def use_links(user_id: int, purpose: str, at: datetime) -> None:
    """Use up every open link of this purpose of the user."""
    db.session.execute(update(SignInLink)
                       .where(SignInLink.user_id == user_id, SignInLink.purpose == purpose,
                              SignInLink.used_at.is_(None))
                       .values(used_at=at))
