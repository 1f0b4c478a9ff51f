"""The admin's sites page: the clinic's sites (where sessions happen: a practice, a
race-weekend tent), each with its zone and address; add one, change one
(services/sites.py). A refused form comes back with what was typed (422), nothing saved."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from pydantic import ValidationError as SchemaError
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ...core.errors import DomainError
from ...services import sites
from ..auth import page_caller, signed_in
from ..schemas.clinic import SiteIn, SitePatch
from . import bp
from .admin import refused
from .event_form import COMMON_ZONES, known_zone, zone_choices


class SiteForm(FlaskForm):
    name = StringField("Site name", validators=[
        DataRequired("Give the site a name."),
        Length(max=200, message="Use at most 200 characters.")])
    timezone = SelectField("Time zone", choices=list(COMMON_ZONES), validate_choice=False,
                           validators=[known_zone])
    address = StringField("Address (optional)", validators=[
        Length(max=500, message="Use at most 500 characters.")])

    def values(self) -> dict[str, str]:
        return {"name": self.name.data.strip(), "timezone": self.timezone.data,
                "address": " ".join((self.address.data or "").split())}


def render_sites(form: SiteForm | None = None, status: int = 200):
    return render_template("admin/sites.html", form=form or SiteForm(formdata=None),
                           sites=sites.sites_for_admin(page_caller())), status


@bp.get("/admin/sites")
@signed_in("admin")
def admin_sites():
    return render_sites()


@bp.post("/admin/sites")
@signed_in("admin")
def admin_add_site():
    form = zone_choices(SiteForm())
    if not form.validate():
        return render_sites(form, 422)
    try:
        site = sites.create_site_for(page_caller(), SiteIn.model_validate(form.values()))
    except (DomainError, SchemaError) as exc:
        refused(form, exc)
        return render_sites(form, 422)
    flash(f"The site {site.name} is added.", "success")
    return redirect(url_for(".admin_sites"), 303)


def render_site(site_id: int, form: SiteForm | None = None, status: int = 200):
    site = sites.site(site_id, "site")
    if form is None:
        form = zone_choices(SiteForm(formdata=None, obj=site))
    return render_template("admin/site.html", site=site, form=form), status


@bp.get("/admin/sites/<int:site_id>")
@signed_in("admin")
def admin_site(site_id: int):
    return render_site(site_id)


@bp.post("/admin/sites/<int:site_id>")
@signed_in("admin")
def admin_save_site(site_id: int):
    form = zone_choices(SiteForm())
    if not form.validate():
        return render_site(site_id, form, 422)
    try:
        site = sites.update_site_for(page_caller(), site_id,
                                     SitePatch.model_validate(form.values()))
    except (DomainError, SchemaError) as exc:
        refused(form, exc)
        return render_site(site_id, form, 422)
    flash(f"The site {site.name} is saved.", "success")
    return redirect(url_for(".admin_sites"), 303)
