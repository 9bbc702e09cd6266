"""The forms of programmes and calls: they read what was typed; every rule about the values
lives in ``webapp.operations.programmes`` and ``webapp.operations.calls``, shared with the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from webapp.forms import Form, NoScript, choices, country_choices
from webapp.models import Programme, User
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import calls as call_ops
from webapp.operations import programmes as programme_ops
from workflows import workflows
from workflows.countries import EU_MEMBER_STATES
from workflows.eligibility import ORGANISATION_TYPES
from workflows.refusal import Refusal

NUMBER = _l("Enter a whole number.")
MINUTE = "%Y-%m-%dT%H:%M"


class WholeNumberField(IntegerField):
    """A whole number, refused in the programme's words rather than WTForms' generic ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The form macros show an IntegerField as a text input that keeps what was typed.
        self.type = "IntegerField"

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(NUMBER)) from None


def _int(label: Any, description: Any = "") -> IntegerField:
    return WholeNumberField(label, [Optional()], description=description)


def show_errors(form: Form, errors: Mapping[str, Sequence[Refusal | str]],
                aliases: Mapping[str, str] | None = None) -> None:
    """Put the operation's messages on the fields they concern (the rest above the form), in
    the reader's language; a field that could not even be read keeps only its own message."""
    for name, given in errors.items():
        messages = [str(m) for m in given]
        name = (aliases or {}).get(name, name)
        if name in form and name not in ("csrf_token", "version"):
            if not form[name].errors:
                form[name].errors = list(messages)
        else:
            form.form_errors.extend(messages)


# -- programmes -----------------------------------------------------------------------------

