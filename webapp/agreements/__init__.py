"""The Partnership Agreement pages: read and sign (parties), regenerate and track
(coordinators), download the PDF of a version and the signed PDFs that were uploaded."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from webapp.access import case_or_abort, visible_cases
from webapp.agreements.forms import RegenerateForm, TypedSignatureForm, UploadSignatureForm
from webapp.db import db, utcnow
from webapp.errors import Conflict, OperationError
from webapp.models import (
    Agreement,
    Case,
    CasePartner,
    Deadline,
    DeadlineStatus,
    Signature,
    partner_party,
)
from webapp.models.party import is_party, key_of, parties_of
from webapp.operations import agreements, cases, documents
from workflows import get_workflow

bp = Blueprint("agreements", __name__, url_prefix="/agreements")
PAGE_SIZE = 50


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page needs an account; each route checks the role and the case."""




def _page(case: Case, *, typed: TypedSignatureForm | None = None,
          upload: UploadSignatureForm | None = None, regenerate: RegenerateForm | None = None,
          errors: list[tuple[None, str]] | None = None, stale: bool = False, status: int = 200):
    """The agreement page of a case, with whichever form failed kept as it was typed."""
    session = db.session
    failed = next((f for f in (typed, upload, regenerate) if f is not None), None)
    all_versions = agreements.versions(session, case.id)
    agreement = next((a for a in all_versions if a.voided_at is None), None)
    signed = agreements.live_signatures(session, [agreement.id]).get(agreement.id, {}) \
        if agreement else {}
    party = key_of(current_user)
    wf = get_workflow(case.workflow)
    signing = agreements.signing_transition(case)
    option = None
    if party and agreement and signing and party not in signed:
        option = next((o for o in cases.options(case, current_user)
                       if o.transition.name == signing.name), None)
    if agreement is not None:
        for form in (typed, upload) if stale else ():
            # Signing again after the refusal signs the version now shown on the page.
            if form is not None:
                form.agreement_hash.data = agreement.content_hash
        typed = typed or TypedSignatureForm(formdata=None, prefix="typed",
                                            agreement_hash=agreement.content_hash)
        upload = upload or UploadSignatureForm(formdata=None, prefix="upload",
                                               agreement_hash=agreement.content_hash)
    staff = current_user.is_staff
    can_regenerate = staff and agreement is not None and agreements.awaits_signatures(case)
    return render_template(
        "agreements/agreement.html", case=case, agreement=agreement, versions=all_versions,
        signed=signed, party=party, option=option,
        parties={p.key: p.name for p in parties_of(case)}, typed=typed, upload=upload,
        regenerate=regenerate or RegenerateForm(formdata=None, prefix="regenerate"),
        can_regenerate=can_regenerate, staff=staff, open_for_signature=signing is not None,
        errors=errors or [], failed=failed,
        has_errors=bool(errors) or failed is not None,
        state=wf.state(case.state),
        # The stored document was escaped when it was rendered; it is shown as it is.
        document=Markup(agreement.html) if agreement else None,  # noqa: S704
    ), status


