"""All models, importable from one place so metadata is complete for Alembic."""

from webapp.models.agreement import Agreement, Signature
from webapp.models.api_token import ApiToken
from webapp.models.audit import AuditEvent
from webapp.models.case import (
    APPLICANT_PARTY,
    Case,
    CasePartner,
    Comment,
    EligibilityResult,
    PartyFact,
    case_topic,
    partner_party,
    party_partner_id,
    party_role,
)
from webapp.models.cooperation import (
    Activity,
    ConflictOfInterest,
    Deliverable,
    LapVersion,
    LocalActionPlan,
    Report,
    Score,
)
from webapp.models.document import Document
from webapp.models.embedding import StatementEmbedding
from webapp.models.mailing import MailingSubscriber
from webapp.models.organisation import (
    GroupMember,
    Organisation,
    PartnerCity,
    Topic,
    partner_city_topic,
)
from webapp.models.programme import Call, CallExtension, CallStatus, Programme, staff_programme
from webapp.models.scheduling import (
    Deadline,
    DeadlineStatus,
    Notification,
    NotificationStatus,
    Reminder,
)
from webapp.models.tally import Tally
from webapp.models.user import NotificationPreference, User, UserRole, UserSession
from webapp.models.wording import MailWording

__all__ = [
    "AuditEvent", "Call", "CallExtension", "CallStatus", "Case", "Comment", "Deadline",
    "DeadlineStatus", "Document", "EligibilityResult", "GroupMember", "Notification",
    "NotificationPreference", "NotificationStatus", "Organisation", "PartnerCity", "PartyFact",
    "Programme", "Reminder", "Tally", "Topic", "User", "UserRole", "case_topic",
    "partner_city_topic", "staff_programme",
    "Agreement", "Signature",
    "ApiToken", "UserSession",
    "StatementEmbedding",
    "MailingSubscriber",
    "MailWording",
    "Activity", "Deliverable", "LapVersion", "LocalActionPlan", "Report", "Score",
    "ConflictOfInterest",
    "APPLICANT_PARTY", "CasePartner", "partner_party", "party_partner_id", "party_role",
]
