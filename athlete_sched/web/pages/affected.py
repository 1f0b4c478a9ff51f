"""What a therapist's page does with booked sessions a change would strand (the hours,
time off and day-change pages alike): read the choice from the form's button (keep or
cancel; none: show them first), and say what became of them."""

from __future__ import annotations

from flask import request

from ...services.affected import CHOICES


def affected_choice() -> str | None:
    """The button pressed under the affected sessions: keep, cancel, or None."""
    choice = request.form.get("affected")
    return choice if choice in CHOICES else None


def cancelled_note(choice: str | None) -> str:
    """The sentence added to the saved message when the sessions were cancelled."""
    if choice == "cancel":
        return (" The affected sessions are cancelled; each athlete is told by email with "
                "new times to book.")
    return ""
