"""Users and their bearer tokens. Tokens are shown once and stored only as SHA-256 hashes
(a token is 256 random bits, so a plain hash is enough; no slow KDF needed)."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select

from ..core.errors import Conflict, InvalidValue
from ..db.models import ROLES, Athlete, Team, TeamMember, Therapist, User
from ..extensions import db
from .common import stamp

EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
MAX_EMAIL, MAX_NAME = 254, 200


class EmailTaken(Conflict):
    code = "email-taken"

    def __init__(self, email: str, what: str = "user") -> None:
        article = "an" if what == "athlete" else "a"
        super().__init__(f"{article} {what} with email {email} already exists", field="email",
                         email=email)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checked_user(email: str, role: str, name: str) -> tuple[str, str, str]:
    """Normalised (email, role, name), or InvalidValue naming the field (the CLI's only check;
    the API's schema checks the same first)."""
    email = email.strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        raise InvalidValue(f"{email!r} is not an email address", field="email")
    if role not in ROLES:
        raise InvalidValue(f"the role must be one of {', '.join(ROLES)}", field="role")
    if len(name) > MAX_NAME or "\x00" in name:
        raise InvalidValue(f"a name has at most {MAX_NAME} characters and no NUL",
                           field="name")
    return email, role, name


def create_user(email: str, role: str, name: str = "") -> tuple[User, str]:
    """Create a user; return it with its token (the only time the token is visible)."""
    email, role, name = _checked_user(email, role, name)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(email)
    token = secrets.token_urlsafe(32)
    user = User(email=email, role=role, name=name, token_hash=hash_token(token),
                created_at=stamp())
    db.session.add(user)
    db.session.flush()
    return user, token


def rotate_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    return db.session.scalar(select(User).where(User.token_hash == hash_token(token)))


def therapist_of(user: User) -> Therapist | None:
    return db.session.scalar(select(Therapist).where(Therapist.email == user.email))


def athlete_of(user: User) -> Athlete | None:
    return db.session.scalar(select(Athlete).where(Athlete.email == user.email))


def coached_athlete_ids(user: User) -> set[int]:
    rows = db.session.scalars(
        select(TeamMember.athlete_id).join(Team, Team.id == TeamMember.team_id)
        .where(Team.coach_email == user.email))
    return set(rows)
