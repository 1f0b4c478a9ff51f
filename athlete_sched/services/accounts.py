"""Users and their bearer tokens. Tokens are shown once and stored only as SHA-256 hashes
(a token is 256 random bits, so a plain hash is enough; no slow KDF needed)."""

from __future__ import annotations

import hashlib
import re
import secrets

from ..core.errors import Conflict, DomainError, InvalidValue, NotFound
from ..db.models import User
from ..db.queries import rows, users
from .access import ROLES, Caller, require_role
from .common import stamp

EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
MAX_EMAIL, MAX_NAME = 254, 200


class EmailTaken(Conflict):
    code = "email-taken"

    def __init__(self, email: str, what: str = "user") -> None:
        article = "an" if what == "athlete" else "a"
        super().__init__(f"{article} {what} with email {email} already exists", field="email",
                         email=email)


class UnknownUser(NotFound):
    def __init__(self, email: str) -> None:
        DomainError.__init__(self, f"no user with email {email}", field="email", email=email)


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
    if users.email_taken(email):
        raise EmailTaken(email)
    token = secrets.token_urlsafe(32)
    user = rows.add(User(email=email, role=role, name=name, token_hash=hash_token(token),
                         created_at=stamp()))
    return user, token


def create_user_for(caller: Caller, email: str, role: str, name: str) -> tuple[User, str]:
    """An admin creates a user (POST /users)."""
    require_role(caller, ("admin",))
    return create_user(email, role, name)


def rotate_token(email: str) -> tuple[User, str]:
    """Replace the user's token; the user and the new token (shown once)."""
    user = users.by_email(email.strip().lower())
    if user is None:
        raise UnknownUser(email)
    token = secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    rows.flush()
    return user, token


def caller_for_token(token: str) -> Caller | None:
    """Who holds this token (None: nobody), with the profiles they act as (one query)."""
    acting = users.acting_by_token_hash(hash_token(token))
    if acting is None:
        return None
    user = acting.user
    return Caller(role=user.role, email=user.email, name=user.name, user_id=user.id,
                  athlete_id=acting.athlete_id, therapist_id=acting.therapist_id)
