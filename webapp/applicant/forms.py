"""The application's step forms: format checks only, so any draft can be saved."""

from __future__ import annotations

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

from webapp.forms import COUNTRY_CHOICES, Form, NoScript, choices
from workflows.eligibility import COMMITMENTS, ORGANISATION_TYPES

TEXT = [Length(max=4000, message="Keep this under 4,000 characters."), NoScript()]


class OrganisationForm(Form):
    name = StringField("Name of your city, municipality or group",
                       [InputRequired("Enter the organisation's name."), Length(max=300),
                        NoScript()])
    kind = RadioField("Type of organisation", choices=choices(ORGANISATION_TYPES.items()),
                      validators=[InputRequired("Choose the type of organisation.")])
    country = SelectField("Country", choices=COUNTRY_CHOICES)
    population = IntegerField(
        "Population (inhabitants)", [Optional(), NumberRange(min=1, max=50_000_000,
                                                             message="Enter a whole number of "
                                                                     "inhabitants.")],
        description="For a group of municipalities, give each member's population in the "
                    "group members step instead.")
    website = StringField("Website", [Optional(), Length(max=300), NoScript()])


class ContactForm(Form):
    contact_name = StringField("Full name", [Optional(), Length(max=200), NoScript()])
    contact_title = StringField("Job title", [Optional(), Length(max=200), NoScript()])
    contact_email = EmailField("E-mail address",
                               [Optional(), Email("Enter an e-mail address like name@city.eu.")])
    contact_phone = StringField("Telephone", [Optional(), Length(max=50), NoScript()])


class MemberForm(Form):
    name = StringField("Municipality", [InputRequired("Enter the municipality's name."),
                                        Length(max=300), NoScript()])
    population = IntegerField("Population", [InputRequired("Enter the population as a number."),
                                             NumberRange(min=1, max=50_000_000,
                                                         message="Enter a whole number.")])
    is_lead = BooleanField("This is the lead urban authority")
    commitment_declared = BooleanField("This municipality has declared its commitment")
    letter = FileField("Commitment letter (PDF)",
                       description="A signed letter of commitment, as a PDF of up to 10 MB.")


class TopicsForm(Form):
    topics = SelectMultipleField("Priority topics", choices=[],
                                 description="Choose between one and five topics.")
    challenge_statement = TextAreaField(
        "Your challenge", TEXT, description="What urban challenge do you want to work on with "
                                            "a partner city? At least 50 characters.")

    def validate_topics(self, field) -> None:
        if len(field.data or []) > 5:
            raise ValidationError("Choose at most five topics.")


class PartnershipForm(Form):
    partner_region = RadioField("Preferred partner region", choices=[],
                                validators=[Optional()])
    stakeholders = TextAreaField("Local stakeholders you will involve", TEXT,
                                 description="Departments, academia, business, civil society, "
                                             "other levels of government.")


class ResourcesForm(Form):
    resources_committed = TextAreaField(
        "Staff time and resources", TEXT,
        description="Who will work on the cooperation, for how much of their time, and what "
                    "budget you set aside.")


class CommitmentsForm(Form):
    pass


for _key, _label in COMMITMENTS.items():
    setattr(CommitmentsForm, _key, BooleanField(_label))


class AnswerForm(Form):
    answer = TextAreaField("Your answer", [InputRequired("Write your answer."), *TEXT])


class ReasonForm(Form):
    reason = TextAreaField("Reason", [InputRequired("Give a reason."), *TEXT])


class InviteForm(Form):
    name = StringField("Colleague's full name", [InputRequired("Enter their name."),
                                                 Length(max=200), NoScript()])
    email = EmailField("Colleague's e-mail address",
                       [InputRequired("Enter their e-mail address."),
                        Email("Enter an e-mail address like name@city.eu.")])
