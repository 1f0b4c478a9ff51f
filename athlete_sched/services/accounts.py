"""Users, their passwords and their API tokens.

- **Passwords** are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended setting), rehashed on sign-in when those parameters change. A user has none
  until they set one through an invitation or a reset link (services/sign_in_links.py).
- **Signed-in sessions** are named "<user id>.<login_version>" (what Flask-Login keeps in
  the session and the remember-me cookie): a new password or "sign out everywhere" raises
  the version, and every session named with the old one is over.
- **API tokens** are named, several per user, shown once and stored only as SHA-256 hashes
  (a token is 256 random bits, so a plain hash is enough; no slow KDF needed). A token may
  expire (`expires_at`: from then on it answers as an unknown one); its last use is noted
  at most once a minute (`note_token_use`, in a short transaction of its own after the
  request, so that a read stays a read).
- **Disabled users** (an admin's switch, `set_disabled_for`): no sign-in, no session and
  no token of theirs works while `disabled_at` is set; disabling also ends their sessions
  for good (login_version), re-enabling lets them sign in again and their tokens work again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..core.errors import Conflict, DomainError, InvalidValue, NotFound
from ..db.models import ApiToken, User
from ..db.queries import rows, users
from ..db.queries.users import Acting
from . import unit_of_work
from .access import ROLES, Caller, require_role
from .common import now, stamp

EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
MAX_EMAIL, MAX_NAME, MAX_TOKEN_NAME = 254, 200, 100
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
MAX_TOKEN_DAYS = 3650  # an expiring token lasts at most ten years
TOKEN_USE_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often
FIRST_TOKEN = "first token"
_hasher = PasswordHasher()
_NOBODY = _hasher.hash("no such user: the same work as a real check")


class EmailTaken(Conflict):
    code = "email-taken"

    def __init__(self, email: str, what: str = "user") -> None:
        article = "an" if what == "athlete" else "a"
        super().__init__(f"{article} {what} with email {email} already exists", field="email",
                         email=email)


class UnknownUser(NotFound):
    def __init__(self, email: str) -> None:
        DomainError.__init__(self, f"no user with email {email}", field="email", email=email)


class SignInFailed(InvalidValue):
    code = "sign-in-failed"

    def __init__(self) -> None:
        super().__init__("that email and password do not match an account", field="password")


class AccountDisabled(InvalidValue):
    """Said only after the right password: the account exists and is switched off."""

    code = "account-disabled"

    def __init__(self) -> None:
        super().__init__("this account is disabled: ask the clinic's admin", field="email")


class WrongPassword(InvalidValue):
    code = "wrong-password"

    def __init__(self) -> None:
        super().__init__("that is not your current password", field="current")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normal_email(email: str) -> str:
    return email.strip().lower()


def _checked_user(email: str, role: str, name: str) -> tuple[str, str, str]:
    """Normalised (email, role, name), or InvalidValue naming the field (the CLI's only check;
    the API's schema checks the same first)."""
    email = normal_email(email)
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        raise InvalidValue(f"{email!r} is not an email address", field="email")
    if role not in ROLES:
        raise InvalidValue(f"the role must be one of {', '.join(ROLES)}", field="role")
    if len(name) > MAX_NAME or "\x00" in name:
        raise InvalidValue(f"a name has at most {MAX_NAME} characters and no NUL",
                           field="name")
    return email, role, name


def checked_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"a password needs at least {MIN_PASSWORD} characters",
                           field=field)
    if len(password) > MAX_PASSWORD or "\x00" in password:
        raise InvalidValue(f"a password has at most {MAX_PASSWORD} characters and no NUL",
                           field=field)
    return password


def _new_token(user: User, name: str,
               expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    token = secrets.token_urlsafe(32)
    return rows.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token),
                             created_at=stamp(), expires_at=expires_at)), token


def new_user(email: str, role: str, name: str = "") -> User:
    """A user without a password or a token (an invitation gives them a password)."""
    email, role, name = _checked_user(email, role, name)
    if users.email_taken(email):
        raise EmailTaken(email)
    return rows.add(User(email=email, role=role, name=name, login_version=0,
                         created_at=stamp()))


