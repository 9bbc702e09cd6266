"""What the JSON API reads and writes, as marshmallow schemas (they also make the OpenAPI
document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from webapp.safety import MAX_ID

MAX_PAGE_SIZE = 100
#: an id in a filter: beyond what the columns hold it is refused, not queried
ID = validate.Range(min=1, max=MAX_ID)
COUNTRY_CODE = "an ISO 3166-1 alpha-2 country code, e.g. FR"
COUNTRY_CODES = "ISO 3166-1 alpha-2 country codes, e.g. [\"FR\", \"ES\"]"


class ProblemSchema(Schema):
    """An error, as RFC 9457 describes it."""

    type = fields.String(metadata={"description": "what kind of problem; about:blank or a URN"})
    title = fields.String(metadata={"description": "a short summary of the kind of problem"})
    status = fields.Integer(metadata={"description": "the HTTP status code"})
    detail = fields.String(metadata={"description": "what went wrong, for people"})
    errors = fields.Dict(metadata={"description": "per field (by location), what is wrong"})
    reasons = fields.List(fields.String(),
                          metadata={"description": "why a transition is refused, each unmet "
                                                   "condition in an English sentence"})
    refusals = fields.List(fields.Nested(lambda: RefusalSchema()),
                           metadata={"description": "the same reasons, each with its code"})


class RefusalSchema(Schema):
    """One reason for a refusal: a stable code for programs and the English sentence."""

    code = fields.String(metadata={"description": "what is unmet, e.g. call_closed, "
                                                  "sections_incomplete; refused when unnamed"})
    detail = fields.String(metadata={"description": "the reason in English"})


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=25,
                               validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


class CaseListArgsSchema(PageArgsSchema):
    """The filters of the back office's case list."""

    call = fields.Integer(validate=ID, metadata={"description": "a call's id"})
    state = fields.String(validate=validate.Length(max=40))
    region = fields.String(validate=validate.Length(max=100),
                           metadata={"description": "the partner city's world region, or the "
                                                    "preferred one before pairing"})
    country = fields.String(validate=validate.Length(max=100),
                            metadata={"description": "the applicant's country: its ISO 3166-1 "
                                                     "alpha-2 code (a name is read as one)"})
    topic = fields.String(validate=validate.Length(max=60),
                          metadata={"description": "a topic slug"})
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "part of a city's name or of the reference"})


class PairingListArgsSchema(PageArgsSchema):
    call = fields.Integer(validate=ID)
    region = fields.String(validate=validate.Length(max=100))


class DeliverableListArgsSchema(PageArgsSchema):
    case = fields.Integer(validate=ID, metadata={"description": "a case id"})
    status = fields.String(validate=validate.Length(max=30))


class PublicPairingArgsSchema(Schema):
    region = fields.String(validate=validate.Length(max=100))
    topic = fields.String(validate=validate.Length(max=100),
                          metadata={"description": "part of a topic, e.g. mobility"})


class ScheduleSchema(Schema):
    """A call's changes to the default deliverable schedule; absent: the default."""

    work_plan_month = fields.Integer(allow_none=True,
                                     metadata={"description": "month of the cooperation"})
    draft_plan_month = fields.Integer(allow_none=True,
                                      metadata={"description": "month of the cooperation"})
    follow_up_months = fields.Integer(allow_none=True,
                                      metadata={"description": "months after completion"})
    opens_days_before = fields.Integer(allow_none=True,
                                       metadata={"description": "a deliverable opens this many "
                                                                "days before it is due"})
    reminder_days = fields.List(fields.Integer(), allow_none=True,
                                metadata={"description": "reminders to the parties, in days "
                                                         "from the due date (negative: "
                                                         "before), e.g. [-14, -7, -1, 1]"})
    escalation_days = fields.Integer(allow_none=True,
                                     metadata={"description": "the coordinator is told this "
                                                              "many days after a missed due "
                                                              "date"})


