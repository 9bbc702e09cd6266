"""E-mail wording: an admin's own subject and text of a notification, per language.

The shipped templates (``templates/emails/<name>.subject.txt``, ``.txt``, ``.html``) stay the
default. An override is a subject and a plain-text body that use a few named variables
(``{{ link }}``, ``{{ deadline }}`` ...). It is rendered in a sandboxed Jinja environment that
sees only those plain values, never the database objects behind them, and refuses any other
name. The HTML part is made from the text (its paragraphs, links made clickable) in the
e-mail layout, so the two parts always say the same and nobody has to write HTML.

A template's variables are read from the same context its shipped wording gets: the names
its layout computes (the link to the exact page, the reference, the organisation ...), the
values the outbox wrote for it (a reason, comments ...), the deadline of deadline mail and
the unsubscribe link of optional mail. The link, the deadline and the unsubscribe link are
required: an override without them is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db import read_once, utcnow
from webapp.i18n import country_name, names_list
from webapp.models import Case, Deadline, MailWording, Notification, User, UserRole
from workflows import get_workflow, workflows
from workflows.engine import Purpose
from workflows.refusal import N_

#: the state a previewed status mail names: where a case goes once found eligible
_SAMPLE_STATE = next(t.target for wf in workflows().values()
                     if (t := wf.for_purpose(Purpose.DECLARE_ELIGIBLE)))

LANGUAGES = ("en", "fr", "es", "pt")
MAX_SUBJECT = 300
MAX_BODY = 20_000
#: what a preview puts where a one-time link carries its secret
PREVIEW_KEY = "preview"


@dataclass(frozen=True)
class Override:
    """An admin's wording of one template in one language."""

    subject: str
    body: str


@dataclass(frozen=True)
class Source:
    """What a template's variables are read from: the notification, the context its shipped
    wording gets, and the names that wording's layout computed from it."""

    notification: Notification
    context: Mapping[str, Any]
    layout: Any

    def get(self, key: str, default: Any = "") -> Any:
        value = self.context.get(key)
        return default if value is None else value

    def when(self, key: str) -> str:
        value = self.context.get(key)
        return self.context["local"](value) if value else ""


@dataclass(frozen=True)
class Variable:
    """A name an override may use: what it means and how its value is read; the context
    value a preview makes up when the case has no real e-mail of this kind; and a value of
    the variable's own type to try an override with (None: a string)."""

    description: Any
    value: Callable[[Source], Any]
    context_key: str = ""
    context_sample: Any = ""
    example: Any = None


def _partner(s: Source, attribute: str) -> str:
    partner = getattr(s.layout, "partner", None)
    if partner is not None:
        return str(getattr(partner, attribute) or "")
    return str(s.get("partner_name")) if attribute == "name" else ""


def _deadline(s: Source) -> str:
    """The deadline in the recipient's language and zone: the reminder's own, else the one
    the message names (an answer, a revision, a call's closing)."""
    deadline = s.context.get("deadline")
    if deadline is not None:
        return s.context["local"](deadline.due_at)
    for key in ("response_deadline", "resubmit_by", "closes_at"):
        if s.context.get(key):
            return s.when(key)
    return ""


def _status(s: Source) -> str:
    case, state = s.context.get("case"), s.get("to_state") or ""
    if case is None or not state:
        return ""
    try:
        return _(get_workflow(case.workflow).state(state).applicant_label)
    except KeyError:  # a state a newer definition dropped
        return state


def _unsubscribe_link(s: Source) -> str:
    n, url = s.notification, s.context["url"]
    token = s.get("unsubscribe_token")
    if token and not n.user_id:
        return url("public.mailing_unsubscribe", token=token)
    if not n.user_id:
        return ""
    from webapp.operations.preferences import unsubscribe_token

    return url("public.unsubscribe", token=unsubscribe_token(n.user_id))


def _items(s: Source) -> str:
    return "\n".join(f"- [{i['reference']}] {i['subject']}" if i.get("reference")
                     else f"- {i.get('subject', '')}" for i in s.get("items", []))


def _section_title(key: str) -> str:
    from webapp.operations.applications import section_title

    return str(section_title(key))


def _programme(s: Source) -> str:
    case = s.context.get("case")
    return case.call.programme.name if case is not None and case.call is not None else ""


