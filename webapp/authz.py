"""The authorization matrix: for every endpoint, who may use it and which object check applies.

One row per endpoint of the app (``app.url_map`` endpoint names). The views enforce the
rules (the JSON API reads its roles from this table); a test walks every registered route
with a person in every role and compares what happens with this table, so a route without a
row, or a view that lets in someone its row leaves out, fails the build.

Adding a route means adding its row here: its roles and its object check.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"
APPLICANT = "applicant"
PARTNER = "partner"
COORDINATOR = "coordinator"
ADMIN = "admin"

ROLES = (ANONYMOUS, APPLICANT, PARTNER, COORDINATOR, ADMIN)
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset({APPLICANT, PARTNER, COORDINATOR, ADMIN})
PARTIES = frozenset({APPLICANT, PARTNER})
STAFF = frozenset({COORDINATOR, ADMIN})

#: what each object check means; a row names one of these
CHECKS = {
    "none": "no object: everyone the row names may use it",
    "link": "a signed link in the address is the key (confirm, reset, unsubscribe, calendar)",
    "self": "the signed-in person's own account or organisation",
    "visible": "a list narrowed to what the person may see (webapp.access.visible_cases)",
    "own_case": "the case is the applicant organisation's own, or the partner's pairing",
    "region": "the case (or partner city, or e-mail of a case) is in the coordinator's world "
              "region; admins: every region",
    "case": "own_case for applicants and partners, region for coordinators and admins",
    "programme": "the call (or programme) is of a programme the coordinator works on; another "
                 "programme's does not exist for them (404); admins: every programme. Lists "
                 "of the call's cases are narrowed further as 'visible' says",
    "token": "the API token in the address is the person's own",
}


@dataclass(frozen=True)
class Access:
    """Who may use one endpoint, and the object check that narrows it further."""

    roles: frozenset[str]
    check: str = "none"

    def __post_init__(self) -> None:
        unknown = set(self.roles) - EVERYONE
        if unknown or self.check not in CHECKS:
            raise ValueError(f"unknown roles {sorted(unknown)} or check {self.check!r}")

    def allows(self, role: str) -> bool:
        return role in self.roles

    @property
    def public(self) -> bool:
        return ANONYMOUS in self.roles


def _only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


MATRIX: dict[str, Access] = {
    # -- public pages --------------------------------------------------------------------
    "healthz": Access(EVERYONE),
    "public.index": Access(EVERYONE),
    "public.calls": Access(EVERYONE),
    "public.call": Access(EVERYONE),
    "public.pairings": Access(EVERYONE),
    "public.accessibility": Access(EVERYONE),
    "public.privacy": Access(EVERYONE),
    "public.language": Access(EVERYONE),
    "public.unsubscribe": Access(EVERYONE, "link"),
    "public.eligibility_check_start": Access(EVERYONE),
    "public.eligibility_check": Access(EVERYONE),
    "public.mailing_list": Access(EVERYONE),
    "public.mailing_list_sent": Access(EVERYONE),
    "public.mailing_confirm": Access(EVERYONE, "link"),
    "public.mailing_unsubscribe": Access(EVERYONE, "link"),
    # -- accounts ------------------------------------------------------------------------
    "auth.register": Access(EVERYONE),
    "auth.login": Access(EVERYONE),
    "auth.forgot": Access(EVERYONE),
    "auth.confirm": Access(EVERYONE, "link"),
    "auth.reset": Access(EVERYONE, "link"),
    "auth.logout": Access(SIGNED_IN, "self"),
    "auth.account": Access(SIGNED_IN, "self"),
    "tokens.index": Access(SIGNED_IN, "self"),
    "tokens.revoke": Access(SIGNED_IN, "token"),
    "privacy.export": Access(SIGNED_IN, "self"),
    # -- the applicant portal ------------------------------------------------------------
    "applicant.dashboard": Access(PARTIES, "visible"),
    "applicant.start": Access(_only(APPLICANT)),
    "applicant.case": Access(PARTIES, "own_case"),
    "applicant.section": Access(_only(APPLICANT), "own_case"),
    "applicant.remove_member": Access(_only(APPLICANT), "own_case"),
    "applicant.check": Access(_only(APPLICANT), "own_case"),
    "applicant.act": Access(PARTIES, "own_case"),
    "applicant.team": Access(_only(APPLICANT), "self"),
    "applicant.organisation": Access(_only(APPLICANT), "self"),
    # -- the Partnership Agreement -------------------------------------------------------
    "agreements.tracker": Access(STAFF, "visible"),
    "agreements.agreement": Access(SIGNED_IN, "case"),
    "agreements.pdf": Access(SIGNED_IN, "case"),
    "agreements.signed_pdf": Access(SIGNED_IN, "case"),
    "agreements.sign_typed": Access(PARTIES, "own_case"),
    "agreements.sign_upload": Access(PARTIES, "own_case"),
    "agreements.regenerate": Access(STAFF, "region"),
    # -- the cooperation period ----------------------------------------------------------
    "cooperation.overview": Access(SIGNED_IN, "case"),
    "cooperation.kickoff": Access(STAFF, "region"),
    "cooperation.deliverable": Access(SIGNED_IN, "case"),
    "cooperation.hand_in": Access(PARTIES, "own_case"),
    "cooperation.review": Access(STAFF, "region"),
    "cooperation.document": Access(SIGNED_IN, "case"),
    "cooperation.activities": Access(SIGNED_IN, "case"),
    "cooperation.new_activity": Access(PARTIES, "own_case"),
    "cooperation.reports": Access(SIGNED_IN, "case"),
    "cooperation.report": Access(SIGNED_IN, "case"),
    "cooperation.save_report": Access(PARTIES, "own_case"),
    "cooperation.plan": Access(SIGNED_IN, "case"),
    "cooperation.plan_section": Access(PARTIES, "own_case"),
    "cooperation.save_plan_section": Access(PARTIES, "own_case"),
    "cooperation.send_plan_draft": Access(PARTIES, "own_case"),
    "cooperation.submit_plan": Access(PARTIES, "own_case"),
    "cooperation.review_plan": Access(STAFF, "region"),
    "cooperation.plan_version": Access(SIGNED_IN, "case"),
    "cooperation.plan_version_pdf": Access(SIGNED_IN, "case"),
    "cooperation.scoring": Access(STAFF, "region"),
    "cooperation.save_scoring": Access(STAFF, "region"),
    "cooperation.declare_conflict": Access(STAFF, "region"),
    # -- the back office -----------------------------------------------------------------
    "coordinator.home": Access(STAFF, "visible"),
    "coordinator.cases": Access(STAFF, "visible"),
    "coordinator.export_csv": Access(STAFF, "visible"),
    "coordinator.export_xlsx": Access(STAFF, "visible"),
    "coordinator.bulk_confirm": Access(STAFF, "visible"),
    "coordinator.bulk_apply": Access(STAFF, "visible"),
    "coordinator.dashboard": Access(STAFF, "visible"),
    "coordinator.deliverables": Access(STAFF, "visible"),
    "coordinator.workflow_definitions": Access(STAFF),
    "coordinator.case": Access(STAFF, "region"),
    "coordinator.act": Access(STAFF, "region"),
    "coordinator.comment": Access(STAFF, "region"),
    "coordinator.assign": Access(STAFF, "region"),
    "coordinator.extension": Access(STAFF, "region"),
    "coordinator.audit_csv": Access(STAFF, "region"),
    # -- programmes and their calls -------------------------------------------------------
    "programmes.index": Access(_only(ADMIN)),
    "programmes.new": Access(_only(ADMIN)),
    "programmes.edit": Access(_only(ADMIN)),
    "calls.index": Access(STAFF, "visible"),
    "calls.new": Access(STAFF),
    "calls.detail": Access(STAFF, "programme"),
    "calls.edit": Access(STAFF, "programme"),
    "calls.preview": Access(STAFF, "programme"),
    "calls.publish": Access(STAFF, "programme"),
    "calls.close": Access(STAFF, "programme"),
    "calls.archive": Access(STAFF, "programme"),
    "calls.clone": Access(STAFF, "programme"),
    # -- personal data: erasure is an administrator's act ------------------------------
    "privacy.people": Access(_only(ADMIN)),
    "privacy.erase": Access(_only(ADMIN)),
    # -- administration: staff and roles, the topic vocabulary, e-mail wording ----------
    "staff.people": Access(_only(ADMIN)),
    "staff.invite": Access(_only(ADMIN)),
    "staff.person": Access(_only(ADMIN)),
    "staff.change_role": Access(_only(ADMIN)),
    "staff.change_scope": Access(_only(ADMIN)),
    "staff.deactivate": Access(_only(ADMIN)),
    "staff.reactivate": Access(_only(ADMIN)),
    "staff.resend_invitation": Access(_only(ADMIN)),
    "vocabulary.topics": Access(_only(ADMIN)),
    "vocabulary.new": Access(_only(ADMIN)),
    "vocabulary.topic": Access(_only(ADMIN)),
    "vocabulary.retire": Access(_only(ADMIN)),
    "vocabulary.reinstate": Access(_only(ADMIN)),
    "vocabulary.merge": Access(_only(ADMIN)),
    "emails.templates": Access(_only(ADMIN)),
    "emails.edit": Access(_only(ADMIN)),
    "emails.reset": Access(_only(ADMIN)),
    "emails.preview_html": Access(_only(ADMIN)),
    # -- pairing -------------------------------------------------------------------------
    "pairing.index": Access(STAFF, "visible"),
    "pairing.partners": Access(STAFF, "visible"),
    "pairing.partner_new": Access(STAFF),
    "pairing.partner_edit": Access(STAFF, "region"),
    "pairing.partner_import": Access(STAFF),
    "pairing.case": Access(STAFF, "region"),
    "pairing.propose": Access(STAFF, "region"),
    "pairing.remove": Access(STAFF, "region"),
    "pairing.invite": Access(STAFF, "region"),
    "pairing.board": Access(STAFF, "programme"),
    "pairing.board_submit": Access(STAFF, "programme"),
    # -- notifications -------------------------------------------------------------------
    "notifications.preferences_page": Access(SIGNED_IN, "self"),
    "notifications.calendar_feed": Access(EVERYONE, "link"),
    "notifications.outbox": Access(STAFF, "visible"),
    "notifications.resend": Access(STAFF, "visible"),
    "notifications.outbox_detail": Access(STAFF, "region"),
    "notifications.outbox_html": Access(STAFF, "region"),
    "notifications.resend_one": Access(STAFF, "region"),
    "notifications.resend_confirm": Access(STAFF, "region"),
    "notifications.retry_failed_confirm": Access(STAFF, "visible"),
    "notifications.retry_failed": Access(STAFF, "visible"),
    # -- the JSON API --------------------------------------------------------------------
    "api-docs.openapi_json": Access(EVERYONE),
    "api.public_pairings": Access(EVERYONE),
    "api.calls": Access(SIGNED_IN),
    "api.call": Access(SIGNED_IN, "programme"),
    "api.create_call": Access(STAFF),
    "api.update_call": Access(STAFF, "programme"),
    "api.publish_call": Access(STAFF, "programme"),
    "api.close_call": Access(STAFF, "programme"),
    "api.archive_call": Access(STAFF, "programme"),
    "api.clone_call": Access(STAFF, "programme"),
    "api.programmes": Access(STAFF, "visible"),
    "api.programme": Access(STAFF, "programme"),
    "api.create_programme": Access(_only(ADMIN)),
    "api.update_programme": Access(_only(ADMIN)),
    "api.cases": Access(SIGNED_IN, "visible"),
    "api.case": Access(SIGNED_IN, "case"),
    "api.case_transitions": Access(SIGNED_IN, "case"),
    "api.fire_transition": Access(SIGNED_IN, "case"),
    "api.case_audit": Access(STAFF, "region"),
    "api.pairings": Access(SIGNED_IN, "visible"),
    "api.deliverables": Access(SIGNED_IN, "visible"),
    "api.my_data": Access(SIGNED_IN, "self"),
}


def access_for(endpoint: str | None) -> Access | None:
    """The row for ``endpoint``; None when the table has none (callers refuse)."""
    return MATRIX.get(endpoint or "")


def role_of(user) -> str:
    """The matrix's role name for a person, or anonymous for nobody."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    return str(user.role)