@bp.get("/")
def tracker():
    """Cases whose agreement awaits signatures: who has signed and how long they wait."""
    if not current_user.is_staff:
        abort(403)
    waiting = [and_(Case.workflow == kind, Case.state.in_(states))
               for kind, states in agreements.agreement_states().items() if states]
    q = visible_cases(current_user).where(or_(*waiting) if waiting else false())
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = list(db.session.scalars(
        q.options(joinedload(Case.organisation), joinedload(Case.partner_city),
                  selectinload(Case.partner_links).joinedload(CasePartner.partner_city))
        .order_by(Case.state_entered_at, Case.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    ids = [c.id for c in rows]
    current: dict[int, Agreement] = {}
    if ids:
        for a in db.session.scalars(select(Agreement).where(Agreement.case_id.in_(ids),
                                                            Agreement.voided_at.is_(None))):
            current[a.case_id] = a
    signatures = agreements.live_signatures(db.session, [a.id for a in current.values()])
    deadlines = {d.case_id: d for d in db.session.scalars(select(Deadline).where(
        Deadline.case_id.in_(ids), Deadline.status == DeadlineStatus.OPEN))} if ids else {}
    now = utcnow()
    items: list[dict[str, Any]] = []
    for case in rows:
        agreement = current.get(case.id)
        deadline = deadlines.get(case.id)
        items.append({
            "case": case, "agreement": agreement,
            "signed": signatures.get(agreement.id, {}) if agreement else {},
            "days": (now - case.state_entered_at).days,
            "deadline": deadline, "overdue": deadline is not None and deadline.due_at < now,
        })
    return render_template("agreements/tracker.html", items=items, total=total, page=page,
                           partner_party=partner_party,
                           pages=pages,
                           page_url=lambda p: url_for("agreements.tracker", page=p))


@bp.get("/<int:case_id>")
def agreement(case_id: int):
    """The current version, its signatures, the forms to sign it, and earlier versions."""
    return _page(case_or_abort(case_id))


@bp.get("/<int:case_id>/agreement-v<int:version>.pdf")
def pdf(case_id: int, version: int):
    """One version of the agreement as a PDF."""
    case = case_or_abort(case_id)
    found = db.session.scalar(select(Agreement).where(Agreement.case_id == case.id,
                                                      Agreement.version == version))
    if found is None:
        abort(404)
    data = agreements.render_pdf(found, case)
    return send_file(io.BytesIO(data), mimetype="application/pdf",
                     download_name=f"{case.reference}-agreement-v{version}.pdf")


@bp.get("/<int:case_id>/signatures/<int:signature_id>/signed.pdf")
def signed_pdf(case_id: int, signature_id: int):
    """The signed PDF a party uploaded."""
    case = case_or_abort(case_id)
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.case_id != case.id:
        abort(404)
    path = agreements.signed_pdf_path(signature)
    if path is None or not path.exists():
        abort(404)
    return send_file(path, mimetype=documents.PDF, as_attachment=True,
                     download_name=signature.document.filename)


def _party_case(case_id: int) -> Case:
    case = case_or_abort(case_id)
    if not is_party(current_user):
        abort(403)
    return case


def _signed(case: Case, outcome: agreements.Signed):
    several = len(case.parties) > 2
    if outcome.moved:
        label = _(get_workflow(case.workflow).state(outcome.target).applicant_label).lower()
        flash(_("You have signed the agreement. Every party has now signed: %(state)s.",
                state=label) if several else
              _("You have signed the agreement. Both parties have now signed: %(state)s.",
                state=label), "success")
    else:
        flash(_("You have signed the agreement. We are waiting for the other parties to sign.")
              if several else
              _("You have signed the agreement. We are waiting for the other party to sign."),
              "success")
    return redirect(url_for("agreements.agreement", case_id=case.id))


def _refused(exc: OperationError) -> list[tuple[None, str]]:
    """The refusal's reasons as the error summary lists them (no field to link to)."""
    return [(None, reason) for reason in exc.reasons or (exc.message,)]


@bp.post("/<int:case_id>/sign/typed")
def sign_typed(case_id: int):
    """Sign with a typed electronic signature."""
    case = _party_case(case_id)
    form = TypedSignatureForm(prefix="typed")
    if not form.validate():
        return _page(case, typed=form, status=400)
    try:
        outcome = agreements.sign_typed(
            case.id, current_user, agreement_hash=form.agreement_hash.data,
            full_name=form.full_name.data, title=form.title.data, consent=form.consent.data,
            source_address=g.source_address)
    except OperationError as exc:
        db.session.expire_all()
        return _page(case_or_abort(case_id), typed=form, errors=_refused(exc),
                     stale=isinstance(exc, Conflict), status=exc.status)
    return _signed(case, outcome)


@bp.post("/<int:case_id>/sign/upload")
def sign_upload(case_id: int):
    """Sign by uploading the agreement signed by hand."""
    case = _party_case(case_id)
    form = UploadSignatureForm(prefix="upload")
    if not form.validate():
        return _page(case, upload=form, status=400)
    try:
        outcome = agreements.sign_upload(
            case.id, current_user, agreement_hash=form.agreement_hash.data,
            stream=form.signed_pdf.data.stream, filename=form.signed_pdf.data.filename or "",
            full_name=form.full_name.data, title=form.title.data,
            source_address=g.source_address)
    except documents.UploadRefused as exc:
        form.signed_pdf.errors = [exc.message]
        db.session.expire_all()
        return _page(case_or_abort(case_id), upload=form, status=400)
    except OperationError as exc:
        db.session.expire_all()
        return _page(case_or_abort(case_id), upload=form, errors=_refused(exc),
                     stale=isinstance(exc, Conflict), status=exc.status)
    return _signed(case, outcome)


@bp.post("/<int:case_id>/regenerate")
def regenerate(case_id: int):
    """A coordinator issues a new version; earlier signatures become void."""
    case = case_or_abort(case_id)
    if not current_user.is_staff:
        abort(403)
    form = RegenerateForm(prefix="regenerate")
    if not form.validate():
        return _page(case, regenerate=form, status=400)
    try:
        new = agreements.regenerate(case.id, current_user, form.reason.data,
                                    source_address=g.source_address)
    except OperationError as exc:
        db.session.expire_all()
        return _page(case_or_abort(case_id), regenerate=form, errors=_refused(exc),
                     status=exc.status)
    flash(_("Version %(number)s of the agreement is issued. Earlier signatures are void and "
            "both parties have been asked to sign again.", number=new.version), "success")
    return redirect(url_for("agreements.agreement", case_id=case.id))
