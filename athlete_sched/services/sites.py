"""Sites and where an athlete can be (core/sites.py has the rule): the clinic's sites, the
site ids a request names, and the places of an athlete around an event, which every path
that proposes or books a session reads (services/proposals.py, bookings.py, team.py).

A therapist is at a site: optional while the clinic has at most one (a clinic's first
site takes in every therapist without one), required once it has several.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from ..core.errors import Forbidden, InvalidValue, NotFound
from ..core.intervals import Interval
from ..core.sites import Places, Travel, both, places
from ..core.zones import load_zone
from ..db.models import Event, Site
from ..db.queries import rows
from ..db.queries import sites as queries
from .access import Caller, require_role
from .common import now

# Trips that ended this long ago cannot hold a session to come (nor one being moved).
TRIP_REACH = timedelta(days=1)


class SiteNameTaken(InvalidValue):
    code = "site-name-taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"a site named {name!r} exists already", field="name", name=name)


class SiteRequired(InvalidValue):
    code = "site-required"

    def __init__(self) -> None:
        super().__init__("the clinic has several sites: say at which one the therapist works "
                         "(site_id)", field="site_id")


def create_site(data: Any) -> Site:
    """A new site; the clinic's first takes in every therapist without a site."""
    load_zone(data.timezone)
    if queries.by_name(data.name) is not None:
        raise SiteNameTaken(data.name)
    first = queries.count() == 0
    site = rows.add(Site(name=data.name, timezone=data.timezone, address=data.address or ""))
    if first:
        queries.place_siteless_therapists(site.id)
    return site


def create_site_for(caller: Caller, data: Any) -> Site:
    if caller.role != "admin":
        raise Forbidden("only an admin adds sites")
    return create_site(data)


def sites_for_admin(caller: Caller) -> list[Site]:
    """The clinic's sites, by name, for the admin's sites page."""
    require_role(caller, ("admin",))
    return queries.all_sites()


def update_site_for(caller: Caller, site_id: int, data: Any) -> Site:
    """An admin renames a site or changes its zone or address."""
    require_role(caller, ("admin",))
    return update_site(site(site_id, "site"), data)


def update_site(site: Site, data: Any) -> Site:
    """Rename a site, or change its zone or address."""
    if data.name is not None and data.name != site.name:
        if queries.by_name(data.name) is not None:
            raise SiteNameTaken(data.name)
        site.name = data.name
    if data.timezone is not None:
        load_zone(data.timezone)
        site.timezone = data.timezone
    if data.address is not None:
        site.address = data.address
    rows.flush()
    return site


def all_sites() -> list[Site]:
    return queries.all_sites()


def by_id() -> dict[int, Site]:
    """Every site by its id (a clinic has a handful): what pages name slots and sessions
    with."""
    return {s.id: s for s in queries.all_sites()}


def site(site_id: int, field: str = "site_id") -> Site:
    found = queries.by_id(site_id)
    if found is None:
        raise NotFound("site", site_id, field=field)
    return found


def checked(site_id: int | None, field: str = "site_id") -> int | None:
    """`site_id` if it names a site (None stays None); NotFound otherwise."""
    if site_id is not None:
        site(site_id, field)
    return site_id


def checked_all(site_ids: Iterable[int], field: str = "site_id") -> tuple[int, ...]:
    """The site ids asked for, each once, in order; NotFound for one that is not a site."""
    wanted = tuple(dict.fromkeys(site_ids))
    missing = sorted(set(wanted) - queries.existing(wanted))
    if missing:
        raise NotFound("site", missing[0], field=field)
    return wanted


def therapist_site(site_id: int | None) -> int | None:
    """The site of a new therapist: the one given, else the clinic's only site, else none
    while it has no site; required once it has several (SiteRequired)."""
    if site_id is not None:
        return checked(site_id)
    only = queries.only_site_id()
    if only is None and queries.count() > 1:
        raise SiteRequired()
    return only


def travel_of(event: Event) -> Travel | None:
    if event.travel_depart is None or event.travel_return is None:
        return None
    return Travel(event.travel_depart, event.travel_return)


def where(event: Event | None, athlete_id: int | None, asked: Sequence[int] = (),
          home: int | None = None) -> Places:
    """Where and when the athlete can have a session for `event` (None: a tune-up, at
    home); for a team event, the member `athlete_id` with their own home (`home`, when the
    caller read it already). An athlete with a home site is away from it during the travel
    of their other events too, their teams' included (one more read, only then)."""
    if home is None and athlete_id is not None:
        home = (event.athlete_home_site_id  # read with the event
                if event is not None and event.athlete_id == athlete_id
                else queries.home_sites([athlete_id]).get(athlete_id))
    other = (apart(trips_of([athlete_id]).get(athlete_id, []), [event])
             if home is not None and athlete_id is not None else [])
    if event is None:
        return places(home, None, None, asked, other)
    return places(home, event.venue_site_id, travel_of(event), asked, other)


Trips = list[tuple[int, Interval]]  # (event id, its travel span)


def trips_of(athlete_ids: Sequence[int]) -> dict[int, Trips]:
    """The athletes' trips not over yet (the travel of their own events and of their
    teams' events), one read."""
    return queries.trips(athlete_ids, now() - TRIP_REACH) if athlete_ids else {}


def apart(trips: Trips, events: Sequence[Event | None]) -> list[Interval]:
    """The trips of events other than `events`."""
    ids = {e.id for e in events if e is not None}
    return [span for event_id, span in trips if event_id not in ids]


def where_of_members(event: Event, athlete_ids: Sequence[int],
                     homes: dict[int, int | None] | None = None) -> dict[int, Places]:
    """`where` for every member of a team event (or the athlete of a personal one), their
    homes read in one query unless given."""
    if homes is None:
        homes = ({event.athlete_id: event.athlete_home_site_id}
                 if event.athlete_id is not None and set(athlete_ids) <= {event.athlete_id}
                 else queries.home_sites(athlete_ids))
    away = trips_of([a for a in athlete_ids if homes.get(a) is not None])
    return {a: places(homes.get(a), event.venue_site_id, travel_of(event), (),
                      apart(away.get(a, []), [event]))
            for a in athlete_ids}


def home_of(athlete_id: int) -> int | None:
    return queries.home_sites([athlete_id]).get(athlete_id)


def where_serving(events: Sequence[Event], home: int | None,
                  trips: Trips | None = None) -> Places:
    """Where an athlete at home at `home` can be for a session that serves every one of
    `events` (a shared session serves two; a tune-up none: at home), away during the
    `trips` of their other events (read when not given)."""
    if trips is None:
        ids = sorted({e.athlete_id for e in events if e.athlete_id is not None})
        trips = [t for found in trips_of(ids if home is not None else []).values()
                 for t in found]
    other = apart(trips, events) if home is not None else []
    found = places(home, None, None, (), other) if not events else None
    for event in events:
        found = both(found, places(home, event.venue_site_id, travel_of(event), (), other))
    return found
