"""Reminders and check-ins by email on or off (services/reminders.py): the athlete on their
Account page, an admin on the athletes list. A form posts `reminders` = on | off."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from ...services import reminders
from ..auth import page_caller, signed_in
from . import bp
from .account import render_account
from .admin import after_id, render_athletes

CHOICES = {"on": True, "off": False}


def _choice() -> bool | None:
    return CHOICES.get(request.form.get("reminders", ""))


@bp.post("/account/reminders")
@signed_in("athlete")
def set_my_reminders():
    caller, on = page_caller(), _choice()
    if on is None or caller.athlete_id is None:
        flash("Choose whether you want reminders: on or off.", "error")
        return render_account(status=422)
    reminders.set_for(caller, caller.athlete_id, on)
    flash("Reminders are on: the day before each session, and a check-in two days after "
          "a recovery session." if on else "Reminders are off: you get no reminder or "
          "check-in emails.", "success")
    return redirect(url_for(".account"), 303)


@bp.post("/admin/athletes/<int:profile_id>/reminders")
@signed_in("admin")
def admin_set_reminders(profile_id: int):
    on = _choice()
    if on is None:
        flash("Choose on or off for the reminders.", "error")
        return render_athletes(status=422)
    athlete = reminders.set_for(page_caller(), profile_id, on)
    flash(f"Reminders for {athlete.name} are {'on' if on else 'off'}.", "success")
    return redirect(url_for(".admin_athletes", after=after_id() or None,
                            q=request.args.get("q") or None), 303)
