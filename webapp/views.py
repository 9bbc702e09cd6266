"""Pieces several blueprints' pages share: transition forms, the progress bar, the timeline."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import DateTimeLocalField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from webapp.db import db
from webapp.errors import OperationError
from webapp.forms import Form, NoScript, choices
from webapp.i18n import in_zone, select_timezone
from webapp.models import AuditEvent, Case, Comment, Document, Notification, UserRole
from webapp.operations import cases as case_ops
from webapp.operations.applications import section_title
from webapp.operations.wiring import wiring
from workflows import get_workflow, vocabulary
from workflows.engine import FieldSource, Purpose, StateKind, Transition, Workflow
from workflows.vocabulary import Vocabulary

#: the page that fires a transition with a dedicated screen (Transition.screen)
SCREENS = {"pairing": "pairing.case", "agreement": "agreements.agreement",
           "plan": "cooperation.plan"}


@login_required
def admins_only() -> None:
    """The gate of the administration blueprints: administrators only (403 for others)."""
    if current_user.role != UserRole.ADMIN:
        abort(403)


def refusal_messages(exc: Exception) -> list[str]:
    """What a refusal says to people: each of its reasons (else its message), or each value
    of a payload that was refused."""
    if isinstance(exc, case_ops.PayloadError):
        return exc.messages
    if isinstance(exc, OperationError):
        return list(exc.reasons or (exc.message,))
    return [str(exc)]


@contextmanager
def refusals_flashed(to: str, *, code: int = 303,
                     catch: tuple[type[Exception], ...] = (OperationError, case_ops.PayloadError),
                     passing: Collection[int] = ()) -> Iterator[None]:
    """Run an operation; if it refuses, flash why as errors and redirect to ``to``.

    A refusal whose status is in ``passing`` goes on to the error pages instead: an action
    on something that is not there, or not the person's, is not a message to flash.
    """
    try:
        yield
    except catch as exc:
        if isinstance(exc, OperationError) and exc.status in passing:
            raise
        for message in refusal_messages(exc):
            flash(message, "error")
        abort(redirect(to, code))


def words(subject: Any) -> Vocabulary:
    """The vocabulary of a case, a call or a call kind: what its plan, agreement and partners
    are called, what it asks for (``words(case).plan_title`` in a template)."""
    if isinstance(subject, str):
        return vocabulary(subject)
    return vocabulary(subject.workflow if isinstance(subject, Case) else subject.kind)


def flow(subject: Any) -> Workflow:
    """The workflow definition of a case, a call or a call kind: templates ask it which step
    serves which purpose (``flow(case).offers(case.state, purposes.ACCEPT_PARTNER)``)."""
    if isinstance(subject, str):
        return get_workflow(subject)
    return get_workflow(subject.workflow if isinstance(subject, Case) else subject.kind)


def transition_form(t: Transition, formdata: Any = None, case: Case | None = None) -> Form:
    """A form for the fields a transition asks for (reason, message, deadline, sections ...);
    a "choices" field offers what it may name on ``case`` (on any case without one)."""

    class TransitionForm(Form):
        pass

    for f in t.form_fields:
        label, hint = _(f.label), _(f.hint) if f.hint else ""
        validators = ([InputRequired(_("Fill in “%(label)s”.", label=label))] if f.required
                      else [Optional()])
        if f.type == "datetime":
            field = DateTimeLocalField(label, validators, format="%Y-%m-%dT%H:%M",
                                       description=hint or _("In your time zone."))
        elif f.type == "choices":
            field = SelectMultipleField(label, validators, description=hint,
                                        choices=choices(case_ops.field_choices(f.name, case)))
        else:
            field = TextAreaField(label, [*validators, Length(max=4000), NoScript()],
                                  description=hint)
        setattr(TransitionForm, f.name, field)
    # The page-wide CSRF check already guards the POST; a per-form token would be prefixed.
    return TransitionForm(formdata=formdata, prefix=t.name, meta={"csrf": False})


def form_payload(t: Transition, form: Form, screen: Any = None) -> dict[str, Any] | None:
    """The transition's payload from its validated form and the fields its screen sends
    (``screen``: the request's form data), through the one transition parser; local times
    become UTC-aware. None when a value is refused: the form then carries the messages."""
    raw: dict[str, Any] = {f.name: form[f.name].data for f in t.form_fields}
    for f in t.request_fields:
        if screen is not None and f.source is FieldSource.SCREEN and f.name in screen:
            raw[f.name] = screen.getlist(f.name) if f.type == "choices" else screen[f.name]
    try:
        return case_ops.parse_payload(t, raw, zone=select_timezone())
    except case_ops.PayloadError as exc:
        for name, messages in exc.errors.items():
            if name in form:
                form[name].errors = list(messages)
            else:
                form.form_errors.extend(messages)
        return None


def progress_for(case: Case) -> dict[str, Any]:
    """The stages of the case's workflow, where it stands, and a banner for closed cases."""
    wf = get_workflow(case.workflow)
    stages = wf.stages()
    state = wf.state(case.state)
    stage = state.stage
    if state.kind is StateKind.CLOSED:
        # A case that ended shows the stage it ended in, not the stage its end state names.
        left = db.session.scalar(select(AuditEvent.from_state).where(
            AuditEvent.case_id == case.id, AuditEvent.to_state == case.state,
            AuditEvent.from_state != case.state).order_by(AuditEvent.id.desc()).limit(1))
        stage = wf.state(left).stage if left else stage
    index = stages.index(stage) if stage in stages else 0
    if state.kind is StateKind.SUCCESS:
        index = len(stages)
    terminal = state.staff_label if state.kind is StateKind.CLOSED else None
    return {"stages": stages, "index": index, "terminal": terminal}


def case_timeline(case: Case, staff: bool,
                  events: Sequence[AuditEvent] | None = None) -> list[dict[str, Any]]:
    """Transitions, comments and e-mails of a case in one list, newest first (from ``events``
    when the page has read the case's audit events already).

    Applicants see no internal comments and no other person's e-mails.
    """
    wf = get_workflow(case.workflow)
    items: list[dict[str, Any]] = []
    if events is None:
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()
    for ev in events:
        # Comments appear below as themselves; staff bookkeeping is not the applicant's.
        if ev.action == "comment" or (not staff and ev.action in _STAFF_ONLY_ACTIONS):
            continue
        if ev.from_state != ev.to_state and ev.to_state:
            target = wf.state(ev.to_state)
            label = _(target.staff_label if staff else target.applicant_label)
            title = _("%(action)s: %(state)s", action=action_label(wf, ev.action), state=label)
        else:
            title = action_label(wf, ev.action)
        body = "\n".join(_("%(what)s: %(value)s", what=_PAYLOAD_LABELS[k],
                            value=_shown_value(k, v))
                         for k, v in ev.payload.items() if k in _PAYLOAD_LABELS and v)
        if staff and "verdict_after" in ev.payload:
            body += ("\n" if body else "") + _(
                "Eligibility rules: %(before)s → %(after)s",
                before=_verdict(ev.payload.get("verdict_before")),
                after=_verdict(ev.payload.get("verdict_after")))
        if ev.payload.get("sections"):
            titles = ", ".join(section_title(k) for k in ev.payload["sections"])
            body += ("\n" if body else "") + _("Sections to revise: %(titles)s", titles=titles)
        items.append({"at": ev.at, "when": in_zone(ev.at), "kind": "transition", "title": title,
                      "body": body, "actor": ev.actor_label, "internal": False})
    comment_q = select(Comment).where(Comment.case_id == case.id)
    if not staff:
        comment_q = comment_q.where(Comment.internal.is_(False))
    for c in db.session.scalars(comment_q):
        items.append({"at": c.created_at, "when": in_zone(c.created_at), "kind": "comment",
                      "title": _("Comment"), "body": c.body,
                      "actor": c.author.display_name if c.author else "", "internal": c.internal})
    if staff:
        from webapp.notifications import STATUS_LABELS

        for n in db.session.scalars(select(Notification).where(Notification.case_id == case.id)):
            items.append({"at": n.created_at, "when": in_zone(n.created_at), "kind": "email",
                          "title": _("E-mail “%(template)s” to %(name)s — %(status)s",
                                     template=n.template.replace("_", " "), name=n.to_name,
                                     status=STATUS_LABELS.get(n.status, n.status)),
                          "body": "", "actor": "", "internal": True})
    for d in db.session.scalars(select(Document).where(Document.case_id == case.id)):
        items.append({"at": d.uploaded_at, "when": in_zone(d.uploaded_at), "kind": "document",
                      "title": _("Document “%(name)s” (%(kind)s)", name=d.filename,
                                 kind=d.kind.replace("_", " ")),
                      "body": "", "actor": "", "internal": False})
    for provider in wiring().timeline:
        items.extend(provider(case, staff))
    items.sort(key=lambda i: i["at"], reverse=True)
    return items



_ACTIONS = {"start": _l("Application started"), "save_section": _l("Section saved"),
            "add_member": _l("Group member added"), "remove_member": _l("Group member removed"),
            "comment": _l("Comment"), "assign": _l("Responsible coordinator changed"),
            "grant_extension": _l("Extension granted"),
            "rerun_eligibility": _l("Eligibility rules run again")}
_STAFF_ONLY_ACTIONS = {"assign"}
#: what a transition's recorded answers are called on the timeline
_PAYLOAD_LABELS = {"reason": _l("Reason"), "message": _l("Message"), "answer": _l("Answer"),
                   "comments": _l("Comments"), "override_reason": _l("Override reason"),
                   "response_deadline": _l("Response deadline")}
_VERDICTS = {"pass": _l("passed"), "fail": _l("a rule failed"),
             "needs_review": _l("needs review")}


def _verdict(summary: str | None) -> str:
    return str(_VERDICTS.get(summary or "", summary or "–"))


def _shown_value(key: str, value: Any) -> str:
    # A recorded time (a response deadline) reads in the reader's zone, not as stored.
    if key == "response_deadline" and isinstance(value, str):
        try:
            return in_zone(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def action_label(wf, action: str) -> str:
    """What an audited action is called in the reader's language."""
    if wf.has_transition(action):
        return _(wf.transition(action).label)
    return str(_ACTIONS.get(action, action.replace("_", " ").capitalize()))


def case_links(case: Case, staff: bool) -> list[tuple[str, str]]:
    """The pages of other stages that belong to this case, for both case pages."""
    from flask import url_for

    from webapp.operations import agreements

    wf = get_workflow(case.workflow)
    links: list[tuple[str, str]] = []
    if staff and wf.offers(case.state, Purpose.PROPOSE_PARTNER):
        links.append((_("Find a partner: ranked suggestions"), url_for("pairing.case",
                                                                        case_id=case.id)))
    said = words(case)
    if agreements.current(db.session, case.id) is not None:
        # Named as the agreement page names itself.
        links.append((said.agreement_name, url_for("agreements.agreement", case_id=case.id)))
    if case.cooperation_start is not None:
        links += [(_("Deliverables"), url_for("cooperation.overview", case_id=case.id)),
                  (_("Activities"), url_for("cooperation.activities", case_id=case.id)),
                  (_("Progress reports"), url_for("cooperation.reports", case_id=case.id)),
                  (said.plan_title, url_for("cooperation.plan", case_id=case.id))]
    if staff and wf.offers(case.state, Purpose.SELECT):
        links.append((_("Scoring"), url_for("cooperation.scoring", case_id=case.id)))
    return links
