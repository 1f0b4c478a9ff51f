"""Typed models (SQLAlchemy 2). Instants are UTC (UTCDateTime); local wall-clock values
only where the domain means wall-clock (weekly working hours, in minutes after midnight).

Invariants live in the database too: CHECK constraints here; the PostgreSQL exclusion
constraints and the SQLite overlap triggers are created by the migrations. Models hold no
event hooks: what a write sets off (locks, mail) is called by the service that writes
(services/unit_of_work.py, services/mail.py).

- people.py: users, therapists (working periods, time off), athletes, teams, screening;
- bookings.py: events and bookings;
- calendars.py: busy intervals and calendars, feeds, the mail outbox, the data version;
- working_days.py: one-day changes of a therapist's working hours.
- settings.py: the clinic's settings (one row).
- sites.py: the clinic's sites.
- jobs.py: the waiting list, notices sent, race calendars (the background work).
"""

from .bookings import Booking, Event
from .calendars import (
    BusyCalendar,
    BusyInterval,
    CalendarFeed,
    DataVersion,
    FeedVersion,
    MailMessage,
    ProposalsVersion,
    ScheduleVersion,
)
from .common import (
    CALENDAR_KINDS,
    LINK_PURPOSES,
    MAIL_METHODS,
    ONCE_KINDS_WHERE,
    PRIORITIES,
    ROLES,
    SCREENING_DECISIONS,
    SPORTS,
    STATUSES,
)
from .jobs import RaceCalendar, SentNotice, WaitlistEntry
from .people import (
    ApiToken,
    Athlete,
    Screening,
    SignInLink,
    Team,
    TeamMember,
    Therapist,
    TherapistPeriod,
    TimeOff,
    User,
    WorkingPeriodRow,
)
from .settings import ClinicSettings
from .sites import Site
from .working_days import WorkingDay, WorkingDayPeriod

__all__ = [
    "CALENDAR_KINDS", "LINK_PURPOSES", "MAIL_METHODS", "ONCE_KINDS_WHERE", "PRIORITIES", "ROLES",
    "SCREENING_DECISIONS", "SPORTS", "STATUSES", "ApiToken", "Athlete", "Booking", "BusyCalendar",
    "BusyInterval", "CalendarFeed", "ClinicSettings", "DataVersion", "Event", "FeedVersion",
    "MailMessage", "ProposalsVersion", "RaceCalendar", "ScheduleVersion", "Screening",
    "SentNotice", "SignInLink", "Site", "Team", "TeamMember", "Therapist", "TherapistPeriod",
    "TimeOff", "User", "WaitlistEntry", "WorkingDay", "WorkingDayPeriod", "WorkingPeriodRow",
]