def create_user(email: str, role: str, name: str = "",
                password: str | None = None) -> tuple[User, str]:
    """Create a user; return it with its first token (the only time the token is visible)."""
    user = new_user(email, role, name)
    if password is not None:
        user.password_hash = _hasher.hash(checked_password(password))
    return user, _new_token(user, FIRST_TOKEN)[1]


def create_user_for(caller: Caller, email: str, role: str, name: str) -> tuple[User, str]:
    """An admin creates a user (POST /users)."""
    require_role(caller, ("admin",))
    return create_user(email, role, name)


def change_role_for(caller: Caller, user_id: int, role: str) -> User:
    """An admin gives a user another role; it holds from the user's next request (their
    sessions and tokens go on). Admins cannot change their own role, so the clinic always
    keeps an admin."""
    require_role(caller, ("admin",))
    if role not in ROLES:
        raise InvalidValue(f"the role must be one of {', '.join(ROLES)}", field="role")
    user = rows.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    if user.id == caller.user_id and role != user.role:
        raise InvalidValue("you cannot change your own role: ask another admin",
                           field="role")
    user.role = role
    rows.flush()
    return user


def rotate_token(email: str) -> tuple[User, str]:
    """Revoke every token of the user and give them a new one (shown once)."""
    user = users.by_email(normal_email(email))
    if user is None:
        raise UnknownUser(email)
    users.drop_tokens(user.id)
    return user, _new_token(user, "rotated from the command line")[1]


def set_password(email: str, password: str) -> User:
    """Set a user's password (the CLI; the demo), ending their sessions elsewhere."""
    user = users.by_email(normal_email(email))
    if user is None:
        raise UnknownUser(email)
    store_password(user, password)
    return user


def store_password(user: User, password: str) -> None:
    user.password_hash = _hasher.hash(checked_password(password))
    user.login_version += 1
    rows.flush()


def _caller_of(acting: Acting) -> Caller:
    user = acting.user
    return Caller(role=user.role, email=user.email, name=user.name, user_id=user.id,
                  athlete_id=acting.athlete_id, therapist_id=acting.therapist_id,
                  login_version=user.login_version)


@dataclass(frozen=True)
class TokenCheck:
    """A token that opens the API: who holds it, and whether to note this use
    (`note_token_use`: its last use is over TOKEN_USE_EVERY ago)."""

    caller: Caller
    token_id: int
    note_use: bool


def check_token(token: str) -> TokenCheck | None:
    """The token's holder (one query); None for an unknown or expired token, or a disabled
    user's."""
    found = users.holding_by_token_hash(hash_token(token))
    at = now()
    if (found is None or found.acting.user.disabled_at is not None
            or (found.expires_at is not None and found.expires_at <= at)):
        return None
    stale = found.last_used_at is None or found.last_used_at <= at - TOKEN_USE_EVERY
    return TokenCheck(_caller_of(found.acting), found.token_id, stale)


def caller_for_token(token: str) -> Caller | None:
    """Who holds this token (None: nobody, an expired token or a disabled user)."""
    checked = check_token(token)
    return None if checked is None else checked.caller


def note_token_use(token_id: int) -> None:
    """Record a use of the token now, in a short transaction of its own (after the
    request's unit has ended); skipped when another worker noted one within the minute."""
    at = now()
    with unit_of_work.separate() as connection:
        users.touch_token(connection, token_id, at, at - TOKEN_USE_EVERY)


def session_id(caller: Caller) -> str:
    return f"{caller.user_id}.{caller.login_version}"


def caller_for_session(sid: str) -> Caller | None:
    """Who a signed-in session belongs to (None: nobody, or a session that has ended)."""
    user_id, _, version = sid.partition(".")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 12:
        return None
    acting = users.acting_by_id(int(user_id))
    if (acting is None or acting.user.login_version != int(version)
            or acting.user.disabled_at is not None):
        return None
    return _caller_of(acting)


