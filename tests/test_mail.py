"""Invitations by email (iMIP, RFC 6047), through a real SMTP server on loopback (aiosmtpd):
what arrives is parsed with the email package, its calendar with icalendar and with ical.js.
Every path that changes a booking queues one message per recipient in the same transaction;
a send that fails never costs the booking, and `flask mail retry` sends the same bytes."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from api.helpers import assert_error, book
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icaljs import icaljs  # noqa: F401  (fixture)

CLINIC = {"CLINIC_NAME": "Needle & Pedal Clinic", "CLINIC_EMAIL": "bookings@clinic.test"}
# aiosmtpd's server thread logs each connection at INFO ("mail.log"); outside a test's
# capture, the app's JSON log handler printed those lines into the suite's output.
logging.getLogger("mail.log").setLevel(logging.WARNING)


# --- a real SMTP server on loopback ---------------------------------------------------------

class Inbox:
    """An aiosmtpd handler keeping every envelope the server accepted."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    """A loopback port nothing listens on (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mail:
    """One delivered message: its envelope and its parsed parts."""

    rcpt: list[str]
    raw: bytes
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        self.message = message_from_bytes(self.raw, policy=default_policy)

    def part(self, content_type: str) -> EmailMessage:
        [found] = [p for p in self.message.walk() if p.get_content_type() == content_type]
        return found

    @property
    def text(self) -> str:
        return self.part("text/plain").get_content()

    @property
    def ics(self) -> bytes:
        return self.part("text/calendar").get_payload(decode=True)

    @property
    def method_param(self) -> str:
        return self.part("text/calendar").get_param("method")


@dataclass
class SMTPServer:
    inbox: Inbox
    port: int

    def take(self) -> list[Mail]:
        """The messages delivered since the last take, in arrival order."""
        mails = [Mail(e.rcpt_tos, e.original_content) for e in self.inbox.envelopes]
        self.inbox.envelopes.clear()
        return mails


@contextmanager
def serve(**options: Any) -> Iterator[SMTPServer]:
    """An SMTP server on a free loopback port for the duration of the block."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SMTPServer(inbox, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with serve() as server:
        yield server


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: SMTPServer) -> dict[str, Any]:
    return {**app_config, **CLINIC, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
            "MAIL_TIMEOUT": 5}


# --- helpers --------------------------------------------------------------------------------

def rows(app) -> list[Any]:
    """Every queued message, oldest first (a fresh read, committed state)."""
    from athlete_sched.db.models import MailMessage
    from athlete_sched.extensions import db

    with app.app_context():
        found = db.session.scalars(db.select(MailMessage).order_by(MailMessage.id)).all()
        db.session.expunge_all()
        db.session.rollback()
    return list(found)


def vevent(ics: bytes) -> tuple[str, icalendar.Event]:
    """(METHOD, the one VEVENT) of an iTIP message, read with icalendar."""
    calendar = icalendar.Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), event


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def booked(api, smtp, make_therapist, make_athlete, make_event):
    """A booked pre session (athlete and therapist with names worth escaping); the inbox
    holds its two invitations."""
    therapist = make_therapist(name="Ana Ruiz-Núñez", buffer_minutes=10)
    athlete = make_athlete(name="Zoë \"Quick\" Müller, MTB")
    event = make_event(athlete["id"])
    booking = book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00")
    return {"therapist": therapist, "athlete": athlete, "event": event, "booking": booking,
            "mails": smtp.take()}


def by_recipient(mails: list[Mail]) -> dict[str, Mail]:
    assert all(len(m.rcpt) == 1 for m in mails), [m.rcpt for m in mails]
    found = {m.rcpt[0]: m for m in mails}
    assert len(found) == len(mails), "one message per recipient"
    return found


def assert_invite(mail: Mail, booking: dict[str, Any], method: str,
                  icaljs_parse=None) -> icalendar.Event:
    """The text/calendar part: charset utf-8, `method` parameter = METHOD inside, and the
    VEVENT of the booking (UID, SEQUENCE, start, end), read by icalendar and, given
    `icaljs_parse`, by ical.js too."""
    calendar_part = mail.part("text/calendar")
    assert calendar_part.get_content_charset() == "utf-8"
    assert mail.method_param == method
    inside, event = vevent(mail.ics)
    assert inside == method
    assert str(event["UID"]) == booking["uid"]
    assert int(event["SEQUENCE"]) == booking["sequence"]
    assert event.decoded("DTSTART") == instant(booking["start"])
    assert event.decoded("DTEND") == instant(booking["end"])
    if icaljs_parse is not None:
        [seen] = icaljs_parse(mail.ics)
        assert (seen["method"], seen["uid"], seen["sequence"]) == (
            method, booking["uid"], booking["sequence"])
        assert (instant(seen["start_utc"]), instant(seen["end_utc"])) == (
            instant(booking["start"]), instant(booking["end"]))
        assert seen["status"] == str(event["STATUS"])
        assert seen["has_alarm"] == (method == "REQUEST")
    return event


# --- booking, reschedule, cancel -------------------------------------------------------------

def test_a_booking_sends_the_athlete_and_the_therapist_each_their_own_invite(
        app, booked, icaljs):  # noqa: F811
    booking, athlete, therapist = booked["booking"], booked["athlete"], booked["therapist"]
    mails = by_recipient(booked["mails"])
    assert set(mails) == {athlete["email"], therapist["email"]}
    for address, mail in mails.items():
        message = mail.message
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == [
            "text/plain", "text/calendar"]
        assert parseaddr(message["From"]) == ("Needle & Pedal Clinic", "bookings@clinic.test")
        assert [a for _, a in getaddresses([message["To"]])] == [address]
        assert message["Subject"].startswith("Booked: pre-race")
        assert "Wed 12 May 2027 09:00" in message["Subject"]
        assert message["Message-ID"] and message["Date"]
        assert b"\r\n" in mail.raw and b"\n" not in mail.raw.replace(b"\r\n", b"")
        event = assert_invite(mail, booking, "REQUEST", icaljs)
        assert str(event["STATUS"]) == "CONFIRMED"
        assert event.walk("VALARM")
    athlete_text = mails[athlete["email"]].text
    assert "Wednesday 12 May 2027, 09:00-09:45 (Europe/Berlin)" in athlete_text
    assert "Ana Ruiz-Núñez (therapist)" in athlete_text and "Rennsteig Marathon" in athlete_text
    assert "No strenuous activity for 24" in athlete_text  # the after-care notes
    therapist_text = mails[therapist["email"]].text
    assert "Zoë \"Quick\" Müller, MTB (athlete)" in therapist_text
    assert "No strenuous activity" not in therapist_text
    stored = rows(app)
    assert sorted(r.recipient for r in stored) == sorted(mails)
    assert all((r.method, r.sequence, r.attempts, r.last_error) == ("REQUEST", 0, 1, None)
               and r.sent_at is not None and r.booking_id == booking["id"] for r in stored)


def test_reschedule_then_cancel_keep_the_uid_and_raise_the_sequence(
        api, smtp, booked, icaljs):  # noqa: F811
    booking = booked["booking"]
    moved = api.patch(f"/api/v1/bookings/{booking['id']}", {"start": "2027-05-13T10:00"})
    assert moved.status_code == 200, moved.get_json()
    updates = by_recipient(smtp.take())
    assert len(updates) == 2
    for mail in updates.values():
        event = assert_invite(mail, moved.get_json(), "REQUEST", icaljs)
        assert str(event["UID"]) == booking["uid"] and int(event["SEQUENCE"]) == 1
        assert mail.message["Subject"].startswith("Updated: ")
        assert "Thu 13 May 2027 10:00" in mail.message["Subject"]

    cancelled = api.post(f"/api/v1/bookings/{booking['id']}/cancel")
    assert cancelled.status_code == 200
    cancels = by_recipient(smtp.take())
    assert set(cancels) == set(updates)
    for mail in cancels.values():
        event = assert_invite(mail, cancelled.get_json(), "CANCEL", icaljs)
        assert int(event["SEQUENCE"]) == 2 and str(event["STATUS"]) == "CANCELLED"
        assert not event.walk("VALARM")
        assert mail.message["Subject"].startswith("Cancelled: ")
        assert "No strenuous activity" not in mail.text

    assert api.post(f"/api/v1/bookings/{booking['id']}/cancel").status_code == 200
    assert smtp.take() == []  # cancelling again changes nothing and says nothing


def test_moving_an_event_mails_the_moved_booking(api, smtp, booked):
    """A path with no mail code of its own (services/events.py) still announces the move."""
    event, booking = booked["event"], booked["booking"]
    response = api.patch(f"/api/v1/events/{event['id']}",
                         {"start": "2027-05-22T08:00", "end": "2027-05-22T12:30",
                          "move_bookings": True})
    assert response.status_code == 200, response.get_json()
    mails = smtp.take()
    assert len(mails) == 2
    for mail in mails:
        method, vev = vevent(mail.ics)
        assert (method, str(vev["UID"]), int(vev["SEQUENCE"])) == ("REQUEST", booking["uid"], 1)
        assert vev.decoded("DTSTART") > instant(booking["start"]) + timedelta(days=6)


def test_a_booking_from_the_web_page_is_mailed_too(app, page_as, smtp, make_therapist,
                                                   make_athlete, make_event):
    from pageutil import Page

    athlete = make_athlete()
    client = page_as("athlete", athlete["email"])
    therapist = make_therapist()
    event = make_event(athlete["id"])
    slot = Page(client.get(f"/events/{event['id']}").get_data(as_text=True)).slots()[0]
    assert client.post(f"/events/{event['id']}/book", data=slot).status_code == 303
    mails = by_recipient(smtp.take())
    assert set(mails) == {athlete["email"], therapist["email"]}
    for mail in mails.values():
        method, vev = vevent(mail.ics)
        assert (mail.method_param, method, int(vev["SEQUENCE"])) == ("REQUEST", "REQUEST", 0)
        assert vev.decoded("DTSTART") == instant(slot["start"])


def test_a_refused_booking_queues_nothing(app, api, smtp, booked):
    booking, event = booked["booking"], booked["event"]
    before = [r.id for r in rows(app)]
    again = api.post("/api/v1/bookings", {"event_id": event["id"], "kind": "pre",
                                          "therapist_id": booked["therapist"]["id"],
                                          "start": "2027-05-13T09:00"})
    assert_error(again, 409, "already-booked")
    assert [r.id for r in rows(app)] == before and smtp.take() == []
    assert booking["id"] in {r.booking_id for r in rows(app)}


def test_without_mail_server_nothing_is_queued(app, api, smtp, make_therapist, make_athlete,
                                               make_event):
    app.config["MAIL_SERVER"] = None
    athlete, therapist = make_athlete(), make_therapist()
    booking = book(api, make_event(athlete["id"])["id"], therapist["id"], "post",
                   "2027-05-17T09:00")
    assert api.post(f"/api/v1/bookings/{booking['id']}/cancel").status_code == 200
    assert rows(app) == [] and smtp.take() == []


def test_only_the_real_commit_sends_and_a_rolled_back_savepoint_sends_nothing(
        app, smtp, make_therapist, make_athlete, make_event):
    """Through the services (as a team booking or a CLI would): a savepoint's release is
    not the commit, and what a rolled-back savepoint queued is never sent."""
    from athlete_sched.db.models import Athlete, Event, Therapist
    from athlete_sched.extensions import db
    from athlete_sched.services import bookings

    ids = make_therapist()["id"], make_athlete()["id"]
    event_id = make_event(ids[1])["id"]
    with app.app_context():
        event = db.session.get(Event, event_id)
        therapist, athlete = db.session.get(Therapist, ids[0]), db.session.get(Athlete, ids[1])
        with db.session.begin_nested():
            kept = bookings.book(event, therapist, athlete.id, "pre", datetime.fromisoformat(
                "2027-05-12T09:00"))
        assert smtp.take() == []  # released, not committed
        savepoint = db.session.begin_nested()
        bookings.book(event, therapist, athlete.id, "post", datetime.fromisoformat(
            "2027-05-17T09:00"))
        savepoint.rollback()
        db.session.commit()
        uid = kept.uid
    mails = smtp.take()
    assert len(mails) == 2 and {str(vevent(m.ics)[1]["UID"]) for m in mails} == {uid}
    assert [(r.method, r.sent_at is not None) for r in rows(app)] == [("REQUEST", True)] * 2


# --- a failed send, and the retry ------------------------------------------------------------

def test_a_failed_send_keeps_the_booking_and_retry_sends_the_same_message(
        app, api, smtp, runner, make_therapist, make_athlete, make_event, caplog,
        icaljs):  # noqa: F811
    app.config["MAIL_PORT"] = free_port()  # nothing listens there: connection refused
    athlete, therapist = make_athlete(), make_therapist()
    event = make_event(athlete["id"])
    with caplog.at_level(logging.WARNING, logger="athlete_sched.services.mail"):
        created = api.post("/api/v1/bookings", {"event_id": event["id"], "kind": "pre",
                                                "therapist_id": therapist["id"],
                                                "start": "2027-05-12T09:00"})
    assert created.status_code == 201, created.get_json()
    booking = created.get_json()
    assert api.get(f"/api/v1/bookings/{booking['id']}").get_json()["status"] == "confirmed"
    queued = rows(app)
    assert len(queued) == 2 and smtp.take() == []
    assert all(r.sent_at is None and r.attempts == 1 and "ConnectionRefusedError" in r.last_error
               for r in queued)
    assert sum("not sent" in r.getMessage() for r in caplog.records) == 2

    still_down = runner.invoke(args=["mail", "retry"])
    assert still_down.exit_code == 1 and "sent 0, failed 2" in still_down.output
    assert [r.attempts for r in rows(app)] == [2, 2]
    capped = runner.invoke(args=["mail", "retry", "--max-attempts", "2"])
    assert capped.exit_code == 0 and "sent 0, failed 0" in capped.output

    app.config["MAIL_PORT"] = smtp.port
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    mails = by_recipient(smtp.take())
    for row in queued:
        mail = mails[row.recipient]
        assert mail.raw.rstrip(b"\r\n") == row.message.encode().rstrip(b"\r\n")  # same bytes
        assert_invite(mail, booking, "REQUEST", icaljs)
    assert all(r.sent_at is not None and r.last_error is None and r.attempts == 3
               for r in rows(app))
    again = runner.invoke(args=["mail", "retry"])
    assert "sent 0, failed 0" in again.output and smtp.take() == []


def test_retry_needs_a_mail_server(app, runner):
    app.config["MAIL_SERVER"] = None
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 1 and "MAIL_SERVER is not set" in result.output


def test_a_claimed_message_is_not_sent_twice(app, booked):
    """A live send and a retry run side by side: a second claim of a message in flight
    gets nothing, until the first sender records a failure or its lease runs out (it
    died mid-send); a sent message is never claimed again."""
    from athlete_sched.extensions import db
    from athlete_sched.services import mail

    [first, _] = rows(app)
    table, lease = mail.MailMessage.__table__, timedelta(minutes=1)
    with app.app_context():
        with db.engine.begin() as connection:  # as freshly queued: never tried
            connection.execute(table.update().values(sent_at=None, last_attempt_at=None))
        assert mail._claim(first.id, lease) == (first.recipient, first.message)
        assert mail._claim(first.id, lease) is None  # in flight
        assert mail._claim(first.id, timedelta(0)) is not None  # the lease ran out
        mail._record(first.id, "421 try later")
        assert mail._claim(first.id, lease) is not None  # failed: free again
        mail._record(first.id, None)
        assert mail._claim(first.id, timedelta(0)) is None  # sent
    [claimed, _] = rows(app)
    assert (claimed.attempts, claimed.last_error) == (4, None) and claimed.sent_at is not None


def test_a_sent_message_marked_through_the_driver_is_stored_as_the_orm_stores_it(app, booked):
    """The sender's hot loop marks each sent message through the driver
    (db/queries/outbox.Outcomes): the column holds what `record` (SQLAlchemy) writes,
    committed at once, and a failure still goes through `record`."""
    import sqlalchemy as sa

    from athlete_sched.db.queries import outbox
    from athlete_sched.extensions import db
    from athlete_sched.services import mail

    [first, second] = rows(app)
    table, at = mail.MailMessage.__table__, datetime(2027, 5, 11, 7, 0, 1, tzinfo=UTC)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(table.update().values(sent_at=None, last_error=None))
        with mail._sender() as connection:
            outcomes = outbox.Outcomes(connection)
            assert outcomes.direct
            outcomes.record(first.id, None, at)
            with connection.begin():
                outbox.record(connection, second.id, None, at)
        with db.engine.connect() as other:  # committed: seen by another connection
            stored = {row.id: row.sent_at for row in
                      other.execute(sa.text("SELECT id, sent_at FROM mail_message"))}
            assert stored[first.id] == stored[second.id] is not None
            assert other.execute(sa.select(table.c.sent_at).where(table.c.id == first.id)
                                 ).scalar_one() == at
        with mail._sender() as connection:
            outbox.Outcomes(connection).record(first.id, "421 try later", at)
    assert {r.id: r.last_error for r in rows(app)}[first.id] == "421 try later"


class Accounts:
    """An aiosmtpd authenticator that knows one account and notes who logged in."""

    def __init__(self, login: bytes, password: bytes) -> None:
        self.account, self.logins = (login, password), []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (auth_data.login, auth_data.password) == self.account
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself


def test_mail_username_logs_in_and_a_refused_login_is_a_recorded_failure(
        app, api, make_therapist, make_athlete, make_event):
    athlete, therapist = make_athlete(), make_therapist()
    event = make_event(athlete["id"])
    accounts = Accounts(b"clinic", b"s3cret")
    # AUTH offered without TLS on loopback only (required AUTH without TLS warns)
    with serve(auth_require_tls=False, authenticator=accounts) as server:
        app.config.update(MAIL_PORT=server.port, MAIL_USERNAME="clinic", MAIL_PASSWORD="wrong")
        book(api, event["id"], therapist["id"], "pre", "2027-05-12T09:00")
        assert server.take() == [] and accounts.logins == []
        assert all("SMTPAuthenticationError" in r.last_error for r in rows(app))
        app.config["MAIL_PASSWORD"] = "s3cret"
        book(api, event["id"], therapist["id"], "post", "2027-05-17T09:00")
        assert len(server.take()) == 2 and accounts.logins == [b"clinic"]  # one session
    assert [r.sent_at is not None for r in rows(app)] == [False, False, True, True]


# --- headers stay headers --------------------------------------------------------------------

def test_names_cannot_inject_headers_and_the_message_stays_seven_bit(
        app, api, smtp, make_therapist, make_athlete, make_event):
    athlete = make_athlete(name="Eve\r\nBcc: victim@evil.test\r\n\r\nforged 🏃")
    therapist = make_therapist(name="Ana\nSubject: spam")
    book(api, make_event(athlete["id"])["id"], therapist["id"], "pre", "2027-05-12T09:00")
    mails = by_recipient(smtp.take())
    for mail in mails.values():
        assert mail.message["Bcc"] is None and len(mail.message.get_all("Subject")) == 1
        assert mail.raw.isascii()
        assert_invite(mail, {**rows_booking(app)}, "REQUEST")
    assert "victim@evil.test" not in [a for _, a in getaddresses(
        mails[athlete["email"]].message.get_all("To"))]
    assert "forged 🏃" in mails[therapist["email"]].text  # said in the body, as text
    assert all(r.message.isascii() for r in rows(app))


def rows_booking(app) -> dict[str, Any]:
    from athlete_sched.db.models import Booking
    from athlete_sched.extensions import db

    with app.app_context():
        b = db.session.scalars(db.select(Booking)).one()
        found = {"uid": b.uid, "sequence": b.sequence, "start": b.start.isoformat(),
                 "end": b.end.isoformat()}
        db.session.rollback()
    return found


def test_a_team_booking_mails_each_their_invite_and_the_coach_one_summary(
        app, api, smtp, make_user, make_therapist, make_athlete, make_event):
    therapist = make_therapist(name="Ana Ruiz")
    make_user("coach", "coach@team.test", "Kim Coach")
    team = api.post("/api/v1/teams", {"name": "Riders", "coach_email": "coach@team.test"})
    team_id = team.get_json()["id"]
    riders = [make_athlete(name=name) for name in ("Bea Climb", "Cy Descent")]
    for rider in riders:
        assert api.post(f"/api/v1/teams/{team_id}/members",
                        {"athlete_id": rider["id"]}).status_code == 201
    event = make_event(team_id=team_id, name="Stage Race")
    answer = api.post(f"/api/v1/events/{event['id']}/book-team")
    assert answer.status_code == 201, answer.get_json()
    bookings = answer.get_json()["bookings"]
    assert len(bookings) == 4
    mails = smtp.take()
    summaries = [m for m in mails if m.rcpt == ["coach@team.test"]]
    invites = [m for m in mails if m.rcpt != ["coach@team.test"]]
    # Every athlete and the therapist: one invitation per session they are in.
    assert sorted(m.rcpt[0] for m in invites) == sorted(
        [r["email"] for r in riders for _ in range(2)] + [therapist["email"]] * 4)
    [summary] = summaries
    assert summary.message.get_content_type() == "text/plain"  # no calendar part
    assert summary.message["Subject"] == "Booked for Riders: 4 sessions, Stage Race"
    text = summary.message.get_content()
    assert text.startswith("Hello Kim Coach,")
    for rider in riders:
        assert text.count(f"- {rider['name']}: ") == 2
    assert "pre-race session" in text and "recovery session" in text and "Ana Ruiz" in text
    stored = [r for r in rows(app) if r.method == "SUMMARY"]
    assert [(r.recipient, r.booking_id, r.sent_at is not None) for r in stored] == [
        ("coach@team.test", None, True)]


def test_a_refused_team_booking_mails_nobody(app, api, smtp, make_therapist, make_athlete,
                                              make_event):
    therapist = make_therapist()
    team_id = api.post("/api/v1/teams", {"name": "Riders",
                                         "coach_email": "coach@team.test"}).get_json()["id"]
    rider = make_athlete()
    api.post(f"/api/v1/teams/{team_id}/members", {"athlete_id": rider["id"]})
    event = make_event(team_id=team_id, name="Stage Race")
    plan = api.post(f"/api/v1/events/{event['id']}/plan").get_json()
    outsider = make_event(make_athlete()["id"])
    book(api, outsider["id"], therapist["id"], "post", plan["assignments"][0]["post"]["start"])
    smtp.take()
    answer = api.post(f"/api/v1/events/{event['id']}/book-team",
                      {"assignments": plan["assignments"]})
    assert answer.status_code == 409
    assert smtp.take() == []
    assert [r for r in rows(app) if r.method == "SUMMARY"] == []


def test_headers_kept_by_the_mail_policy_make_the_same_text_as_the_stdlib_policy():
    """mail_text keeps parsed headers of repeated values (services/mail_text._Headers):
    messages composed one after another share them, and each text is byte for byte what
    the email package's own SMTP policy makes, whatever was composed before."""
    from email.headerregistry import Address
    from email.policy import SMTP

    from athlete_sched.services.mail_text import MAIL_POLICY

    def compose(policy, to: str, name: str) -> str:
        message = EmailMessage(policy=policy)
        message["From"] = Address("Clinic Zoë", addr_spec="bookings@clinic.example")
        message["To"] = Address(name, addr_spec=to)
        message["Subject"] = f"Reminder for {name}, a subject long enough to be folded " \
                             "over two lines by the policy"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(f"Hello {name},\n\nsee you tomorrow.\n")
        return message.as_string()

    people = [(f"a{i}@example.test", name) for i, name in
              enumerate(["Ann", "Jürgen Müller", "Ann", "O'Brien, Pat"] * 2)]
    kept = [compose(MAIL_POLICY, to, name) for to, name in people]
    assert kept == [compose(SMTP, to, name) for to, name in people]
    assert kept[0] != kept[2] and kept[0].replace("a0@", "a2@") == kept[2]


# --- the plain composer written directly (services/mail_text.flat_plain) ------------------

_TEXT_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
_NAME_CHARS = st.sampled_from("AaZz09 '-._&!#$%*+/=?^`{|}~\"(),:;<>@[]\\\tÄöüßéŁ–€漢😀")


def _names():
    """Display names as services/mail_text.one_line leaves them (single spaces, printable),
    mostly plain words, sometimes with specials, non-ASCII or runs long enough to fold."""
    from athlete_sched.services.mail_text import one_line as _clean

    return st.one_of(st.from_regex(r"[A-Z][a-z]{1,12}( [A-Z][a-z'\-]{1,14}){0,2}",
                                   fullmatch=True),
                     st.text(_NAME_CHARS, max_size=90)).map(_clean)


def _addresses():
    return st.one_of(st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9_+\-]{1,10})?@[a-z]{1,12}\.test",
                                   fullmatch=True),
                     st.from_regex(r"[a-zA-Z0-9.\"!#=?]{1,30}@[a-z.\-]{1,20}", fullmatch=True),
                     st.emails())