#: every template may use these
EVERY_TEMPLATE: dict[str, Variable] = {
    "recipient_name": Variable(_l("the recipient's name"), lambda s: s.notification.to_name),
    "link": Variable(_l("the link to the exact page the e-mail is about"),
                     lambda s: getattr(s.layout, "action_link", None) or ""),
}
#: templates about a case may use these too
ABOUT_A_CASE: dict[str, Variable] = {
    "reference": Variable(_l("the application's reference, e.g. IUC-2026-0042"),
                          lambda s: getattr(s.layout, "ref", "") or ""),
    "organisation": Variable(_l("the applicant organisation"),
                             lambda s: getattr(s.layout, "org_name", "") or ""),
    "call_title": Variable(_l("the title of the call"),
                           lambda s: getattr(s.layout, "call_title", "") or ""),
    "programme": Variable(_l("the programme's name"), _programme),
    "partner_city": Variable(_l("the partner city or region, when there is one"),
                             lambda s: _partner(s, "name")),
    "partner_country": Variable(_l("the partner's country, named in the recipient's language"),
                                lambda s: country_name(_partner(s, "country"))),
    "plan_name": Variable(_l("“Local Action Plan”, or the roadmap of a region-to-region call"),
                          lambda s: getattr(s.layout, "plan_name", "") or ""),
    "agreement_name": Variable(_l("“Partnership Agreement”, or the cooperation agreement of a "
                                  "region-to-region call"),
                               lambda s: getattr(s.layout, "agreement_name", "") or ""),
}
DEADLINE = Variable(_l("the deadline, in the recipient's language and time zone"), _deadline)
UNSUBSCRIBE = Variable(_l("the link that switches this kind of e-mail off"), _unsubscribe_link)


def _sample(value: Any) -> Any:
    """A preview's made-up value in the current language (its texts are message ids)."""
    if isinstance(value, str) and value.startswith("("):
        return _(value)
    if isinstance(value, list):
        return [_sample(v) for v in value]
    if isinstance(value, dict):
        return {k: _sample(v) for k, v in value.items()}
    return value


def _said(key: str, description: Any, sample: str) -> Variable:
    return Variable(description, lambda s: s.get(key), key, sample)


#: what some templates' context holds besides
EXTRAS: dict[str, Variable] = {
    "reason": _said("reason", _l("the reason given, if any"), N_("(the reason given)")),
    "actor": _said("actor", _l("the person who acted"), N_("(a person's name)")),
    "message": _said("message", _l("the coordination unit's message"), N_("(the message)")),
    "answer": _said("answer", _l("the applicant's answer"), N_("(the answer)")),
    "comment": _said("comment", _l("the comment shared"), N_("(the comment)")),
    "partners_staying": Variable(_l("the partners that stay paired when one of several declines "
                                    "(empty otherwise)"),
                                 lambda s: names_list(s.get("partners_staying", []) or []),
                                 "partners_staying", ["Medellín"]),
    "comments": _said("comments", _l("the coordination unit's comments, if any"),
                      N_("(the comments)")),
    "inviter": _said("inviter", _l("who sent the invitation"), N_("(a person's name)")),
    "organisation": _said("organisation", _l("the organisation the person is invited to "
                                             "join (empty for staff)"), ""),
    "status": Variable(_l("the application's new status, as the applicant reads it"), _status,
                       "to_state", _SAMPLE_STATE),
    "deliverable": Variable(_l("the deliverable's title"),
                            lambda s: s.get("title") or (s.context["deadline"].label
                                                         if s.context.get("deadline") else ""),
                            "title", "Progress report 1"),
    "overdue": Variable(_l("true once the due date has passed (for {% if overdue %})"),
                        lambda s: int(s.get("offset_minutes", 0) or 0) > 0,
                        "offset_minutes", 1440, example=True),
    "days_overdue": Variable(_l("how many days the deliverable is overdue"),
                             lambda s: int(s.get("offset_minutes", 0) or 0) // 1440,
                             "offset_minutes", 1440 * 14, example=14),
    "items": Variable(_l("the digest's list, one e-mail a line"), _items, "items",
                      [{"reference": "IUC-2026-0001", "subject": N_("(an e-mail's subject)")}]),
    "call_title": _said("call_title", _l("the title of the call"), N_("(the call's title)")),
    "sections": Variable(_l("the sections of the application to revise, if any"),
                         lambda s: ", ".join(_section_title(k) for k in s.get("sections", [])),
                         "sections", ["contact"]),
    "forgot_password_link": Variable(_l("the link to choose a new password"),
                                     lambda s: s.context["url"]("auth.forgot")),
}