def sign_in(email: str, password: str) -> Caller:
    """The caller whose email and password these are; SignInFailed otherwise (as long for
    an unknown email as for a wrong password)."""
    email = normal_email(email)
    user = users.by_email(email) if len(email) <= MAX_EMAIL else None
    stored = user.password_hash if user is not None and user.password_hash else _NOBODY
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise SignInFailed() from None
    if user is None or not user.password_hash:
        raise SignInFailed()
    if user.disabled_at is not None:
        raise AccountDisabled()
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
        rows.flush()
    acting = users.acting_by_id(user.id)
    assert acting is not None
    return _caller_of(acting)


def _own_user(caller: Caller) -> User:
    user = rows.get(User, caller.user_id) if caller.user_id is not None else None
    if user is None:
        raise UnknownUser(caller.email)
    return user


def change_password_for(caller: Caller, current: str, new: str) -> Caller:
    """Change one's own password; every other session ends. The caller to sign in again."""
    user = _own_user(caller)
    try:
        _hasher.verify(user.password_hash or _NOBODY, current)
    except (VerificationError, InvalidHashError):
        raise WrongPassword() from None
    checked_password(new, field="new")
    store_password(user, new)
    return replace(caller, login_version=user.login_version)


def sign_out_everywhere_for(caller: Caller) -> None:
    user = _own_user(caller)
    user.login_version += 1
    rows.flush()


def tokens_for(caller: Caller, after_id: int = 0, limit: int | None = None
               ) -> list[ApiToken]:
    """One's own tokens (never their secret: only hashes are stored), oldest first."""
    return users.tokens_of(_own_user(caller).id, after_id, limit)


def token_expiry(days: int | None = None, at: datetime | None = None) -> datetime | None:
    """When a new token expires: `days` from now, or the instant `at` (None: never). In the
    future, and at most MAX_TOKEN_DAYS ahead; not both."""
    if days is not None and at is not None:
        raise InvalidValue("give expires_in_days or expires_at, not both", field="expires_at")
    start = now()
    if days is not None:
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise InvalidValue(f"a token expires after 1 to {MAX_TOKEN_DAYS} days",
                               field="expires_in_days")
        return start + timedelta(days=days)
    if at is not None and not start < at <= start + timedelta(days=MAX_TOKEN_DAYS):
        raise InvalidValue(f"a token expires after now and within {MAX_TOKEN_DAYS} days",
                           field="expires_at")
    return at


def create_token_for(caller: Caller, name: str, expires_in_days: int | None = None,
                     expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new named token of one's own, expiring as `token_expiry` says (neither: never);
    the token is shown once."""
    expiry = token_expiry(expires_in_days, expires_at)
    name = name.strip()
    if not name or len(name) > MAX_TOKEN_NAME:
        raise InvalidValue(f"give the token a name of 1 to {MAX_TOKEN_NAME} characters "
                           "(what uses it)", field="name")
    return _new_token(_own_user(caller), name, expiry)


def token_expired(token: ApiToken) -> bool:
    """Whether the token has expired (it stays listed until revoked)."""
    return token.expires_at is not None and token.expires_at <= now()


def revoke_token_for(caller: Caller, token_id: int) -> ApiToken:
    """Revoke one of one's own tokens: it answers 401 from now on."""
    token = users.token_of(_own_user(caller).id, token_id)
    if token is None:
        raise NotFound("token", token_id)
    rows.delete(token)
    return token


# --- disabling users ----------------------------------------------------------------------

def _set_disabled(user: User, disabled: bool) -> User:
    """Switch the user off (their sessions end for good, their tokens stop while off) or on
    again (sign-in and their tokens work again)."""
    if disabled and user.disabled_at is None:
        user.disabled_at = stamp()
        user.login_version += 1
    elif not disabled:
        user.disabled_at = None
    rows.flush()
    return user


def set_disabled_for(caller: Caller, user_id: int, disabled: bool) -> User:
    """An admin disables or re-enables a user; not themselves (the clinic keeps an admin
    who can undo it)."""
    require_role(caller, ("admin",))
    user = rows.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    if user.id == caller.user_id and disabled:
        raise InvalidValue("you cannot disable yourself: ask another admin", field="disabled")
    return _set_disabled(user, disabled)


def set_disabled(email: str, disabled: bool) -> User:
    """The CLI's `users disable` / `users enable`."""
    user = users.by_email(normal_email(email))
    if user is None:
        raise UnknownUser(email)
    return _set_disabled(user, disabled)
