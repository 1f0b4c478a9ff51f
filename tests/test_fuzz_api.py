"""Schemathesis over every operation of /api/v1/openapi.json, on both backends, with an
admin's and an athlete's token: bounded (six examples an operation, each sent with both
tokens, so that the run stays about a minute a backend on the 2-core CI machine), and
every answer must be no server error, a documented status code, the documented content
type and a body that matches its documented schema.

The clinic it runs against is small and real (a therapist, an athlete with a race and a
booking, a team), so that generated ids sometimes hit rows; the rest are 404s, which the
schema documents too. Writes the fuzzer makes stay in the test's own database."""

from __future__ import annotations

import pytest
import schemathesis
from api.helpers import book  # tests/ is on sys.path (rootdir)
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 6  # twelve took about 100 s a backend on CI, pinning one worker
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def fuzzed(app, api, make_user, make_therapist, make_athlete, make_event):
    therapist = make_therapist()
    athlete = make_athlete(email="fuzz-athlete@athletes.test")
    race = make_event(athlete["id"])
    slot = api.get(f"/api/v1/events/{race['id']}/proposals?kind=pre&limit=1"
                   ).get_json()["pre"][0]
    book(api, race["id"], therapist["id"], "pre", slot["start"])
    athlete_token = make_user("athlete", "fuzz-athlete@athletes.test")
    return {"admin": api.token, "athlete": athlete_token}


def test_every_operation_answers_as_documented(app, fuzzed):
    """Each operation in turn (a failing one is named), its own bounded hypothesis run."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not an empty schema

    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy())
        def answers(case):
            for token in fuzzed.values():  # an admin's, then an athlete's
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                       checks=CHECKS)

        try:
            answers()
        except Exception as failure:
            raise AssertionError(f"{operation.label}: {failure}") from failure
