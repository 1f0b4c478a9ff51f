"""athlete_sched: plan dry-needling sessions around races and rides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from . import extensions, logs
from .config import Config, check_secret_key, from_environment
from .db.engine import engine_options
from .services import unit_of_work

ROOT = Path(__file__).resolve().parent.parent


class App(Flask):
    """Flask, with each request's view run as one unit of work: committed once when the
    view has answered, rolled back on an error (services/unit_of_work.py)."""

    def dispatch_request(self) -> Any:
        return unit_of_work.run_view(super().dispatch_request)


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build the app: config (defaults < environment < `config`), extensions, blueprints."""
    app = App(__name__, instance_path=os.environ.get("ATHLETE_SCHED_INSTANCE") or None,
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
    check_secret_key(app.config)  # production: a real SECRET_KEY or no app (config.py)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)

    logs.configure(app.config)  # LOG_FORMAT, LOG_LEVEL: one line a record (logs.py)
    extensions.db.init_app(app)
    unit_of_work.install(app)

    from . import jobs, web
    from .cli import register_cli

    web.register(app)  # its request-size hook runs before the CSRF check reads a form
    extensions.csrf.init_app(app)
    extensions.csrf.exempt(web.api.bp)  # bearer tokens, no cookies: no CSRF
    register_cli(app)
    jobs.init_app(app)  # the job queue (Huey) and `flask jobs ...`
    return app
