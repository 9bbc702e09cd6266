"""The application's step forms: format checks only, so any draft can be saved."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.forms import Form, NoScript, choices, country_choices
from workflows.countries import EU_MEMBER_STATES
from workflows.eligibility import ORGANISATION_TYPES
from workflows.vocabulary import Vocabulary

TEXT = [Length(max=4000, message=_l("Keep this under 4,000 characters.")), NoScript()]


class StepForm(Form):
    """A step of the application form: it marks what submitting needs as required."""

    class Meta:
        mark_required = True


class OrganisationForm(StepForm):
    name = StringField(_l("Name of your organisation"),
                       [InputRequired(_l("Enter the organisation's name.")), Length(max=300),
                        NoScript()])
    kind = RadioField(_l("Type of organisation"),
                      choices=choices((k, _l(v)) for k, v in ORGANISATION_TYPES.items()),
                      validators=[InputRequired(_l("Choose the type of organisation."))])
    country = SelectField(_l("Country"), choices=[])
    population = IntegerField(
        _l("Population (inhabitants)"), [Optional(), NumberRange(min=1, max=50_000_000,
                                                             message=_l("Enter a whole number of "
                                                                     "inhabitants."))],
        description=_l("For a group of municipalities, give each member's population in the "
                    "group members step instead."))
    website = StringField(_l("Website"), [Optional(), Length(max=300), NoScript()])

    def offer_countries(self, eligible=EU_MEMBER_STATES, *, call_label: bool = False) -> None:
        """Every country, those ``eligible`` first: a call's eligible countries, or the EU's."""
        self.country.choices = country_choices(
            eligible, placeholder=_l("Choose a country"),
            first_label=_l("Eligible countries for this call") if call_label
            else _l("EU member states"), rest_label=_l("Other countries"))


class ContactForm(StepForm):
    contact_name = StringField(_l("Full name"), [Optional(), Length(max=200), NoScript()])
    contact_title = StringField(_l("Job title"), [Optional(), Length(max=200), NoScript()])
    contact_email = EmailField(
        _l("E-mail address"), [Optional(), Email(_l("Enter an e-mail address like name@city.eu."))])
    contact_phone = StringField(_l("Telephone"), [Optional(), Length(max=50), NoScript()])


class MemberForm(Form):
    name = StringField(_l("Municipality"), [InputRequired(_l("Enter the municipality's name.")),
                                        Length(max=300), NoScript()])
    population = IntegerField(_l("Population"), [
        InputRequired(_l("Enter the population as a number.")),
        NumberRange(min=1, max=50_000_000, message=_l("Enter a whole number."))])
    is_lead = BooleanField(_l("This is the lead urban authority"))
    commitment_declared = BooleanField(_l("This municipality has declared its commitment"))
    letter = FileField(_l("Commitment letter (PDF)"),
                       description=_l("A signed letter of commitment, as a PDF of up to 10 MB."))


class TopicsForm(StepForm):
    topics = SelectMultipleField(_l("Priority topics"), choices=[],
                                 description=_l("Choose between one and five topics."))
    challenge_statement = TextAreaField(_l("Your challenge"), TEXT)

    def validate_topics(self, field) -> None:
        if len(field.data or []) > 5:
            raise ValidationError(_l("Choose at most five topics."))


class PartnershipForm(StepForm):
    partner_region = RadioField(_l("Preferred partner region"), choices=[],
                                validators=[Optional()])
    stakeholders = TextAreaField(_l("Local stakeholders you will involve"), TEXT,
                                 description=_l("Departments, academia, business, civil society, "
                                             "other levels of government."))


class ResourcesForm(StepForm):
    resources_committed = TextAreaField(
        _l("Staff time and resources"), TEXT,
        description=_l("Who will work on the cooperation, for how much of their time, and what "
                    "budget you set aside."))


def commitments_form(words: Vocabulary, months: int) -> type[Form]:
    """The commitments step of a call: one tick box per commitment its kind asks for."""

    class CommitmentsForm(StepForm):
        pass

    for c in words.commitments:
        setattr(CommitmentsForm, c.key, BooleanField(_l(c.label, n=months)))
    return CommitmentsForm


class AnswerForm(Form):
    answer = TextAreaField(_l("Your answer"), [InputRequired(_l("Write your answer.")), *TEXT])


class ReasonForm(Form):
    reason = TextAreaField(_l("Reason"), [InputRequired(_l("Give a reason.")), *TEXT])


class InviteForm(Form):
    name = StringField(_l("Colleague's full name"), [InputRequired(_l("Enter their name.")),
                                                 Length(max=200), NoScript()])
    email = EmailField(_l("Colleague's e-mail address"),
                       [InputRequired(_l("Enter their e-mail address.")),
                        Email(_l("Enter an e-mail address like name@city.eu."))])
