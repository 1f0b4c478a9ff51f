"""Reading pages in tests: forms and their fields, times, invalid fields, page text; the
CSRF token of a page's form; a test client signed in through the sign-in form."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa

# The demo's sign-ins (services/demo.py LOGINS, printed by `flask demo`): role -> (email,
# password).
DEMO_LOGINS = {
    "athlete": ("mara.runner@athletes.example", "athlete-demo-2027"),
    "coach": ("carla.brandt@coaches.example", "coach-demo-2027"),
    "therapist": ("ana.ruiz@clinic.example", "therapist-demo-2027"),
    "admin": ("admin@clinic.example", "admin-demo-2027"),
}


class Page(HTMLParser):
    """What a person (or a test) reads off a page: forms with their fields, <time> values,
    elements marked aria-invalid, and the text of each slot."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.times: list[str] = []
        self.invalid: list[str] = []
        self.slot_texts: list[str] = []
        self._in_slot = 0
        self.feed(html)
        self.slot_texts = [" ".join(t.split()) for t in self.slot_texts]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "fields": {}})
        elif tag in ("input", "select") and self.forms and "name" in a:
            self.forms[-1]["fields"][a["name"]] = a.get("value")
        if tag == "time" and "datetime" in a:
            self.times.append(a["datetime"])
        if a.get("aria-invalid") == "true":
            self.invalid.append(a.get("id", ""))
        if tag == "li" and "slot" in (a.get("class") or "").split():
            self.slot_texts.append("")
            self._in_slot = 1
        elif self._in_slot and tag == "li":
            self._in_slot += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._in_slot:
            self._in_slot -= 1

    def handle_data(self, data: str) -> None:
        if self._in_slot:
            self.slot_texts[-1] += data

    def slots(self) -> list[dict]:
        return [f["fields"] for f in self.forms if f["action"].endswith("/book")]


def text(response) -> str:
    """The page as one line of text, tags stripped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def csrf(client, url: str = "/season") -> str:
    """The CSRF token of the page's first form that has one."""
    forms = Page(client.get(url).get_data(as_text=True)).forms
    return next(f["fields"]["csrf_token"] for f in forms if "csrf_token" in f["fields"])


def sign_in(client, email: str, password: str, remember: bool = False):
    """Sign the test client in through the form; the response (303 when it worked)."""
    data = {"email": email, "password": password, "csrf_token": csrf(client, "/sign-in")}
    if remember:
        data["remember"] = "y"
    return client.post("/sign-in", data=data)


def scalar(app, sql: str, **params: Any) -> Any:
    """One value read with plain SQL (what a page saved, checked behind its back)."""
    from athlete_sched.extensions import db

    with app.app_context():
        value = db.session.execute(sa.text(sql), params).scalar()
        db.session.rollback()
    return value


def post(client, url: str, data: dict[str, str], page: str | None = None):
    """Post a form of `page` (default: the page at `url`) with its CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf(client, page or url)})