@dataclass(frozen=True)
class Spec:
    """One template: when it goes, whether it is about a case, what it must keep."""

    summary: Any
    extras: tuple[str, ...] = ()
    case: bool = True
    #: deadline mail: {{ deadline }} is required
    deadline: bool = False
    #: optional mail (it can be switched off): {{ unsubscribe_link }} is required
    optional: bool = False
    #: written to the coordinators rather than to the parties
    staff: bool = False

    def variables(self) -> dict[str, Variable]:
        """Every name an override of this template may use."""
        found = dict(EVERY_TEMPLATE)
        if self.case:
            found.update(ABOUT_A_CASE)
        if self.deadline:
            found["deadline"] = DEADLINE
        if self.optional:
            found["unsubscribe_link"] = UNSUBSCRIBE
        found.update((name, EXTRAS[name]) for name in self.extras)
        return found

    def required(self) -> tuple[str, ...]:
        """The names an override must show: the link, and the deadline or the unsubscribe
        link where they apply."""
        return ("link",) + (("deadline",) if self.deadline else ()) + (
            ("unsubscribe_link",) if self.optional else ())


#: every template the app sends; a template without a row gets the plain rules (link only)
SPECS: dict[str, Spec] = {
    "account_exists": Spec(_l("To someone who registers again with an address that has an "
                              "account."), ("forgot_password_link",), case=False),
    "agreement_to_sign": Spec(_l("To both parties when the agreement is ready to sign, or "
                                 "issued again."), ("reason",), deadline=True),
    "application_submitted": Spec(_l("To the applicant when the application is submitted.")),
    "case_terminated": Spec(_l("To both parties when the coordination unit ends a case."),
                            ("reason",)),
    "case_withdrawn": Spec(_l("To the applicant and the coordinators when an application is "
                              "withdrawn."), ("reason", "actor")),
    "comment_shared": Spec(_l("To the applicant when a coordinator shares a comment."),
                           ("comment", "actor"), optional=True),
    "confirm_email": Spec(_l("To a new applicant, to confirm the e-mail address."),
                          case=False),
    "cooperation_started": Spec(_l("To both parties when every party has signed the "
                                   "agreement.")),
    "declared_eligible": Spec(_l("To the applicant when the application is declared eligible "
                                 "(or selected).")),
    "declared_ineligible": Spec(_l("To the applicant when the application is declared not "
                                   "eligible (or not selected)."), ("reason", "status")),
    "deliverable_accepted": Spec(_l("To both parties when a deliverable is accepted."),
                                 ("deliverable", "comments"), optional=True),
    "deliverable_revision_requested": Spec(_l("To both parties when a deliverable must be "
                                              "revised by a new date."),
                                           ("deliverable", "comments"), deadline=True),
    "deliverable_submitted": Spec(_l("To the coordinators when a deliverable is submitted."),
                                  ("deliverable",), optional=True, staff=True),
    "digest": Spec(_l("The daily digest of optional e-mails, to those who chose it."),
                   ("items",), case=False, optional=True),
    "escalation_agreement": Spec(_l("To the coordinators when the agreement is not signed "
                                    "after 30 days."), deadline=True, staff=True),
    "escalation_deliverable": Spec(_l("To the coordinators when a deliverable is 14 days "
                                      "overdue."), ("deliverable", "days_overdue"),
                                   deadline=True, staff=True),
    "escalation_pairing": Spec(_l("To the coordinators when a pairing is not accepted after "
                                  "10 days."), deadline=True, staff=True),
    "information_provided": Spec(_l("To the coordinators when the applicant answers an "
                                    "information request."), ("answer", "actor"), staff=True),
    "extension_granted": Spec(_l("To the applicant when the coordination unit gives it more "
                                 "time to submit after the call closed."), ("call_title",),
                              deadline=True),
    "information_requested": Spec(_l("To the applicant when the coordination unit asks for "
                                     "information by a date."), ("message", "sections"),
                                  deadline=True),
    "invitation": Spec(_l("To a person invited to an account: a colleague, a partner contact "
                          "or a member of staff."), ("inviter", "organisation"), case=False),
    "lap_approved": Spec(_l("To both parties when the Local Action Plan (or roadmap) is "
                            "approved.")),
    "lap_revision_requested": Spec(_l("To the applicant when the plan must be revised by a new "
                                      "date."), ("comments",), deadline=True),
    "lap_submitted": Spec(_l("To the applicant and the coordinators when the plan is "
                             "submitted.")),
    "mailing_already_subscribed": Spec(_l("To a mailing-list subscriber who subscribes again; "
                                          "the link unsubscribes."), case=False),
    "mailing_confirm": Spec(_l("To a new mailing-list subscriber, to confirm the address."),
                            case=False),
    "mailing_new_call": Spec(_l("To the mailing list when a call opens."), ("call_title",),
                             case=False, deadline=True, optional=True),
    "pairing_cancelled": Spec(_l("To both parties when the coordination unit cancels a "
                                 "pairing."), ("reason",)),
    "pairing_declined": Spec(_l("To both parties and the coordinators when a pairing is "
                                "declined."), ("reason", "actor", "partners_staying")),
    "pairing_proposed": Spec(_l("To both parties when a pairing is proposed."), deadline=True),
    "password_reset": Spec(_l("To a person who asked to reset their password."), case=False),
    "reminder_agreement": Spec(_l("Reminder to the parties that have not signed the "
                                  "agreement."), deadline=True),
    "reminder_call_closing": Spec(_l("Reminder to applicants with a draft before the call "
                                     "closes."), deadline=True),
    "reminder_deliverable": Spec(_l("Reminder before (and just after) a deliverable's due "
                                    "date."), ("deliverable", "overdue"), deadline=True),
    "reminder_information_requested": Spec(_l("Reminder to answer an information request."),
                                           deadline=True),
    "reminder_pairing_proposed": Spec(_l("Reminder to respond to a proposed pairing."),
                                      deadline=True),
    "state_changed": Spec(_l("To the applicant at every change of the application's status."),
                          ("status", "reason"), optional=True),
}
PLAIN = Spec(_l("A notification e-mail."))


