"""The kinds of session (domain.md, "Timing around an event"; courses and tune-ups: issue 4).

- `pre`: the pre-performance session, in the event's pre window (2-3 days before);
- `post`: the recovery session (post-performance), in the event's post window (0-3 days
  after). "post" is its code name in the API; people read "recovery session";
- `course`: one of a course of sessions in the weeks before an A race (courses.py);
- `tune-up`: a periodic session between events; it belongs to no event.

An athlete has at most one confirmed session of each window kind per event; courses and
tune-ups come several times. One title per kind, used by the pages, the emails, the
invites and the feeds alike. A calendar entry names the treatment ("Dry needling") only
where the athlete and the therapist alone receive it (invites, emails); a published feed
says "Physio" instead, as it says nothing medical.
"""

from __future__ import annotations

PRE, POST, COURSE, TUNE_UP = "pre", "post", "course", "tune-up"
WINDOW_KINDS: tuple[str, ...] = (PRE, POST)
SESSION_KINDS: tuple[str, ...] = (PRE, POST, COURSE, TUNE_UP)
OTHER_WINDOW = {PRE: POST, POST: PRE}
TITLES = {PRE: "pre-race session", POST: "recovery session", COURSE: "course session",
          TUNE_UP: "tune-up session"}
TREATMENT = "Dry needling"
NEUTRAL_TREATMENT = "Physio"


def title(kind: str) -> str:
    """'recovery session' for "post": how people read a kind."""
    return TITLES[kind]


def summary(kind: str, *, published: bool = False) -> str:
    """A calendar entry's title: 'Dry needling – recovery session' in an invite,
    'Physio – recovery session' in a published feed."""
    return f"{NEUTRAL_TREATMENT if published else TREATMENT} – {TITLES[kind]}"