class CallSchema(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    slug = fields.String()
    kind = fields.String(metadata={"description": "city-to-city or region-to-region"})
    title = fields.String()
    summary = fields.String(metadata={"description": "the introduction, sanitised HTML"})
    conditions = fields.String(metadata={"description": "the conditions in full, sanitised "
                                                        "HTML"})
    status = fields.String(metadata={"description": "draft, scheduled, open, closed, archived"})
    published = fields.Boolean()
    archived = fields.Boolean()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    timezone = fields.String()
    partner_regions = fields.List(fields.String())
    partner_countries = fields.List(fields.String(), metadata={"description": COUNTRY_CODES})
    population_threshold = fields.Integer()
    eligible_countries = fields.List(fields.String(), metadata={"description": COUNTRY_CODES})
    allowed_org_types = fields.List(fields.String())
    cooperation_months = fields.Integer()
    report_interval_months = fields.Integer()
    max_partners_per_case = fields.Integer(
        metadata={"description": "the most partner cities the call-wide optimum proposes for "
                                 "one case (1: one-to-one)"})
    schedule = fields.Nested(ScheduleSchema)
    version = fields.Integer(metadata={"description": "send it back as expected_version"})


class CallInSchema(Schema):
    """A call's parameters. Creating one, absent ones take their defaults (EU-27, 100,000
    inhabitants, 18 months, reports every 6 months ...); changing one, absent ones stay as they
    are. The checks and their messages are those of the back office's form."""

    programme_id = fields.Integer(validate=ID)
    kind = fields.String(validate=validate.Length(max=40),
                         metadata={"description": "city-to-city or region-to-region"})
    title = fields.String(validate=validate.Length(max=1000))
    slug = fields.String(validate=validate.Length(max=200),
                         metadata={"description": "the end of the public address; absent on "
                                                  "creation: made from the title"})
    summary = fields.String(metadata={"description": "plain text or simple HTML, sanitised"})
    conditions = fields.String(metadata={"description": "plain text or simple HTML, "
                                                        "sanitised"})
    partner_regions = fields.List(fields.String(validate=validate.Length(max=100)))
    partner_countries = fields.List(fields.String(validate=validate.Length(max=100)),
                                    metadata={"description": COUNTRY_CODES})
    opens_at = fields.DateTime(metadata={"description": "ISO 8601; without an offset, read "
                                                        "in the call's time zone"})
    closes_at = fields.DateTime(metadata={"description": "ISO 8601; without an offset, read "
                                                         "in the call's time zone"})
    timezone = fields.String(validate=validate.Length(max=64),
                             metadata={"description": "an IANA time zone, e.g. "
                                                      "Europe/Brussels"})
    population_threshold = fields.Integer(allow_none=True)
    eligible_countries = fields.List(fields.String(validate=validate.Length(max=100)),
                                     metadata={"description": COUNTRY_CODES})
    allowed_org_types = fields.List(fields.String(validate=validate.Length(max=20)),
                                    metadata={"description": "city, group, region, province"})
    cooperation_months = fields.Integer(allow_none=True)
    report_interval_months = fields.Integer(allow_none=True)
    max_partners_per_case = fields.Integer(
        allow_none=True, metadata={"description": "1 to 5, default 1: the most partner cities "
                                                  "the call-wide optimum proposes for one case"})
    schedule = fields.Nested(ScheduleSchema)


class CallChangeSchema(CallInSchema):
    expected_version = fields.Integer(required=True, validate=validate.Range(min=1),
                                      metadata={"description": "the call's version as you last "
                                                               "read it"})


class VersionSchema(Schema):
    """Act on the version of the call you saw."""

    expected_version = fields.Integer(required=True, validate=validate.Range(min=1),
                                      metadata={"description": "the call's version as you last "
                                                               "read it"})


class ProgrammeSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    timezone = fields.String()
    sender_name = fields.String()
    targets = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "city_partnerships, regional_partnerships"})
    retention_years = fields.Integer(allow_none=True,
                                     metadata={"description": "null: the installation's "
                                                              "RETENTION_YEARS"})


