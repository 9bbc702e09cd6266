"""What every part of this package shares."""

from __future__ import annotations

from webapp.operations import documents

ACTIVITY_TYPES: dict[str, str] = {
    "study_tour": "Study tour",
    "staff_exchange": "Staff exchange",
    "training": "Training",
    "seminar": "Seminar",
    "webinar": "Webinar",
    "working_meeting": "Working meeting",
    "mou_signing": "MoU signing",
}
DIRECTIONS: dict[str, str] = {
    "eu_to_partner": "EU to partner",
    "partner_to_eu": "Partner to EU",
    "online": "Online",
}
#: what may be attached to an activity: reports, agendas, photos
ATTACHMENT_TYPES = (documents.PDF, "image/jpeg", "image/png")
