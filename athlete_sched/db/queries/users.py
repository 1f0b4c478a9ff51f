"""Users and the profiles they act as (a therapist or athlete user acts as the therapist or
athlete profile with the same email)."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select

from ...extensions import db
from ..models import Athlete, Therapist, User


class Acting(NamedTuple):
    """A user with the ids of the profiles that share its email (None: no such profile)."""

    user: User
    athlete_id: int | None
    therapist_id: int | None


def by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


@cache
def _acting_statement() -> Select:
    """Built once: every API request authenticates (db/queries/spans.py, on statements)."""
    return (select(User, Athlete.id, Therapist.id)
            .outerjoin(Athlete, Athlete.email == User.email)
            .outerjoin(Therapist, Therapist.email == User.email)
            .where(User.token_hash == bindparam("token_hash")))


def acting_by_token_hash(token_hash: str) -> Acting | None:
    """The user holding this token, with its profiles' ids, in one query."""
    row = db.session.execute(_acting_statement(), {"token_hash": token_hash}).first()
    return None if row is None else Acting(*row)
