"""Every SQL statement of the app, by aggregate. Services call these functions; no module
outside db/ (and the unit of work, services/unit_of_work.py) builds a statement or
touches the SQLAlchemy session. Functions add and flush, never commit.

- `rows`: a row by id, add, delete, flush (any model);
- `therapists`: therapists, working hours, time off; their schedules (row -> core) and the
  blocked time and bookings near some windows (the tuned reads of every proposal);
- `working_days`: one-day changes of working hours; those near some spans (row -> core);
- `athletes`: athletes, teams and their members;
- `users`: users, their tokens and the profile each acts as;
- `events`: events and their timing (row -> core); an athlete's events near some spans;
- `bookings`: bookings, an athlete's sessions near some spans, lists;
- `calendars`: busy calendars and their busy intervals, calendar feeds;
- `feeds`: a calendar feed's fingerprint (has it changed?) and the rows it is built from;
- `screening`: the athletes' screening answers and decisions;
- `outbox`: invitation emails waiting to be sent;
- `settings`: the clinic's settings (one row);
- `sites`: the clinic's sites and the athletes' home sites;
- `spans`: the bounds that keep the window reads short (shared by the tuned reads);
- `health`: what `GET /healthz` reads (one index lookup per job queue).

The tuned reads (therapists.schedules / blocked_and_booked_in, bookings.athletes_sessions_in,
events.athletes_event_timings_in / athlete_events_in, and db/guard.py) read only the rows
near the span asked about, so their cost follows the span, not the history
(bench/propose.py checks it):

- bookings: the index (therapist_id, block_end) / (athlete_id, end) is read between
  `span.start` and `span.end + MAX_BOOKING_SPAN`. That upper bound is exact because no
  booking's blocked range is longer than MAX_BOOKING_SPAN (the database refuses longer
  ones, migration 0002); without it every future booking would be read.
- busy intervals: the index (therapist_id, end, start) is read between `span.start` and
  `span.end + MAX_BUSY_SPAN`, exact for the same reason (imports store a longer busy
  interval as pieces, and the database refuses longer rows, migration 0008).
- time off has no length limit (a therapist's holiday), so its index (therapist_id, end,
  start) is read from `span.start` on; there are few rows.
These indexes hold every column the queries need (migration 0008 for bookings), so the
rows come from the index alone.
"""

from .spans import MAX_BOOKING_SPAN, MAX_BUSY_SPAN, MAX_EVENT_DAYS

__all__ = ["MAX_BOOKING_SPAN", "MAX_BUSY_SPAN", "MAX_EVENT_DAYS"]