@given(from_name=_names(), origin=_addresses(), to_name=_names(), to_email=_addresses(),
       subject=st.one_of(_names(), st.text(_NAME_CHARS, max_size=100),
                         st.from_regex(r"Reminder: [a-z\-]{4,12}, [A-Z][a-z]{2} \d\d [A-Z][a-z]{2} "
                                       r"20\d\d \d\d:\d\d \([A-Za-z_/]{3,40}\)", fullmatch=True)),
       at=st.datetimes(min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis: naive
                       max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
       text=st.one_of(st.text(_TEXT_CHARS, max_size=400),
                      st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2030),
                                       max_size=120), max_size=12).map("\n".join)))
@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_the_plain_text_written_directly_is_the_email_packages_byte_for_byte(
        from_name, origin, to_name, to_email, subject, at, text):
    """flat_plain writes the headers and body of a plain message itself where it can and
    hands the rest to the email package: either way the text equals what the email
    package makes of the same values, and it parses back to the same message."""
    from athlete_sched.services.mail_text import flat_plain, plain_message

    date, message_id = format_datetime(at), make_msgid(domain="clinic.test")
    args = (from_name, origin, to_name, to_email, subject, date, message_id, text)
    try:
        expected = plain_message(*args).as_string()
    except Exception as exc:  # noqa: BLE001 - the email package refuses: so must we
        with pytest.raises(type(exc)):
            flat_plain(*args)
        return
    assert flat_plain(*args) == expected


