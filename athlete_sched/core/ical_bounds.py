"""Bounded recurrence expansion for the calendar import (core/ical_import.py).

dateutil walks a rule from its DTSTART one period at a time, and a rule that never matches
(FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) walks to the year 9999 without yielding anything:
tens of seconds, in no loop a caller can interrupt. `BoundedRule` is dateutil's rrule with
a `between` that charges its walk to a `Budget` up front (the periods of FREQ x INTERVAL
from DTSTART to the end of the span) and per date produced, stops once it is past the
span, and restarts a DAILY or WEEKLY rule without COUNT near the span (same dates, without
walking the years before). `busy_events` is recurring-ical-events' VEVENT selection using
it, with events that know whether they block time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cached_property

from dateutil.rrule import DAILY, WEEKLY, rrule
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.occurrence import Occurrence
from recurring_ical_events.selection.name import ComponentsWithName
from recurring_ical_events.series import Series

from .errors import CalendarTooComplex


class Budget:
    """The steps left to one import's recurrence rules."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def charge(self, steps: int) -> None:
        self.used += steps
        if self.used > self.limit:
            raise CalendarTooComplex(
                f"the recurrence rules need more than {self.limit} steps to expand "
                "(a rule repeating every second or minute, or starting centuries ago?)")


class _Beyond(Exception):
    """A rule's walk has passed the end of the span it was asked about."""


_PERIOD = (365.25 * 86400, 30.44 * 86400, 7 * 86400, 86400, 3600, 60, 1)  # by dateutil freq


class BoundedRule(rrule):
    """dateutil's rrule whose `between` is charged to a budget and stops at its end.

    dateutil steps into each new month through `_iterinfo.rebuild`, which reads
    `_byeaster` every time: that read counts the months walked, and once the walk is a
    month past `before` (no later date can be in the span) it ends.
    """

    budget: Budget
    _months_left: int | None = None

    @classmethod
    def of(cls, rule: rrule, budget: Budget, **changes: object) -> BoundedRule:
        """The same rule (rebuilt as rrule.replace does), bounded by `budget`."""
        bounded = cls(**{"interval": rule._interval, "count": rule._count,
                         "dtstart": rule._dtstart, "freq": rule._freq, "until": rule._until,
                         "wkst": rule._wkst, **rule._original_rule, **changes})
        bounded.budget = budget
        return bounded

    def _nearer(self, after: datetime) -> BoundedRule:
        """This rule, or for a DAILY or WEEKLY rule without COUNT the same rule restarted a
        whole number of periods later, still over a week before `after`: the same dates
        from there on, without walking the years in between (dates, weekdays and times of
        day repeat with the period; COUNT would change the meaning)."""
        if self._count is not None or self._freq not in (DAILY, WEEKLY):
            return self
        period = self._interval * (7 if self._freq == WEEKLY else 1)
        skip = ((after.date() - self._dtstart.date()).days - 8) // period
        if skip <= 0:
            return self
        return BoundedRule.of(self, self.budget,
                               dtstart=self._dtstart + timedelta(days=skip * period))

    @property
    def _byeaster(self):  # type: ignore[no-untyped-def]
        if self._months_left is not None:
            self._months_left -= 1
            if self._months_left < 0:
                raise _Beyond
        return self.__dict__["_byeaster_value"]

    @_byeaster.setter
    def _byeaster(self, value) -> None:  # type: ignore[no-untyped-def]
        self.__dict__["_byeaster_value"] = value

    def between(self, after: datetime, before: datetime, inc: bool = False,
                count: int = 1) -> Iterator[datetime]:
        """The dates in [after, before] (inclusive with `inc`), as dateutil's between but
        lazily: recurring-ical-events only iterates over them, and an import that reaches
        a limit stops here."""
        rule = self._nearer(after)
        start, stop = rule._dtstart, before
        if self._until is not None and self._until < stop:
            stop = self._until
        seconds = (stop - start).total_seconds()
        self.budget.charge(1 + max(0, int(seconds / (_PERIOD[self._freq] * self._interval))))
        return rule._walk(after, before, inc,
                          max(0, (stop.year - start.year) * 12 + stop.month - start.month) + 2)

    def _walk(self, after: datetime, before: datetime, inc: bool,
              months: int) -> Iterator[datetime]:
        self._months_left = months
        try:
            for value in self._iter():
                self.budget.charge(1)
                if value > before or (value == before and not inc):
                    return
                if value > after or (value == after and inc):
                    yield value
        except _Beyond:
            return
        finally:
            self._months_left = None


class BusyAdapter(EventAdapter):
    """A VEVENT that knows whether it blocks time."""

    @cached_property
    def blocks(self) -> bool:
        event = self._component
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            return False
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            return False
        status = (event.get("X-MICROSOFT-CDO-BUSYSTATUS")
                  or event.get("X-MICROSOFT-CDO-INTENDEDSTATUS") or "")
        return str(status).upper() != "FREE"


class BusyOccurrence(Occurrence):
    @property
    def blocks(self) -> bool:
        return self._adapter.blocks  # type: ignore[attr-defined]


def busy_events(budget: Budget) -> ComponentsWithName:
    """recurring-ical-events' VEVENT selection: bounded rules, events that know whether
    they block (its documented extension points: adapter, series, occurrence)."""

    class Rules(Series.RecurrenceRules):
        def rrulestr(self, rule_string: str) -> rrule:
            rule = super().rrulestr(rule_string)
            bounded = BoundedRule.of(rule, budget)
            bounded.string, bounded.until = rule.string, rule.until  # type: ignore[attr-defined]
            return bounded

    class BoundedSeries(Series):
        RecurrenceRules = Rules

    return ComponentsWithName("VEVENT", adapter=BusyAdapter, series=BoundedSeries,
                              occurrence=BusyOccurrence)
