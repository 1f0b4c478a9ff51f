"""The admin's page of the clinic's background work (services/jobs_status.py): the job
queue, the last round a worker finished, each job, mail waiting and failed sends; and a
button that hands every job to a worker now."""

from __future__ import annotations

from datetime import UTC

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from ...services import jobs_status
from ..auth import page_caller, signed_in
from . import bp
from .format import when


@bp.get("/admin/jobs")
@signed_in("admin")
def admin_jobs():
    return render_template("admin/jobs.html", status=jobs_status.status_for(page_caller()),
                           form=FlaskForm(), utc=lambda at: f"{when(at, UTC)} UTC")


@bp.post("/admin/jobs/run")
@signed_in("admin")
def admin_run_jobs():
    form = FlaskForm()
    if not form.validate():
        flash("This form has expired: reload the page and try again.", "error")
        return redirect(url_for(".admin_jobs"), 303)
    names = jobs_status.run_now_for(page_caller())
    flash(f"Handed to the worker now: {', '.join(names)}.", "success")
    return redirect(url_for(".admin_jobs"), 303)
