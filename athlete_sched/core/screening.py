"""Screening: the special considerations a therapist reviews before needling (domain.md,
"Special considerations"). Pure: answers in, flags out.

The app informs and flags; it never decides a medical question. An answer `True` ("this
applies to me") flags its consideration for the therapist; `False` is "does not apply";
`None` (or a key left out) is "not answered". Only a decision the therapist records
(`DECISIONS`) ever keeps an athlete from being planned, never a flag by itself.

The keys are stable (stored, and part of the API); the labels are what people read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import InvalidValue


@dataclass(frozen=True, slots=True)
class Consideration:
    """One special consideration: its stable key and the label shown to people."""

    key: str
    label: str


# domain.md, "Special considerations", in its order.
CONSIDERATIONS: tuple[Consideration, ...] = (
    Consideration("pregnancy", "Pregnancy"),
    Consideration("low_blood_pressure", "Low blood pressure"),
    Consideration("extreme_frailty", "Extreme frailty"),
    Consideration("recent_surgery", "Surgery within the last six weeks"),
    Consideration("cancer", "Malignant tumours / cancer"),
    Consideration("blood_thinners", "Blood thinners"),
    Consideration("immunosuppressants", "Immune-suppressing medication"),
    Consideration("diabetes", "Diabetes"),
    Consideration("pacemaker", "Cardiac pacemaker"),
    Consideration("needle_fear", "Fear of needles"),
)
KEYS: tuple[str, ...] = tuple(c.key for c in CONSIDERATIONS)
LABELS: dict[str, str] = {c.key: c.label for c in CONSIDERATIONS}
MAX_NOTE_LENGTH = 2000  # the athlete's free-text note and the therapist's review note

CLEARED, NOT_CLEARED = "cleared", "not-cleared"
DECISIONS: tuple[str, ...] = (CLEARED, NOT_CLEARED)
EXCLUSION_REASON = "screening"  # why a planner leaves an athlete out (team plan)
# The states a coach may see (never the answers): no row, a row awaiting a decision, or
# the decision itself.
NOT_ANSWERED, AWAITING_REVIEW = "not-answered", "awaiting-review"
STATES: tuple[str, ...] = (NOT_ANSWERED, AWAITING_REVIEW, CLEARED, NOT_CLEARED)

Answers = Mapping[str, bool | None]


class UnknownConsideration(InvalidValue):
    """An answer for a key that is not one of `KEYS`."""

    code = "unknown-consideration"

    def __init__(self, key: str) -> None:
        super().__init__(f"{key!r} is not a consideration; known: {', '.join(KEYS)}",
                         field=f"answers.{key}", key=key)


def normalized(answers: Answers) -> dict[str, bool | None]:
    """Every key, in `KEYS` order, with its answer (`None` when left out or not answered).

    Raises UnknownConsideration for a key not in `KEYS`, and ValueError for an answer
    that is not True, False or None.
    """
    for key in answers:
        if key not in LABELS:
            raise UnknownConsideration(key)
    result = {key: answers.get(key) for key in KEYS}
    for key, value in result.items():
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"the answer for {key} must be true, false or null")
    return result


def flagged(answers: Answers) -> list[str]:
    """The keys answered True ("applies to me"), in `KEYS` order: what the therapist must
    look at. Unknown keys are ignored here (stored answers may predate a renamed key)."""
    return [key for key in KEYS if answers.get(key) is True]


def unanswered(answers: Answers) -> list[str]:
    """The keys with no answer (None or left out), in `KEYS` order."""
    return [key for key in KEYS if answers.get(key) is None]


def labels(keys: Iterable[str]) -> list[str]:
    """The display labels of `keys`, in the given order."""
    return [LABELS[key] for key in keys]



def state(answered: bool, decision: str | None) -> str:
    """The screening's state: NOT_ANSWERED, AWAITING_REVIEW, CLEARED or NOT_CLEARED."""
    if not answered:
        return NOT_ANSWERED
    return decision or AWAITING_REVIEW