class ProgrammeForm(Form):
    name = StringField(_l("Name"), [Length(max=200), NoScript()],
                       description=_l("For example: IURC Latin America 2021–2023."))
    slug = StringField(_l("Short name"), [Length(max=40)],
                       description=_l("Lower-case letters, digits and hyphens. It starts every "
                                      "case reference of the programme, e.g. IURC-LATAM-2025-"
                                      "00042."))
    starts_on = DateField(_l("Starts on"), [Optional()])
    ends_on = DateField(_l("Ends on"), [Optional()])
    timezone = SelectField(_l("Time zone"), choices=[],
                           description=_l("Its calls announce their deadlines in this zone."))
    sender_name = StringField(_l("Sender's name"), [Length(max=200)],
                              description=_l("The name the programme's e-mails come from, e.g. "
                                             "IURC Latin America. Empty: the installation's."))
    city_partnerships = _int(_l("Target: city partnerships"),
                             _l("Partnerships of city-to-city calls to reach. Empty: none."))
    regional_partnerships = _int(_l("Target: regional partnerships"),
                                 _l("Partnerships of region-to-region calls to reach. Empty: "
                                    "none."))
    retention_years = _int(_l("Keep unsuccessful applications for (years)"),
                           _l("After their call closed. Empty: the installation's default."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = choices((z, z) for z in programme_ops.timezone_names())
        for f in (self.name, self.slug, self.timezone):
            f.flags.required = True

    @classmethod
    def for_programme(cls, programme: Programme | None, formdata: Any = None) -> ProgrammeForm:
        """The form, filled from ``programme`` (or the defaults) unless ``formdata`` is sent."""
        if formdata is not None:
            return cls(formdata=formdata)
        if programme is None:
            return cls(formdata=None, timezone=programme_ops.DEFAULT_TIMEZONE)
        data = programme_ops.programme_data(programme)
        return cls(formdata=None, name=data.name, slug=data.slug, starts_on=data.starts_on,
                   ends_on=data.ends_on, timezone=data.timezone, sender_name=data.sender_name,
                   retention_years=data.retention_years, **data.targets)

    def to_data(self) -> programme_ops.ProgrammeData:
        return programme_ops.ProgrammeData(
            name=self.name.data or "", slug=(self.slug.data or "").lower(),
            starts_on=self.starts_on.data, ends_on=self.ends_on.data,
            timezone=self.timezone.data or "", sender_name=self.sender_name.data or "",
            targets={"city_partnerships": self.city_partnerships.data,
                     "regional_partnerships": self.regional_partnerships.data},
            retention_years=self.retention_years.data)


# -- calls ----------------------------------------------------------------------------------

class CallForm(Form):
    """Every parameter of a call (SPEC §3), grouped as the page shows them."""

    version = HiddenField()
    programme_id = SelectField(_l("Programme"), choices=[])
    kind = RadioField(_l("Kind of call"), choices=[])
    title = StringField(_l("Title"), [Length(max=300), NoScript()])
    slug = StringField(_l("Web address"), [Length(max=80)],
                       description=_l("The end of the call's public address, e.g. "
                                      "iurc-latin-america-2025. Empty: made from the title."))
    summary = TextAreaField(_l("Introduction"), [Length(max=call_ops.MAX_TEXT)],
                            description=_l("What the public reads first. Plain text (a blank "
                                           "line starts a paragraph) or simple HTML: p, strong, "
                                           "em, ul, ol, li, a, h3."))
    conditions = TextAreaField(_l("Conditions in full"), [Length(max=call_ops.MAX_TEXT)],
                               description=_l("Anything the parameters below do not say. The "
                                              "same formatting as the introduction."))
    partner_regions = SelectMultipleField(
        _l("Partner regions offered"), choices=choices((r, _l(r)) for r in WORLD_REGIONS),
        validate_choice=False)
    partner_countries = SelectMultipleField(
        _l("Partner countries offered"), choices=[], validate_choice=False,
        description=_l("Only partner cities of these countries are proposed. None chosen: any "
                       "country of the regions. Hold Ctrl (⌘ on a Mac) to choose several."))
    opens_at = DateTimeLocalField(_l("Opens"), [Optional()], format=MINUTE)
    closes_at = DateTimeLocalField(_l("Closes"), [Optional()], format=MINUTE,
                                   description=_l("Applications submitted after this time are "
                                                  "refused."))
    timezone = SelectField(_l("Time zone of these times"), choices=[],
                           description=_l("The call announces its dates in this zone; everyone "
                                          "also sees them in their own."))
    population_threshold = _int(_l("Population threshold (inhabitants)"),
                                _l("A city, or a group's members together, needs at least this "
                                   "many inhabitants."))
    eu27 = BooleanField(_l("The 27 EU member states"))
    eligible_countries = SelectMultipleField(
        _l("Other eligible countries"), choices=[], validate_choice=False,
        description=_l("Countries whose organisations may apply besides (or instead of) the "
                       "EU member states, e.g. the United Kingdom. Hold Ctrl (⌘ on a Mac) to "
                       "choose several."))
    allowed_org_types = SelectMultipleField(
        _l("Who may apply"), choices=choices((k, _l(v)) for k, v in ORGANISATION_TYPES.items()),
        validate_choice=False)
    cooperation_months = _int(_l("Length of the cooperation (months)"))
    report_interval_months = _int(_l("A progress report every (months)"))
    work_plan_month = _int(_l("Work plan due in month"))
    draft_plan_month = _int(_l("Draft plan due in month"))
    follow_up_months = _int(_l("Follow-up report, months after completion"))
    opens_days_before = _int(_l("A deliverable opens this many days before it is due"))
    reminder_days = StringField(
        _l("Reminders to the parties (days from the due date)"), [Length(max=100)],
        description=_l("Negative before, positive after, separated by commas, e.g. "
                       "-14, -7, -1, 1."))
    escalation_days = _int(_l("Tell the coordinator this many days after a missed due date"))
    max_partners_per_case = _int(
        _l("Partners per case, at most"),
        _l("How many partner cities the call-wide optimum may propose for one case, from 1 to "
           "5. Empty: one partner each."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in (self.programme_id, self.kind, self.title, self.partner_regions, self.opens_at,
                  self.closes_at, self.timezone, self.population_threshold,
                  self.allowed_org_types, self.cooperation_months,
                  self.report_interval_months):
            f.flags.required = True

    def offer(self, user: User, new: bool = False) -> None:
        """The choices this person and language get; a new call may leave its time zone to
        its programme."""
        self.programme_id.choices = choices(
            [("", _("Choose a programme"))]
            + [(str(p.id), p.name) for p in programme_ops.programmes_for(user)])
        self.kind.choices = choices((kind, _(wf.title)) for kind, wf in workflows().items())
        self.timezone.choices = choices(
            ([("", _("The programme’s time zone"))] if new else [])
            + [(z, z) for z in programme_ops.timezone_names()])
        everything = country_choices()
        self.partner_countries.choices = everything
        self.eligible_countries.choices = everything

    def validate_reminder_days(self, field) -> None:
        try:
            self.reminders()
        except ValueError:
            raise ValidationError(_("Give whole numbers of days separated by commas, e.g. "
                                    "-14, -7, -1, 1.")) from None

    def reminders(self) -> list[int] | None:
        """The reminder days typed, or None when the field is empty (the default)."""
        text = (self.reminder_days.data or "").strip()
        if not text:
            return None
        return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]

    def fill(self, data: call_ops.CallData, version: int | None = None) -> None:
        """Show ``data`` (a call's current values, or a new call's defaults)."""
        zone = data.timezone
        self.version.data = str(version or "")
        self.programme_id.data = str(data.programme_id or "")
        self.kind.data = data.kind
        self.title.data, self.slug.data = data.title, data.slug
        self.summary.data, self.conditions.data = data.summary, data.conditions
        self.partner_regions.data = list(data.partner_regions)
        self.partner_countries.data = list(data.partner_countries)
        self.opens_at.data = call_ops.in_zone_naive(data.opens_at, zone) \
            if data.opens_at else None
        self.closes_at.data = call_ops.in_zone_naive(data.closes_at, zone) \
            if data.closes_at else None
        self.timezone.data = zone
        self.population_threshold.data = data.population_threshold
        eu = set(EU_MEMBER_STATES)
        self.eu27.data = eu <= set(data.eligible_countries)
        self.eligible_countries.data = [c for c in data.eligible_countries
                                        if not (self.eu27.data and c in eu)]
        self.allowed_org_types.data = list(data.allowed_org_types)
        self.cooperation_months.data = data.cooperation_months
        self.report_interval_months.data = data.report_interval_months
        self.max_partners_per_case.data = data.max_partners_per_case
        schedule = data.schedule or {}
        for key in call_ops.SCHEDULE_RANGES:
            self[key].data = schedule.get(key)
        days = schedule.get("reminder_days")
        self.reminder_days.data = ", ".join(str(d) for d in days) if days is not None else ""

    def to_data(self) -> call_ops.CallData:
        """What was typed, as the operation takes it (local times, read in the time zone)."""
        eligible = list(EU_MEMBER_STATES) if self.eu27.data else []
        eligible += [c for c in self.eligible_countries.data or [] if c not in eligible]
        schedule: dict[str, Any] = {key: self[key].data for key in call_ops.SCHEDULE_RANGES
                                    if self[key].data is not None}
        try:
            days = self.reminders()
        except ValueError:
            days = None
        if days is not None:
            schedule["reminder_days"] = days
        programme = self.programme_id.data or ""
        return call_ops.CallData(
            programme_id=int(programme) if programme.isdigit() else None,
            kind=self.kind.data or "", title=self.title.data or "",
            slug=(self.slug.data or "").lower(), summary=self.summary.data or "",
            conditions=self.conditions.data or "",
            partner_regions=list(self.partner_regions.data or []),
            partner_countries=list(self.partner_countries.data or []),
            opens_at=self.opens_at.data, closes_at=self.closes_at.data,
            timezone=self.timezone.data or "",
            population_threshold=self.population_threshold.data,
            eligible_countries=eligible,
            allowed_org_types=list(self.allowed_org_types.data or []),
            cooperation_months=self.cooperation_months.data,
            report_interval_months=self.report_interval_months.data,
            max_partners_per_case=(1 if self.max_partners_per_case.data is None
                                   else self.max_partners_per_case.data),
            schedule=schedule)


def new_call_data(programme: Programme | None) -> call_ops.CallData:
    """A new call's defaults: the programme's zone (left to the programme chosen when there
    is no programme yet), the SPEC's parameters, no dates yet."""
    return call_ops.CallData(
        programme_id=programme.id if programme else None, kind=call_ops.DEFAULT_KIND, title="",
        partner_regions=list(WORLD_REGIONS[:3]),
        timezone=programme.timezone if programme else "")


#: the operation's field names that the form shows under another name
CALL_FIELD_ALIASES = {"schedule": "reminder_days"}


class ActionForm(Form):
    """A button on a call (publish, close, archive, clone) and the version it acts on."""

    version = HiddenField()

    def validate_version(self, field) -> None:
        if not (field.data or "").isdigit():
            raise ValidationError(_("Reload the page and try again."))
