"""athlete_sched: plan dry-needling sessions around races and rides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from . import extensions
from .config import Config, from_environment
from .db import version

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build the app: config (defaults < environment < `config`), extensions, blueprints."""
    app = Flask(__name__, instance_path=os.environ.get("ATHLETE_SCHED_INSTANCE") or None,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_object(Config)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's field order
    app.config.from_prefixed_env()
    from_environment(app.config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'athlete_sched.db'}")

    # `extensions.db`, not a bare `db`: the subpackage athlete_sched.db shadows that name here.
    db = extensions.db
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            extensions.configure_sqlite(db.engine)
            version.track(db.engine)
        elif db.engine.dialect.name == "postgresql":
            extensions.configure_postgresql(db.engine)
            app.before_request(extensions.reads_without_transaction)

    from .cli import register_cli
    from .db import models  # noqa: F401
    from .services import mail
    from .web import api, api_calendars, errors, pages

    extensions.csrf.init_app(app)
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(api_calendars.feeds)  # GET /feeds/<token>.ics (public)
    extensions.csrf.exempt(api.bp)  # bearer tokens, no cookies: no CSRF
    app.register_blueprint(pages.bp)
    register_cli(app)
    mail.install()  # iMIP outbox hooks on the session (services/mail.py)
    return app
