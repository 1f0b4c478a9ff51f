"""Sites: their rows, and the home sites of athletes (for the site rule, core/sites.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from ...core.intervals import Interval
from ...extensions import db
from ..models import Athlete, Event, Site, Therapist
from .spans import indexed


def all_sites() -> list[Site]:
    """Every site, by name (a clinic has a handful)."""
    return list(db.session.scalars(select(Site).order_by(Site.name, Site.id)))


def by_id(site_id: int) -> Site | None:
    return db.session.get(Site, site_id)


def by_name(name: str) -> Site | None:
    return db.session.scalar(select(Site).where(Site.name == name))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Site)) or 0


def only_site_id() -> int | None:
    """The id of the clinic's one site, or None when it has none or several."""
    ids = list(db.session.scalars(select(Site.id).limit(2)))
    return ids[0] if len(ids) == 1 else None


def existing(ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(db.session.scalars(select(Site.id).where(Site.id.in_(wanted))))


def home_sites(athlete_ids: Iterable[int]) -> dict[int, int | None]:
    """Each athlete's home site (None: not set), in one query."""
    wanted = sorted(set(athlete_ids))
    if not wanted:
        return {}
    return dict(db.session.execute(select(Athlete.id, Athlete.home_site_id)
                                   .where(Athlete.id.in_(wanted))).all())


def trips(athlete_ids: Iterable[int], since: datetime) -> dict[int, list[tuple[int, Interval]]]:
    """Each athlete's trips, (event id, travel span), of their own events that end after
    `since`, by start; one index range of ix_event_athlete_id per athlete (an athlete has
    a handful of events). A team event's travel counts for that event's own sessions."""
    wanted = sorted(set(athlete_ids))
    if not wanted:
        return {}
    own = indexed(select(Event.athlete_id, Event.id, Event.travel_depart, Event.travel_return)
                  .where(Event.athlete_id.in_(wanted), Event.travel_depart.is_not(None),
                         Event.travel_return > since),
                  Event, "ix_event_athlete_id")
    found: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
    for athlete_id, event_id, depart, return_ in db.session.execute(own).all():
        found[athlete_id].append((event_id, Interval(depart, return_)))
    return {a: sorted(spans, key=lambda t: t[1]) for a, spans in found.items()}


def place_siteless_therapists(site_id: int) -> None:
    """Put every therapist without a site at `site_id` (the clinic's first site)."""
    db.session.execute(update(Therapist).where(Therapist.site_id.is_(None))
                       .values(site_id=site_id))