def spec_for(template: str) -> Spec:
    """The rules of ``template`` (the plain ones for a template without a row)."""
    return SPECS.get(template, PLAIN)


def template_names() -> list[str]:
    """Every notification template: the subject files in templates/emails."""
    folder = Path(current_app.root_path, current_app.template_folder or "templates", "emails")
    return sorted(p.name.removesuffix(".subject.txt") for p in folder.glob("*.subject.txt"))


# -- the sandbox ------------------------------------------------------------------------------

_SANDBOX = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _SANDBOX.from_string(source)


def values(template: str, n: Notification, context: Mapping[str, Any]) -> dict[str, Any]:
    """The variables' values for one notification, read from the context its shipped wording
    gets (``webapp.mail.rendering.render`` builds it)."""
    layout = current_app.jinja_env.get_template(f"emails/{template}.txt").make_module(
        dict(context))
    source = Source(n, context, layout)
    return {name: v.value(source) for name, v in spec_for(template).variables().items()}


def render(override: Override, n: Notification, context: Mapping[str, Any]
           ) -> tuple[str, str, str]:
    """(subject, text, html) of a notification in an admin's wording."""
    found = values(n.template, n, context)
    subject = " ".join(_compiled(override.subject).render(found).split())
    text = _compiled(override.body).render(found).strip() + "\n"
    html = render_template("emails/_wording.html", subject=subject, lang=n.locale or "en",
                           paragraphs=html_paragraphs(text))
    return subject, text, html


def render_subject(override: Override, n: Notification, context: Mapping[str, Any]) -> str:
    """Only the subject line, in an admin's wording."""
    return " ".join(_compiled(override.subject).render(values(n.template, n, context)).split())


_URL = re.compile(r"https?://[^\s<>\"']+")


