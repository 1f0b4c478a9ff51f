"""Benchmark: each role's main page on a clinic with two years of history.

Run from the repository root::

    .venv/bin/python bench/pages.py                          # SQLite, full size
    .venv/bin/python bench/pages.py --backend postgresql     # fresh databases on :5432
    .venv/bin/python bench/pages.py --quick                  # scaled down (smoke check)

Two databases with the same clinic (bench/propose.py's, fixed seed: 50 therapists, 4,000
athletes, 200 upcoming events): EMPTY, and LOADED with two years of history (about 100,000
bookings, 20,000 busy intervals, time off). In each, the busiest therapist of the coming
weeks, the athlete with the most sessions and a coach with a team of 12 of them and a team
event get a sign-in, and three test clients sign in through the form. Then, after a
warm-up, `--runs` rounds in turns (empty, loaded; loaded, empty; ...) of each page:

- athlete: GET /season (the timeline, races, sessions);
- therapist: GET /week?start=<the Monday of the week of their next session>;
- coach: the team event's board (the plan of all 12 athletes).

Checks (exit 1 if one fails): server time in process (Flask test client, from the request
to the last byte of the answer) p95 <= 30 ms on the loaded clinic, and <= 2 x the same
page's p95 on the empty clinic; page weight (the HTML and every stylesheet, script and
font it loads from the app, images not counted) <= 100 KB; no reference to another host
(src/href of link, script, img, iframe, source; url() in the CSS).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import sys
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from common import fresh_database  # noqa: E402
from propose import (  # noqa: E402
    FULL,
    NOW,
    QUICK,
    Report,
    Size,
    build_clinic,
    load_history,
    percentile,
)

P95_TARGET_MS = 30.0
RATIO_TARGET = 2.0
WEIGHT_TARGET = 100 * 1024
TEAM_SIZE = 12
PASSWORD = "bench password 1"
TAG = re.compile(r'(<(?:link|script|img|iframe|source)\b[^>]*?\b(?:href|src)="([^"]+)"[^>]*>)',
                 re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
IMAGE = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".ico")


@dataclass
class Side:
    """One clinic, its three signed-in clients and the URL of each role's page."""

    name: str
    app: Any
    pages: dict[str, tuple[Any, str]]  # role -> (signed-in client, url)


def _scalar(app, sql: str, **params: Any) -> Any:
    from athlete_sched.extensions import db

    with app.app_context():
        value = db.session.execute(sa.text(sql), params).scalar()
        db.session.rollback()
    return value


def _people(app) -> tuple[int, int, list[int]]:
    """The therapist with the most confirmed sessions in the coming 8 weeks, the athlete
    with the most sessions, and TEAM_SIZE athletes who have sessions (the team)."""
    soon = {"now": NOW, "until": NOW + timedelta(weeks=8)}
    therapist = _scalar(app, "SELECT t.id FROM therapist t LEFT JOIN booking b ON "
                        "b.therapist_id = t.id AND b.status = 'confirmed' AND b.start >= :now"
                        " AND b.start < :until GROUP BY t.id ORDER BY COUNT(b.id) DESC, t.id"
                        " LIMIT 1", **soon)
    from athlete_sched.extensions import db

    with app.app_context():
        ranked = [row[0] for row in db.session.execute(sa.text(
            "SELECT a.id FROM athlete a LEFT JOIN booking b ON b.athlete_id = a.id "
            "GROUP BY a.id ORDER BY COUNT(b.id) DESC, a.id LIMIT :n"),
            {"n": TEAM_SIZE + 1})]
        db.session.rollback()
    return therapist, ranked[0], ranked[1:]


def _busiest_monday(app, therapist_id: int) -> str:
    start = _scalar(app, "SELECT MIN(b.start) FROM booking b WHERE b.therapist_id = :t AND "
                    "b.start >= :now AND b.status = 'confirmed'", t=therapist_id, now=NOW)
    day = (start if isinstance(start, str) else (start or NOW).isoformat())[:10]
    from datetime import date

    first = date.fromisoformat(day)
    return (first - timedelta(days=first.weekday())).isoformat()


def _sign_in(app, email: str):
    client = app.test_client()
    answer = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:400]
    return client


def _board_url(app, team_id: int, event_id: int) -> str:
    """The coach's board of a team event, found by its endpoint's name."""
    for rule in app.url_map.iter_rules():
        if "board" in rule.endpoint and rule.endpoint.startswith("pages."):
            values = {"team_id": team_id, "event_id": event_id}
            return rule.build({k: values[k] for k in rule.arguments})[1]
    raise LookupError("no page endpoint with 'board' in its name")


def make_app(url: str):
    """propose.py's app (the clock pinned, the proposals cache off) without the abuse
    limits: the bench asks for one board hundreds of times a minute, which RATELIMIT_PLANS
    (30 a minute per user, web/limits.py) rightly refuses with 429."""
    from athlete_sched import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "FROZEN_NOW": NOW.isoformat(),
                       "PROPOSALS_CACHE_SIZE": 0, "RATELIMIT_ENABLED": False})


