"""Configuration: defaults here, overridden by the environment (see README, "Configuration")."""

from __future__ import annotations

import os


def normalise_database_url(url: str) -> str:
    """Point bare postgres URLs at the psycopg 3 driver that the project installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY = "dev-only-insecure-key"
    # None means "SQLite file in the instance folder"; create_app fills it in.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 1024 * 1024  # 1 MiB: larger bodies get 413
    # Domain settings (domain.md): recovery gap after a finish, minimum notice for a session.
    RECOVERY_GAP_MINUTES = 60
    BOOKING_NOTICE_MINUTES = 120
    CLINIC_NAME = "athlete_sched demo clinic"
    CLINIC_EMAIL = "bookings@clinic.example"
    # The web page acts for this athlete until sign-in arrives.
    DEMO_ATHLETE_EMAIL = "mara.runner@athletes.example"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-key"


def from_environment(config: dict) -> None:
    """Apply the documented environment variables on top of the defaults."""
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(os.environ["DATABASE_URL"])
    if os.environ.get("SECRET_KEY"):
        config["SECRET_KEY"] = os.environ["SECRET_KEY"]
