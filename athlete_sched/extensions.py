"""Unbound extensions: the SQLAlchemy handle with the metadata's naming convention, CSRF
protection for page forms, and Flask-Migrate when migrations are asked for. How a
request or command meets the database (transactions, locks, commits) is the unit of
work's (services/unit_of_work.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()  # page forms; the bearer-token API is exempt


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def init_migrations(app: Flask) -> None:
    """Flask-Migrate for `app`, once: its `flask db` commands and what
    flask_migrate.upgrade() and migrations/env.py read (`app.extensions["migrate"]`).
    Called when migrations are asked for (cli.py's `db` group, tests, benchmarks), not by
    create_app: Flask-Migrate brings Alembic and Mako, about 0.2 s of the 1.3 s a web
    worker took to import the app (bench/coldstart.py), and a web worker never migrates."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS))