def prepare(name: str, url: str, size: Size, seed: int, loaded: bool) -> Side:
    from athlete_sched.extensions import db
    from athlete_sched.services import accounts, clinic, events
    from athlete_sched.services.unit_of_work import run

    app = make_app(url)
    app.config.update(WTF_CSRF_ENABLED=False)
    rng = random.Random(seed)
    built = build_clinic(app, size, rng)
    if loaded:
        load_history(app, built, size, rng)
    therapist_id, athlete_id, members = _people(app)
    monday = _busiest_monday(app, therapist_id)

    def setup() -> tuple[int, int]:
        from athlete_sched.db.models import Athlete, Therapist

        therapist = db.session.get(Therapist, therapist_id)
        athlete = db.session.get(Athlete, athlete_id)
        accounts.create_user(therapist.email, "therapist", therapist.name, PASSWORD)
        accounts.create_user(athlete.email, "athlete", athlete.name, PASSWORD)
        accounts.create_user("coach@bench.example", "coach", "Bench Coach", PASSWORD)
        team = clinic.create_team("Bench Club", "coach@bench.example")
        for member in members:
            clinic.add_member(team, db.session.get(Athlete, member))
        body = type("Body", (), dict(name="Bench Relay", sport="running", priority="A",
                                     timezone="Europe/Berlin",
                                     start=(NOW + timedelta(days=40)).date(),
                                     end=(NOW + timedelta(days=40)).date()))()
        event = events.create_event(body, team)
        return team.id, event.id

    with app.app_context():
        team_id, event_id = run(setup)
        emails = {"therapist": _scalar(app, "SELECT email FROM therapist WHERE id = :i",
                                       i=therapist_id),
                  "athlete": _scalar(app, "SELECT email FROM athlete WHERE id = :i",
                                     i=athlete_id)}
    pages = {"athlete": (_sign_in(app, emails["athlete"]), "/season"),
             "therapist": (_sign_in(app, emails["therapist"]), f"/week?start={monday}"),
             "coach": (_sign_in(app, "coach@bench.example"),
                       _board_url(app, team_id, event_id))}
    return Side(name, app, pages)


def timed(client, url: str) -> float:
    began = clock.perf_counter()
    answer = client.get(url)
    answer.get_data()
    spent = (clock.perf_counter() - began) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{url}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    return spent


def measure(sides: Sequence[Side], runs: int, per_round: int) -> dict[tuple[str, str], float]:
    """p95 (ms) of each (side, role) page: the median over `runs` rounds of each round's
    p95 of `per_round` requests, the sides taken in turns."""
    for side in sides:
        for client, url in side.pages.values():
            for _ in range(3):
                timed(client, url)
    gc.collect()
    found: dict[tuple[str, str], list[float]] = {}
    for r in range(runs):
        for side in (sides if r % 2 == 0 else sides[::-1]):
            for role, (client, url) in side.pages.items():
                times = [timed(client, url) for _ in range(per_round)]
                found.setdefault((side.name, role), []).append(percentile(times, 95))
    return {key: statistics.median(values) for key, values in found.items()}


def weight(client, url: str) -> tuple[int, list[str]]:
    """Bytes of the page and of the stylesheets, scripts and fonts it loads from the app
    (images not counted), and every reference to another host."""
    html = client.get(url).get_data(as_text=True)
    total, foreign, seen = len(html.encode()), [], set()

    def follow(ref: str, counted: bool) -> None:
        nonlocal total
        parts = urlsplit(ref)
        if parts.scheme in ("http", "https") or ref.startswith("//"):
            foreign.append(ref)
            return
        if not counted or parts.scheme or parts.path.lower().endswith(IMAGE) \
                or parts.path in seen:
            return  # links to pages, data:, webcal:, images, already counted
        seen.add(parts.path)
        body = client.get(parts.path).get_data()
        total += len(body)
        if parts.path.endswith(".css"):
            for inner in CSS_URL.findall(body.decode()):
                follow(inner, True)

    for tag, ref in TAG.findall(html):
        loads = tag.lower().startswith(("<script", "<img", "<iframe", "<source")) or bool(
            re.search(r'rel="(?:stylesheet|icon|preload|modulepreload)"', tag))
        if loads or urlsplit(ref).scheme in ("http", "https"):
            follow(ref, loads)
    return total, foreign


def run(args: argparse.Namespace) -> Report:
    size = QUICK if args.quick else FULL
    report = Report()
    with fresh_database(args.backend) as empty_url, fresh_database(args.backend) as full_url:
        sides = [prepare("empty", empty_url, size, args.seed, loaded=False),
                 prepare("loaded", full_url, size, args.seed, loaded=True)]
        p95 = measure(sides, args.runs, args.requests)
        for role in ("athlete", "therapist", "coach"):
            loaded, empty = p95[("loaded", role)], p95[("empty", role)]
            url = sides[1].pages[role][1]
            report.add(f"{role} {url.split('?')[0]} p95 loaded", f"{loaded:.1f} ms",
                       f"<= {P95_TARGET_MS:g} ms", loaded <= P95_TARGET_MS)
            report.add(f"{role} p95 loaded / empty ({empty:.1f} ms)", f"{loaded / empty:.2f}x",
                       f"<= {RATIO_TARGET:g}x", loaded <= RATIO_TARGET * empty)
            client = sides[1].pages[role][0]
            total, foreign = weight(client, url)
            report.add(f"{role} page weight (no images)", f"{total / 1024:.1f} KB",
                       f"<= {WEIGHT_TARGET // 1024} KB", total <= WEIGHT_TARGET)
            report.add(f"{role} references to other hosts", ", ".join(foreign) or "none",
                       "none", not foreign)
        for side in sides:
            with side.app.app_context():
                from athlete_sched.extensions import db

                db.session.remove()
                db.engine.dispose()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="10 therapists, 10k bookings")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (median), >= 5")
    parser.add_argument("--requests", type=int, default=20, help="requests a page a round")
    parser.add_argument("--seed", type=int, default=20270104)
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    report = run(args)
    report.print(f"pages benchmark ({'quick' if args.quick else 'full'}, {args.backend}, "
                 f"seed {args.seed}, median of {args.runs} rounds' p95 after a warm-up)")
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