class ProgrammeInSchema(Schema):
    """A programme's values; the checks and messages are those of the administrators' form."""

    name = fields.String(validate=validate.Length(max=1000))
    slug = fields.String(validate=validate.Length(max=200))
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    timezone = fields.String(validate=validate.Length(max=64))
    sender_name = fields.String(validate=validate.Length(max=1000))
    targets = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))
    retention_years = fields.Integer(allow_none=True)


class ProgrammeListSchema(Schema):
    items = fields.List(fields.Nested(ProgrammeSchema))


class CallListSchema(Schema):
    items = fields.List(fields.Nested(CallSchema))


class OrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    country = fields.String(metadata={"description": COUNTRY_CODE})


class PartnerCitySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    country = fields.String(metadata={"description": COUNTRY_CODE})
    region = fields.String()
    kind = fields.String(metadata={"description": "city or region: the kind of partner a call "
                                                  "pairs with"})


class CaseSummarySchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    call_id = fields.Integer()
    workflow = fields.String()
    state = fields.String()
    state_label = fields.String(metadata={"description": "the state as the reader's role sees "
                                                         "it"})
    version = fields.Integer(metadata={"description": "send it back as expected_version"})
    organisation = fields.Nested(OrganisationSchema)
    partner_region = fields.String()
    partner_city = fields.Nested(PartnerCitySchema, allow_none=True,
                                 metadata={"description": "the lead partner"})
    partners = fields.List(fields.Nested(PartnerCitySchema),
                           metadata={"description": "every partner of the case, the lead "
                                                    "first"})
    topics = fields.List(fields.String())
    health = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class EligibilityResultSchema(Schema):
    rule = fields.String()
    title = fields.String()
    verdict = fields.String(metadata={"description": "pass, fail or needs_review"})
    message = fields.String()
    run_at = fields.DateTime()


class CaseDetailSchema(CaseSummarySchema):
    state_entered_at = fields.DateTime()
    created_at = fields.DateTime()
    challenge_statement = fields.String()
    stakeholders = fields.String()
    resources_committed = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    eligibility_summary = fields.String()
    eligibility_results = fields.List(fields.Nested(EligibilityResultSchema))
    cooperation_start = fields.DateTime(allow_none=True)
    cooperation_ends_at = fields.DateTime(allow_none=True)
    party_facts = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                              metadata={"description": "per party, what it has done on a "
                                                       "multi-party step"})


class TransitionFieldSchema(Schema):
    name = fields.String()
    label = fields.String()
    type = fields.String(metadata={"description": "text, datetime (ISO 8601 with an offset), "
                                                  "date, or choices (a list of the names in "
                                                  "`choices`)"})
    required = fields.Boolean()
    hint = fields.String()
    choices = fields.List(fields.String(), metadata={
        "description": "the names a choices field may take on this case, e.g. the sections "
                       "an information request can ask to revise"})


class TransitionOptionSchema(Schema):
    name = fields.String()
    label = fields.String()
    target = fields.String()
    allowed = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why not, in English"})
    refusals = fields.List(fields.Nested(RefusalSchema),
                           metadata={"description": "the same reasons, each with its code"})
    fields_ = fields.List(fields.Nested(TransitionFieldSchema), data_key="fields")
    each_party = fields.Boolean(metadata={"description": "every party fires it; the case moves "
                                                         "when the last one has"})
    style = fields.String()


class TransitionListSchema(Schema):
    case_id = fields.Integer()
    state = fields.String()
    version = fields.Integer()
    transitions = fields.List(fields.Nested(TransitionOptionSchema))


class FireSchema(Schema):
    """Fire a transition: the case version you saw, and the transition's fields."""

    expected_version = fields.Integer(required=True, validate=validate.Range(min=1),
                                      metadata={"description": "the case's version as you last "
                                                               "read it"})
    payload = fields.Dict(keys=fields.String(), load_default=dict,
                          metadata={"description": "the transition's fields by name; times "
                                                   "in ISO 8601 with an offset; "
                                                   "partner_city_id for a pairing proposal"})


