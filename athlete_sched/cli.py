"""Flask commands: `users create`, `users rotate-token`, `users set-password`, `users
disable`, `users enable`, `demo`, `db` (Flask-Migrate's, plus `db backup`). Each runs as
one unit of work (services/unit_of_work.run): committed once at its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from . import cli_mail
from .core.errors import DomainError
from .extensions import init_migrations
from .services import accounts, backup, unit_of_work
from .services.access import ROLES

users = AppGroup("users", help="Manage API users.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="")
def create_user(email: str, role: str, name: str) -> None:
    """Create a user and print its API token as the last line."""
    user, token = _run(lambda: accounts.create_user(email, role, name))
    click.echo(f"created {user.role} {user.email} (id {user.id}); API token:")
    click.echo(token)


@users.command("rotate-token")
@click.option("--email", required=True)
def rotate_token(email: str) -> None:
    """Replace a user's API token and print the new one as the last line."""
    user, token = _run(lambda: accounts.rotate_token(email))
    click.echo(f"new API token for {user.email}:")
    click.echo(token)


@users.command("set-password")
@click.option("--email", required=True)
@click.password_option(help="The new password (asked twice when not given).")
def set_password(email: str, password: str) -> None:
    """Set a user's password for the pages (ends their other sessions)."""
    user = _run(lambda: accounts.set_password(email, password))
    click.echo(f"password set for {user.email}")


def _run(work):  # type: ignore[no-untyped-def]
    """`work` as one unit of work; a refusal (a DomainError) is the command's error."""
    try:
        return unit_of_work.run(work)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


@users.command("disable")
@click.argument("email")
def disable_user(email: str) -> None:
    """Disable a user: no sign-in, and their sessions and API tokens stop at once."""
    user = _run(lambda: accounts.set_disabled(email, True))
    click.echo(f"disabled {user.email}")


@users.command("enable")
@click.argument("email")
def enable_user(email: str) -> None:
    """Enable a disabled user again (sign-in and their API tokens work again)."""
    user = _run(lambda: accounts.set_disabled(email, False))
    click.echo(f"enabled {user.email}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load the demo clinic (idempotent; dates relative to today)."""
    from .services.demo import load_demo

    click.echo(unit_of_work.run(load_demo))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite PATH if it exists.")
@with_appcontext
def backup_database(path: Path, replace: bool) -> None:
    """Copy the SQLite database to PATH while the app keeps running (SQLite's online
    backup API; one consistent state). PostgreSQL: use pg_dump (README)."""
    try:
        copy = backup.copy_to(path, replace)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"backed up to {copy.path} ({copy.pages} pages, quick_check ok)")


class MigrationCommands(click.Command):
    """`flask db ...`: Flask-Migrate's command group, set up for the app when the command
    line first asks for it (extensions.init_migrations), so that the app itself starts
    without Alembic. Its context is the real group's: options, subcommands and help, and
    our `db backup`."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate, Alembic).")
        self.app = app

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        init_migrations(self.app)
        from flask_migrate.cli import db as commands

        commands.add_command(backup_database)
        return commands.make_context(info_name, args, parent=parent, **extra)


def register_cli(app: Flask) -> None:
    from .cli_calendars import calendars  # busy calendars subscribed by URL

    app.cli.add_command(MigrationCommands(app))
    app.cli.add_command(calendars)
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(cli_mail.mail)