def test_a_reminders_text_is_written_directly_not_by_the_email_package(monkeypatch):
    """The usual reminder (ASCII names and addresses, the after-care's dashes in the body:
    quoted-printable) takes the direct road; a name that needs RFC 2047 the package's."""
    from athlete_sched.core.ical import AFTER_CARE
    from athlete_sched.services import mail_text

    made = []
    real = mail_text.plain_message
    monkeypatch.setattr(mail_text, "plain_message", lambda *a: made.append(a) or real(*a))
    date, message_id = format_datetime(datetime(2027, 5, 11, 7, tzinfo=UTC)), make_msgid()
    text = f"Hello Ann Lee,\n\n{AFTER_CARE}\n\n-- \nathlete_sched demo clinic\n"
    for name in ("Ann Lee", "Jürgen Müller"):
        found = mail_text.flat_plain("athlete_sched demo clinic", "bookings@clinic.example",
                                     name, "ann.lee@example.test",
                                     "Reminder: tune-up, Wed 12 May 2027 04:00 (Europe/Berlin)",
                                     date, message_id, text)
        parsed = message_from_bytes(found.encode("ascii"), policy=default_policy)
        assert parsed["To"].addresses[0].display_name == name
        assert parsed.get_content().replace("\r\n", "\n") == text
    assert [a[2] for a in made] == ["Jürgen Müller"]


@given(st.text(st.sampled_from(" a\t\n\r\x0b\xa0\u2028\u3000\x00Zé-"), max_size=12) | st.text())
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_a_name_already_clean_is_kept_and_any_other_cleaned_as_before(text):
    """mail_text.one_line and reminder_text._clean (the same function) return a clean text
    as it is (the fast road) and clean any other as the character-by-character road does."""
    from athlete_sched.services import mail_text, reminder_text

    slow = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    assert mail_text.one_line(text) == reminder_text._clean(text) == slow
