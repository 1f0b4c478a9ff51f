"""The athlete's screening page (GET/POST /screening): the special considerations a
therapist reviews before needling, answered "applies", "does not apply" or left open, a
note, and where things stand (not answered, awaiting review, cleared, not cleared, with
the therapist's note). The app informs; the therapist decides."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length

from ...core.screening import CLEARED, CONSIDERATIONS, MAX_NOTE_LENGTH
from ...services import my_season
from ..auth import page_caller, signed_in
from ..schemas.screening import screening_json
from . import bp

CHOICES = [SelectChoice("yes", "Applies to me"), SelectChoice("no", "Does not apply"),
           SelectChoice("", "Not answered")]
VALUES = {"yes": True, "no": False, "": None}
ANSWERS = {True: "yes", False: "no", None: ""}


class ScreeningForm(FlaskForm):
    note = TextAreaField("Anything else your therapist should know (optional)", validators=[
        Length(max=MAX_NOTE_LENGTH, message=f"Use at most {MAX_NOTE_LENGTH} characters.")])

    def answers(self) -> dict[str, bool | None]:
        return {c.key: VALUES[self[c.key].data or ""] for c in CONSIDERATIONS}


for _c in CONSIDERATIONS:
    setattr(ScreeningForm, _c.key, RadioField(_c.label, choices=CHOICES, default=""))


def state_of(found: dict | None) -> str:
    """Where the screening stands, as the athlete reads it."""
    if found is None:
        return "Not answered yet"
    review = found["review"]
    if review is None:
        return "Answered: awaiting your therapist's review"
    return "Cleared for dry needling" if review["decision"] == CLEARED else (
        "Not cleared for dry needling")


def render(form: ScreeningForm, found: dict | None, status: int = 200):
    return render_template("athlete/screening.html", form=form, screening=found,
                           state=state_of(found), considerations=CONSIDERATIONS), status


@bp.route("/screening", methods=["GET", "POST"])
@signed_in("athlete")
def screening():
    caller = page_caller()
    row = my_season.my_screening(caller)
    found = row and screening_json(row)
    if not ScreeningForm().is_submitted():
        data = {c.key: ANSWERS[found["answers"][c.key]] for c in CONSIDERATIONS} if found else {}
        return render(ScreeningForm(data=data | {"note": found["note"] if found else ""}), found)
    form = ScreeningForm()
    if not form.validate():
        return render(form, found, 422)
    my_season.answer_screening(caller, form.answers(), (form.note.data or "").strip())
    flash("Your answers are saved. Your therapist reviews them before needling.", "success")
    return redirect(url_for(".screening"), 303)