def _linked(line: str) -> Markup:
    parts: list[Any] = []
    last = 0
    for m in _URL.finditer(line):
        url = m.group(0).rstrip(".,;:!?)")
        parts += [escape(line[last:m.start()]), Markup('<a href="{0}">{0}</a>').format(url)]
        last = m.start() + len(url)
    parts.append(escape(line[last:]))
    return Markup("").join(parts)


def html_paragraphs(text: str) -> list[Markup]:
    """The text's paragraphs as HTML: escaped, line breaks kept, web addresses linked."""
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.strip()) if b.strip()]
    return [Markup("<br>\n").join(_linked(line) for line in block.splitlines())
            for block in blocks]


# -- checking an override before it is saved ----------------------------------------------

def problems(template: str, subject: str, body: str) -> dict[str, list[str]]:
    """What is wrong with a wording, by field (subject, body); empty when it can be saved."""
    spec = spec_for(template)
    known = spec.variables()
    found: dict[str, list[str]] = {}
    for name, source, limit in (("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)):
        said = found.setdefault(name, [])
        if not source.strip():
            said.append(_("Write the subject.") if name == "subject" else _("Write the text."))
            continue
        if len(source) > limit:
            said.append(_("Keep it under %(n)d characters.", n=limit))
            continue
        try:
            parsed = _SANDBOX.parse(source)
            _compiled(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            said.append(_("Line %(line)s: %(error)s", line=line, error=exc.message)
                        if line else str(exc))
            continue
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(known))
        if unknown:
            said.append(_("Unknown variables: %(unknown)s. This e-mail can use: %(known)s.",
                          unknown=", ".join(unknown), known=", ".join(sorted(known))))
            continue
        said.extend(_trial(source, spec, known, check_required=name == "body"))
    return {k: v for k, v in found.items() if v}


def _trial(source: str, spec: Spec, known: Mapping[str, Variable],
           check_required: bool) -> list[str]:
    """Render with made-up values, all of them given and then only the required ones: the
    text must render, and show every required part both ways."""
    marks = {name: f"\x00{name}\x00" for name in spec.required()}
    full = {name: marks.get(name, f"({name})" if v.example is None else v.example)
            for name, v in known.items()}
    sparse = {name: marks.get(name, "" if v.example is None else type(v.example)())
              for name, v in known.items()}
    missing: set[str] = set()
    for trial in (full, sparse):
        try:
            out = _compiled(source).render(trial)
        except Exception as exc:  # the sandbox refuses in many ways; each is the author's
            return [_("It cannot be shown: %(error)s", error=str(exc))]
        missing |= {name for name, mark in marks.items() if mark not in out}
    if not check_required:
        return []
    return [_("Keep {{ %(name)s }} in the text: %(what)s.", name=name,
              what=str(known[name].description))
            for name in spec.required() if name in missing]


# -- the saved wordings -----------------------------------------------------------------------

def saved(session: Session, template: str, locale: str) -> Override | None:
    """The admin's wording of ``template`` in ``locale``, if any.

    Every wording is read in one query, once per session (a delivery batch, a request) and
    again after each commit, so the mail of a batch costs no query of its own.
    """
    return read_once(session, Override, lambda: {
        (t, loc): Override(s, b) for t, loc, s, b in session.execute(select(
            MailWording.template, MailWording.locale, MailWording.subject,
            MailWording.body))}).get((template, locale))


# -- previews -------------------------------------------------------------------------------

@dataclass
class Preview:
    """A template as one recipient of a real case would read it."""

    subject: str = ""
    text: str = ""
    html: str = ""
    error: str = ""
    #: the real e-mail whose context was used, if the case has one of this kind
    based_on: Notification | None = None
    recipient: str = ""
    notes: list[str] = field(default_factory=list)


def preview_notification(session: Session, template: str, locale: str, case: Case | None,
                         viewer: User) -> tuple[Notification, Notification | None]:
    """A notification that is never saved, with the context the real e-mail of this kind
    has (the case's latest one, when there is one), in ``locale``; and that real e-mail."""
    spec = spec_for(template)
    real = None
    if case is not None and spec.case:
        real = session.scalar(select(Notification).where(
            Notification.case_id == case.id, Notification.template == template)
            .order_by(Notification.id.desc()).limit(1))
    if real is not None:
        return Notification(template=template, case_id=case.id, user_id=real.user_id,
                            to_email=real.to_email, to_name=real.to_name,
                            optional=real.optional, context=dict(real.context), locale=locale,
                            timezone=real.timezone, deadline_id=real.deadline_id,
                            created_at=real.created_at), real
    recipient = _recipient(session, spec, case, viewer)
    # The made-up values are message ids, said in the previewed language.
    with force_locale(locale):
        context: dict[str, Any] = {v.context_key: _sample(v.context_sample)
                                   for v in spec.variables().values() if v.context_key}
    deadline_id = None
    if case is not None and spec.case:
        context.update(case_id=case.id, reference=case.reference,
                       party="coordinator" if spec.staff else "applicant")
        if spec.deadline:
            deadline_id = session.scalar(select(Deadline.id).where(
                Deadline.case_id == case.id).order_by(Deadline.due_at.desc()).limit(1))
    else:
        # Links carry a made-up key: a preview never shows a working one-time link.
        context.update({"token": PREVIEW_KEY, "unsubscribe_token": PREVIEW_KEY,
                        "organisation": "", "inviter": viewer.display_name})
        if case is not None:
            context.update(call_slug=case.call.slug, call_title=case.call.title,
                           closes_at=case.call.closes_at.isoformat())
    if spec.deadline and deadline_id is None and "closes_at" not in context:
        context["response_deadline"] = (utcnow() + timedelta(days=14)).isoformat()
    return Notification(template=template, case_id=case.id if case and spec.case else None,
                        user_id=recipient.id if recipient else None,
                        to_email=recipient.email if recipient else "",
                        to_name=recipient.display_name if recipient else "",
                        optional=spec.optional, context=context, locale=locale,
                        timezone=recipient.timezone if recipient else "Europe/Brussels",
                        deadline_id=deadline_id, created_at=utcnow()), None


def _recipient(session: Session, spec: Spec, case: Case | None, viewer: User) -> User | None:
    if case is None or not spec.case or spec.staff:
        return case.coordinator if case is not None and spec.staff and case.coordinator \
            else viewer
    return session.scalar(select(User).where(
        User.organisation_id == case.organisation_id, User.role == UserRole.APPLICANT,
        User.active.is_(True)).order_by(User.id).limit(1)) or viewer


def preview(session: Session, template: str, locale: str, case: Case | None, viewer: User,
            override: Override | None = None, shipped: bool = False) -> Preview:
    """The e-mail as the case's recipient would read it in ``locale``: in ``override`` (a
    wording being written), else in the shipped wording (``shipped``) or the one in force."""
    from webapp.mail.rendering import render as render_mail

    n, real = preview_notification(session, template, locale, case, viewer)
    found = Preview(based_on=real, recipient=n.to_name)
    try:
        found.subject, found.text, found.html, _ctx = render_mail(
            n, session, override=override, shipped=shipped)
    except Exception as exc:  # a wording or a case the template cannot take: say why
        found.error = f"{type(exc).__name__}: {exc}"
    return found


def _written(name: str) -> str:
    return "{{ " + name + " }}"


def starter(session: Session, template: str, locale: str, case: Case | None,
            viewer: User) -> Override:
    """A first draft for an admin: the shipped wording as the case's recipient reads it, with
    each variable's value written back as the variable, and the required parts it lacks
    added at the end."""
    from flask_babel import force_locale

    from webapp.mail.rendering import render as render_mail

    n, _real = preview_notification(session, template, locale, case, viewer)
    subject, text, _html, context = render_mail(n, session, shipped=True)
    with force_locale(locale):
        found = values(template, n, context)
    # What the mail quotes (a comment, a reason) must not be read as the sandbox's syntax.
    subject, text = (re.sub(r"\{([{%#])", r"{ \1", part) for part in (subject, text))
    for value, name in sorted(((v, k) for k, v in found.items() if isinstance(v, str)
                               and len(v) >= 4), key=lambda pair: -len(pair[0])):
        subject = subject.replace(value, _written(name))
        text = text.replace(value, _written(name))
    for name in spec_for(template).required():
        if _written(name) not in text:
            text = text.rstrip() + "\n\n" + _written(name)
    return Override(subject, text.strip())
