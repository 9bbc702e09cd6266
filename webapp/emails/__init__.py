"""E-mail wording: an admin rewrites the subject and text of any notification per language,
previews it on a real case, or goes back to the shipped wording (webapp/wording.py renders,
webapp/operations/wording.py saves)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from webapp import wording
from webapp.db import db
from webapp.errors import OperationError
from webapp.forms import Form
from webapp.i18n import LANGUAGE_NAMES
from webapp.models import Case, Notification
from webapp.operations import wording as wording_ops
from webapp.views import admins_only

bp = Blueprint("emails", __name__, url_prefix="/office/admin/emails")


class WordingForm(Form):
    subject = StringField(_l("Subject"), [InputRequired(_l("Write the subject.")),
                                          Length(max=wording.MAX_SUBJECT)])
    body = TextAreaField(_l("Text"), [InputRequired(_l("Write the text."))], description=_l(
        "Plain text. Variables are written {{ name }}; {% if name %}…{% endif %} shows a part "
        "only when there is something to show. A blank line starts a new paragraph; web "
        "addresses become links in the HTML part."))
    case = StringField(_l("Preview on the case"), [Length(max=40)],
                       description=_l("A case reference, e.g. IUC-2026-0042."))


bp.before_request(admins_only)


def _known(template: str, locale: str) -> None:
    if template not in wording.template_names() or locale not in wording.LANGUAGES:
        abort(404)


@bp.get("")
def templates():
    """Every notification template, when it is sent, and the languages reworded."""
    return render_template("wording/templates.html", names=wording.template_names(),
                           spec_for=wording.spec_for, overridden=wording_ops.overridden(),
                           languages=LANGUAGE_NAMES)


def _case(reference: str, template: str) -> Case | None:
    """The case to preview on: the one named, else the latest with this kind of e-mail,
    else the latest case."""
    if reference:
        return db.session.scalar(select(Case).where(Case.reference == reference.strip()))
    case_id = db.session.scalar(select(Notification.case_id).where(
        Notification.template == template, Notification.case_id.is_not(None))
        .order_by(Notification.id.desc()).limit(1))
    if case_id is not None:
        return db.session.get(Case, case_id)
    return db.session.scalar(select(Case).order_by(Case.id.desc()).limit(1))


def _page(template: str, locale: str, form: WordingForm, case: Case | None, status: int = 200,
          draft: wording.Override | None = None, errors: list[tuple[None, str]] | None = None):
    saved = wording_ops.current(template, locale)
    spec = wording.spec_for(template)
    preview = wording.preview(db.session, template, locale, case, current_user, override=draft)
    shipped = wording.preview(db.session, template, locale, case, current_user, shipped=True)
    return render_template(
        "wording/wording.html", template=template, locale=locale, form=form, spec=spec,
        variables=spec.variables(), required=spec.required(), saved=saved, case=case,
        preview=preview, shipped=shipped, draft=draft is not None, languages=LANGUAGE_NAMES,
        overridden=wording_ops.overridden().get(template, []),
        events=wording_ops.history(template, locale), errors=errors or [],
        paragraphs=wording.html_paragraphs, has_errors=bool(errors or form.errors)), status


def _starter(template: str, locale: str, case: Case | None) -> wording.Override:
    try:
        return wording.starter(db.session, template, locale, case, current_user)
    except Exception:  # a shipped template this case cannot fill: start from nothing
        return wording.Override("", "")


@bp.route("/<template>/<locale>", methods=["GET", "POST"])
def edit(template: str, locale: str):
    """The wording of one template in one language: write it, preview it, save it."""
    _known(template, locale)
    form = WordingForm()
    case = _case(form.case.data or "", template)
    if not form.is_submitted():
        saved = wording_ops.current(template, locale)
        draft = (wording.Override(saved.subject, saved.body) if saved else
                 _starter(template, locale, case))
        form = WordingForm(formdata=None, data={"subject": draft.subject, "body": draft.body,
                                                "case": case.reference if case else ""})
        return _page(template, locale, form, case)
    errors: list[tuple[None, str]] = []
    valid = form.validate()
    if form.case.data and case is None:
        form.case.errors = [_("There is no case with this reference.")]
    if not valid or form.case.errors:
        return _page(template, locale, form, case, 400)
    draft = wording.Override(form.subject.data or "", form.body.data or "")
    if request.form.get("action") == "save":
        try:
            wording_ops.save(current_user, template, locale, draft.subject, draft.body,
                             g.get("source_address", ""))
        except wording_ops.WordingRefused as exc:
            for field, messages in exc.problems.items():
                form[field].errors = list(messages)
        except OperationError as exc:
            errors.append((None, exc.message))
        else:
            flash(_("The wording is saved: %(template)s e-mails to readers of %(language)s use "
                    "it from now on.", template=template, language=LANGUAGE_NAMES[locale]),
                  "success")
            return redirect(url_for("emails.edit", template=template, locale=locale), 303)
        return _page(template, locale, form, case, 400, errors=errors)
    for field, messages in wording.problems(template, draft.subject, draft.body).items():
        form[field].errors = list(messages)
    if form.errors:
        return _page(template, locale, form, case, 400)
    return _page(template, locale, form, case, draft=draft)


@bp.post("/<template>/<locale>/default")
def reset(template: str, locale: str):
    """Back to the shipped wording: the admin's wording is deleted."""
    _known(template, locale)
    if wording_ops.reset(current_user, template, locale, g.get("source_address", "")):
        flash(_("Back to the shipped wording."), "success")
    return redirect(url_for("emails.edit", template=template, locale=locale), 303)


@bp.get("/<template>/<locale>/email.html")
def preview_html(template: str, locale: str):
    """The HTML part of the wording in force, on a case, as the recipient would see it."""
    _known(template, locale)
    found = wording.preview(db.session, template, locale,
                            _case(request.args.get("case", ""), template), current_user)
    if found.error:
        return Response(_("This e-mail cannot be shown: %(error)s", error=found.error), 422,
                        mimetype="text/plain")
    resp = Response(found.html, mimetype="text/html")
    # The e-mail's own markup and styles run in a sandbox: no scripts, no access to the site.
    resp.headers["Content-Security-Policy"] = "sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