class FiredSchema(Schema):
    case_id = fields.Integer()
    transition = fields.String()
    source = fields.String()
    target = fields.String()
    moved = fields.Boolean(metadata={"description": "false while other parties still have to "
                                                    "act"})
    version = fields.Integer()


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    actor_label = fields.String()
    source_address = fields.String()
    action = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    payload = fields.Dict()


class AuditListSchema(Schema):
    case_id = fields.Integer()
    reference = fields.String()
    items = fields.List(fields.Nested(AuditEventSchema))


class PersonalDataSchema(Schema):
    """Everything held about the caller; each record keeps the columns it has."""

    exported_at = fields.String()
    about = fields.String()
    account = fields.Dict()
    organisation = fields.Dict(allow_none=True)
    partner_city = fields.Dict(allow_none=True)
    preferences = fields.Dict()
    cases = fields.List(fields.Dict())
    documents_uploaded = fields.List(fields.Dict())
    signatures = fields.List(fields.Dict())
    comments = fields.List(fields.Dict())
    notifications = fields.List(fields.Dict())
    api_tokens = fields.List(fields.Dict())
    audit_events = fields.List(fields.Dict())
    actions_on_cases = fields.List(fields.Dict())
    deliverables_handed_in = fields.List(fields.Dict())
    deliverables_reviewed = fields.List(fields.Dict())
    activities_recorded = fields.List(fields.Dict())
    reports_written = fields.List(fields.Dict())
    action_plans_written = fields.List(fields.Dict())
    action_plan_versions_submitted = fields.List(fields.Dict())
    scores_given = fields.List(fields.Dict())
    conflicts_of_interest_declared = fields.List(fields.Dict())
    mailing_list = fields.List(fields.Dict())


class PairingSchema(Schema):
    case_id = fields.Integer()
    reference = fields.String()
    call_id = fields.Integer()
    state = fields.String()
    state_label = fields.String()
    organisation = fields.Nested(OrganisationSchema)
    partner_city = fields.Nested(PartnerCitySchema, metadata={"description": "the lead partner"})
    partners = fields.List(fields.Nested(PartnerCitySchema),
                           metadata={"description": "every partner, the lead first"})
    topics = fields.List(fields.String())
    cooperation_start = fields.DateTime(allow_none=True)
    cooperation_ends_at = fields.DateTime(allow_none=True)


class PairingPageSchema(Schema):
    items = fields.List(fields.Nested(PairingSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class DeliverableSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    reference = fields.String(metadata={"description": "the case's reference"})
    kind = fields.String(metadata={"description": "work_plan, progress_report, draft_lap, "
                                                  "final_lap, final_report, follow_up_report"})
    sequence = fields.Integer()
    title = fields.String()
    status = fields.String(metadata={"description": "scheduled, submitted, accepted or "
                                                    "revision_requested"})
    opens_at = fields.DateTime()
    due_at = fields.DateTime()
    overdue = fields.Boolean(metadata={"description": "past its due time and not handed in"})
    submitted_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)


class DeliverablePageSchema(Schema):
    items = fields.List(fields.Nested(DeliverableSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class PublicPairingPartnerSchema(Schema):
    name = fields.String()
    country = fields.String(metadata={"description": COUNTRY_CODE})
    region = fields.String()


class PublicPairingSchema(Schema):
    source = fields.String(metadata={"description": "history (the 2017 table) or current"})
    eu_city = fields.String()
    eu_country = fields.String(metadata={"description": COUNTRY_CODE})
    partner_city = fields.String(metadata={"description": "the lead partner"})
    partner_country = fields.String(metadata={"description": COUNTRY_CODE})
    partner_region = fields.String()
    partners = fields.List(fields.Nested(PublicPairingPartnerSchema),
                           metadata={"description": "every partner, the lead first"})
    topics = fields.List(fields.String())
    cooperation_start = fields.Date(allow_none=True)


class PublicPairingListSchema(Schema):
    items = fields.List(fields.Nested(PublicPairingSchema))
    total = fields.Integer()
