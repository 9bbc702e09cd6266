"""The pairing pages' forms: a partner city, a CSV import, a proposal and the draft board."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.db import db
from webapp.forms import Form, NoScript, choices, country_choices
from webapp.i18n import region_name
from webapp.models.organisation import PARTNER_KINDS
from webapp.operations import vocabulary
from webapp.operations.pairing import MAX_TOPICS, BoardRow, Candidate, PartnerCityData
from webapp.safety import as_id

CONTACT_ROWS = 2  # empty contact rows offered below the existing ones
MAX_CONTACTS = 20
MAX_CSV_BYTES = 2 * 1024 * 1024
#: each kind of partner as people read it
KIND_LABELS = {"city": _l("City"), "region": _l("Region")}


def topic_choices(keep: Any = ()) -> list:
    """The topics offered as checkbox choices (themes first, then the SDGs), and the retired
    ones in ``keep`` that the partner city has already."""
    return choices((t.slug, t.label) for t in vocabulary.offered(db.session, keep=keep))


class ContactRowForm(Form):
    """One contact of a partner city; an empty row is ignored."""

    class Meta:
        csrf = False

    name = StringField(_l("Name"), [Optional(), Length(max=200), NoScript()])
    email = EmailField(_l("E-mail address"),
                       [Optional(), Email(_l("Enter an e-mail address like name@city.org."))])
    role = StringField(_l("Role"), [Optional(), Length(max=200), NoScript()])

    def validate_name(self, field) -> None:
        if not field.data and (self.email.data or self.role.data):
            raise ValidationError(_l("Enter the contact's name."))


class PartnerCityForm(Form):
    # A form sent without the field registers a city, as partners were before regions.
    kind = SelectField(_l("Kind of partner"),
                       choices=choices((k, KIND_LABELS.get(k, k)) for k in PARTNER_KINDS),
                       default="city",
                       description=_l("A city call pairs with cities, a region call with regions."))
    name = StringField(_l("Name"), [InputRequired(_l("Enter the partner's name.")),
                                Length(max=300), NoScript()])
    country = SelectField(_l("Country"), choices=[],
                          validators=[InputRequired(_l("Choose the country."))])
    region = SelectField(_l("World region"), choices=[],
                         validators=[InputRequired(_l("Choose the world region."))])
    population = IntegerField(
        _l("Population (inhabitants)"),
        [Optional(), NumberRange(min=1, max=100_000_000,
                                 message=_l("Enter a whole number of inhabitants."))])
    topics = SelectMultipleField(_l("Priority topics"), choices=[],
                                 description=_l("Choose between one and five topics."))
    challenge_statement = TextAreaField(
        _l("Challenge statement"),
        [Length(max=4000, message=_l("Keep this under 4,000 characters.")), NoScript()],
        description=_l("The urban challenge the city wants to work on with an EU city."))
    contacts = FieldList(FormField(ContactRowForm), min_entries=CONTACT_ROWS,
                         max_entries=MAX_CONTACTS)

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one topic."))
        if len(field.data) > MAX_TOPICS:
            raise ValidationError(_l("Choose at most five topics."))

    def data_for_save(self) -> PartnerCityData:
        """The validated form as the operation takes it."""
        contacts = tuple(
            {"name": row.form.name.data or "", "email": (row.form.email.data or "").lower(),
             "role": row.form.role.data or ""}
            for row in self.contacts if row.form.name.data)
        return PartnerCityData(
            name=self.name.data, country=self.country.data, region=self.region.data,
            kind=self.kind.data,
            population=self.population.data, topics=tuple(self.topics.data or ()),
            challenge_statement=self.challenge_statement.data or "", contacts=contacts)


def partner_city_form(regions: tuple[str, ...], obj: Any = None, formdata: Any = None
                      ) -> PartnerCityForm:
    """The partner city form for a person who may use ``regions``, filled from ``obj``."""
    data = None
    if obj is not None and formdata is None:
        contacts = [dict(c) for c in obj.contacts or []]
        data = {"kind": obj.kind, "name": obj.name, "country": obj.country, "region": obj.region,
                "population": obj.population, "topics": [t.slug for t in obj.topics],
                "challenge_statement": obj.challenge_statement,
                "contacts": contacts + [{}] * CONTACT_ROWS}
    form = PartnerCityForm(formdata=formdata, data=data)
    form.region.choices = choices([("", _("Choose a world region")),
                                  *((r, region_name(r)) for r in regions)])
    form.country.choices = country_choices(placeholder=_("Choose a country"))
    form.topics.choices = topic_choices(obj.topics if obj is not None else ())
    return form


class ImportForm(Form):
    file = FileField(_l("CSV file"), [
        FileRequired(_l("Choose a CSV file.")),
        FileSize(MAX_CSV_BYTES, message=_l("The file is larger than 2 MB."))])


class ProposeForm(Form):
    partner_city_id = HiddenField()
    version = HiddenField()


class InviteForm(Form):
    email = HiddenField()


def _option(c: Candidate) -> str:
    """A partner city as its board select offers it, with its score out of 100."""
    values = {"name": c.partner.name, "country": c.partner.country,
              "score": round(c.score * 100)}
    if c.ruled_out:
        return _("%(name)s (%(country)s) — %(score)s — ruled out", **values)
    return _("%(name)s (%(country)s) — %(score)s", **values)


def board_form(rows: list[BoardRow], ruled_out: str, formdata: Any = None) -> Form:
    """The draft board: per case a partner select (pre-filled with the optimum), its version
    and a box to rule the chosen pair out; the list of case ids and ruled-out pairs ride along.
    """

    class BoardForm(Form):
        case_ids = HiddenField()
        ruled_out_pairs = HiddenField()

    for row in rows:
        # Grouped by world region; each score out of 100, as the rows and the total show it.
        options = [SelectChoice("", _("No proposal"))] + [
            SelectChoice(str(c.partner.id), _option(c), optgroup=c.partner.region)
            for c in row.candidates]
        setattr(BoardForm, f"partner_{row.case.id}", SelectField(
            _("Partner for %(ref)s", ref=row.case.reference), choices=options,
            validate_choice=False, default=str(row.optimum_id or "")))
        # A call that gives a case several partners: one more select per further partner.
        for n, extra in enumerate(row.extra_ids, start=1):
            setattr(BoardForm, f"also_{row.case.id}_{n}", SelectField(
                _("Further partner for %(ref)s", ref=row.case.reference), choices=options,
                validate_choice=False, default=str(extra)))
        setattr(BoardForm, f"version_{row.case.id}",
                HiddenField(default=str(row.case.version)))
        setattr(BoardForm, f"rule_out_{row.case.id}",
                BooleanField(_("Rule out this pair for %(ref)s", ref=row.case.reference)))
    form = BoardForm(formdata=formdata)
    if formdata is None:
        form.case_ids.data = ",".join(str(r.case.id) for r in rows)
        form.ruled_out_pairs.data = ruled_out
    return form


def parse_ids(text: str | None) -> list[int]:
    """Ids from a comma-separated hidden field; anything else is ignored."""
    return [i for p in (text or "").split(",") if (i := as_id(p)) is not None]


def parse_pairs(text: str | None) -> set[tuple[int, int]]:
    """(case, partner city) pairs from "case:partner" items separated by commas."""
    pairs = set()
    for item in (text or "").split(","):
        left, _, right = item.partition(":")
        case_id, partner_id = as_id(left), as_id(right)
        if case_id is not None and partner_id is not None:
            pairs.add((case_id, partner_id))
    return pairs


def format_pairs(pairs: set[tuple[int, int]]) -> str:
    """The inverse of ``parse_pairs``."""
    return ",".join(f"{a}:{b}" for a, b in sorted(pairs))
