"""Request and answer schemas of the waiting list (contract: "Waiting list")."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Id, In, Instant, Kind, Out, utc
from .scheduling import SlotOut, slot_json


class WaitlistIn(In):
    kind: Kind = Field(description="the window to wait for: pre or post")
    athlete_id: Id | None = Field(None, description=(
        "who waits: default the caller's athlete; a coach names a member of their teams, "
        "an admin anyone (the event's athlete or a member of its team)"))


class OfferOut(Out):
    slot: SlotOut = Field(description="the slot held for this athlete (as proposals give it)")
    expires: Instant = Field(description="until when only this athlete can book it")


class WaitlistEntryOut(Out):
    id: int
    event_id: int
    athlete_id: int
    kind: Kind
    position: int = Field(description="the place in the line of that event and kind (1: next)")
    created_at: Instant
    offer: OfferOut | None = Field(None, description="the slot held for the athlete while "
                                   "the offer is live; null: none")


class WaitlistOut(Out):
    items: list[WaitlistEntryOut] = Field(description=(
        "the line in order, pre then post: all of it for therapists and admins; the "
        "entries of the athletes they act for for athletes and coaches"))


def entry_json(view: Any) -> dict[str, Any]:
    """One entry (services.waitlist.EntryView)."""
    entry, offer = view.entry, view.offer
    return {"id": entry.id, "event_id": entry.event_id, "athlete_id": entry.athlete_id,
            "kind": entry.kind, "position": view.position, "created_at": utc(entry.created_at),
            "offer": None if offer is None else {"slot": slot_json(offer.slot),
                                                 "expires": utc(offer.expires)}}
