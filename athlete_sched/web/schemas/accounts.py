"""Request and answer schemas of one's own API tokens and of an admin's switch that
disables a user."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...services.accounts import MAX_TOKEN_DAYS, MAX_TOKEN_NAME
from .base import DateTimeIn, In, Instant, Out, Role


class TokenIn(In):
    name: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_NAME,
                               description="what will use the token")]
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS)] | None = Field(
        None, description="the token stops working this many days from now")
    expires_at: DateTimeIn | None = Field(
        None, description="or: the instant it stops working (naive = UTC); neither: never")


class TokenOut(Out):
    id: int
    name: str
    created_at: Instant
    expires_at: Instant | None = Field(description="null: never expires")
    last_used_at: Instant | None = Field(description="noted at most once a minute; null: "
                                         "never used")
    expired: bool


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")


class UserPatch(In):
    disabled: bool = Field(description="true: the user cannot sign in, and their sessions "
                           "and tokens stop working; false: enabled again")


class UserStatusOut(Out):
    id: int
    email: str
    role: Role
    name: str
    disabled_at: Instant | None = Field(description="null: enabled")
