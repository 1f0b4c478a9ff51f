"""`flask users create`: the bootstrap of the contract, on both backends."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa


def create(runner, *args: str):
    return runner.invoke(args=["users", "create", *args])


def users(app) -> list[tuple[str, str, str, str]]:
    from athlete_sched.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT u.email, u.role, u.name, t.token_hash FROM user_account u "
            "JOIN api_token t ON t.user_id = u.id ORDER BY u.id, t.id")).all()
        db.session.rollback()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("role", ["admin", "therapist", "coach", "athlete"])
def test_create_prints_a_working_token_as_the_last_line(app, client, runner, role):
    result = create(runner, "--email", "Ana@Clinic.test", "--role", role, "--name", "Ana Ruiz")
    assert result.exit_code == 0, result.output
    token = result.output.rstrip("\n").splitlines()[-1]
    assert len(token) >= 32 and " " not in token
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.get_data(as_text=True)
    assert {k: me.get_json()[k] for k in ("email", "role", "name")} == {
        "email": "ana@clinic.test", "role": role, "name": "Ana Ruiz"}
    [(email, stored_role, _, token_hash)] = users(app)
    assert (email, stored_role) == ("ana@clinic.test", role)
    assert token_hash == hashlib.sha256(token.encode()).hexdigest() != token


def test_name_is_optional(app, runner):
    result = create(runner, "--email", "coach@test.example", "--role", "coach")
    assert result.exit_code == 0, result.output
    assert users(app)[0][:3] == ("coach@test.example", "coach", "")


def test_duplicate_email_fails_clearly_and_keeps_the_first(app, runner):
    assert create(runner, "--email", "ana@clinic.test", "--role", "admin").exit_code == 0
    first = users(app)
    result = create(runner, "--email", "ANA@clinic.test", "--role", "coach")
    assert result.exit_code != 0
    assert "ana@clinic.test already exists" in result.output
    assert users(app) == first


@pytest.mark.parametrize("role", ["king", "Admin", ""])
def test_invalid_role_is_refused(app, runner, role):
    result = create(runner, "--email", "x@clinic.test", "--role", role)
    assert result.exit_code == 2
    assert "--role" in result.output
    assert users(app) == []


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@c.test", ""])
def test_invalid_email_is_refused(app, runner, email):
    result = create(runner, "--email", email, "--role", "admin")
    assert result.exit_code != 0
    assert "not an email address" in result.output
    assert users(app) == []


def test_missing_options_are_refused(app, runner):
    assert create(runner, "--role", "admin").exit_code == 2
    assert create(runner, "--email", "x@clinic.test").exit_code == 2
    assert users(app) == []
