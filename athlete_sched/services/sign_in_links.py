"""One-time sign-in links, emailed: a forgotten password's reset link and an invitation
to a new account. Each is 256 random bits, stored only as its SHA-256 hash, expiring
(RESET_LINK_HOURS, INVITE_LINK_DAYS) and single use; setting a password through one ends
the user's other sessions and uses up their other open links of that purpose.

The web layer says where a link points (`link_for(token)`: an absolute URL of its page);
the message leaves through the mail outbox after the commit (services/mail.py), so a
failed request sends nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app

from ..core.errors import InvalidValue
from ..db.models import SignInLink, User
from ..db.queries import rows, users
from . import mail
from .access import Caller, require_role
from .accounts import hash_token, new_user, normal_email, store_password
from .common import clinic_name, now, stamp
from .mail_text import plain

LinkTo = Callable[[str], str]
ROLE_WORDS = {"athlete": "an athlete", "coach": "a coach", "therapist": "a therapist",
              "admin": "an administrator"}


class LinkNotValid(InvalidValue):
    code = "link-not-valid"

    def __init__(self) -> None:
        super().__init__("this link has expired or has been used already: ask for a new one",
                         field="token")


def _lifetime(purpose: str) -> timedelta:
    config = current_app.config
    if purpose == "reset":
        return timedelta(hours=float(config.get("RESET_LINK_HOURS", 2)))
    return timedelta(days=float(config.get("INVITE_LINK_DAYS", 7)))


def issue(user: User, purpose: str) -> str:
    """A new link for the user; the raw token (it is never stored)."""
    token = secrets.token_urlsafe(32)
    at = now()  # the services' clock, which expiry is checked against
    rows.add(SignInLink(user_id=user.id, purpose=purpose, token_hash=hash_token(token),
                        created_at=at, expires_at=at + _lifetime(purpose)))
    return token


def open_link(token: str, purpose: str) -> User:
    """The user an unused, unexpired link of this purpose belongs to; LinkNotValid else."""
    link = users.link_by_hash(hash_token(token)) if 0 < len(token) <= 100 else None
    if link is None or link.purpose != purpose or link.used_at is not None \
            or link.expires_at <= now():
        raise LinkNotValid()
    user = rows.get(User, link.user_id)
    if user is None:
        raise LinkNotValid()
    return user


def use_link(token: str, purpose: str, password: str) -> User:
    """Set the password through the link and use it up (with the user's other open links
    of this purpose)."""
    user = open_link(token, purpose)
    store_password(user, password)
    users.use_links(user.id, purpose, stamp())
    return user


def request_reset(email: str, link_for: LinkTo) -> None:
    """Email a reset link if there is such a user; say nothing either way."""
    user = users.by_email(normal_email(email)) if len(email) <= 254 else None
    if user is None:
        return
    link = link_for(issue(user, "reset"))
    hours = _lifetime("reset") / timedelta(hours=1)
    text = (f"Hello {user.name or user.email},\n\n"
            f"someone (we hope you) asked to set a new password for {user.email}.\n"
            f"Open this link within {hours:g} hours to choose one:\n\n{link}\n\n"
            "The link works once. If you did not ask, ignore this message: your password "
            "stays as it is.\n\n-- \n" + clinic_name() + "\n")
    mail.queue_summary(user.email, plain(user.name, user.email, "Set a new password", text))


def invite(email: str, role: str, name: str, link_for: LinkTo,
           inviter: str = "") -> tuple[User, str]:
    """A new user without a password, and an invitation link to set one (emailed). The
    link is returned too, for the inviter to hand over when no mail is configured."""
    user = new_user(email, role, name)
    link = link_for(issue(user, "invite"))
    days = _lifetime("invite") / timedelta(days=1)
    clinic = clinic_name()
    text = (f"Hello {user.name or user.email},\n\n"
            f"{inviter or clinic} invited you to {clinic} as {ROLE_WORDS[user.role]}.\n"
            f"Open this link within {days:g} days to choose your password and sign in:\n\n"
            f"{link}\n\nThe link works once.\n\n-- \n{clinic}\n")
    mail.queue_summary(user.email, plain(user.name, user.email,
                                         f"Your invitation to {clinic}", text))
    return user, link


def invite_for(caller: Caller, email: str, role: str, name: str,
               link_for: LinkTo) -> tuple[User, str]:
    """An admin invites a user of any role."""
    require_role(caller, ("admin",))
    return invite(email, role, name, link_for, caller.name)


def reset_link_for(caller: Caller, user_id: int, link_for: LinkTo) -> str:
    """An admin makes a reset link for a user (handed over in person when mail is off)."""
    require_role(caller, ("admin",))
    user = rows.get(User, user_id)
    if user is None:
        raise InvalidValue(f"no user with id {user_id}", field="user")
    return link_for(issue(user, "reset"))
