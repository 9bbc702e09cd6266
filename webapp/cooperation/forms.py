"""Forms of the cooperation pages: format checks only, so every draft can be saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.forms import Form, NoScript, choices
from webapp.operations.cooperation import ACTIVITY_TYPES, DIRECTIONS
from workflows import lap
from workflows.vocabulary import Vocabulary


class Needed:
    """Marks an answer needed before submitting, though a draft may leave it empty: its label
    then carries no "(optional)"."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        """Drafts may be incomplete: the completeness rules judge at submission."""


TEXT = [Optional(), Length(max=10_000, message=_l("Keep this under 10,000 characters.")),
        NoScript()]
SHORT = [Optional(), Length(max=200, message=_l("Keep this under 200 characters.")), NoScript()]


class WorkPlanForm(Form):
    """Hand in a document deliverable: the file, a summary, or both."""

    document = FileField(_l("The document (PDF)"),
                         description=_l("A PDF of up to 10 MB."))
    note = TextAreaField(_l("Summary or cover note"), TEXT)


class ReviewForm(Form):
    """A coordinator's review of a handed-in deliverable."""

    decision = RadioField(_l("Your decision"), choices=choices([
        ("accept", _l("Accept it")), ("revise", _l("Ask for a revision"))]),
        validators=[InputRequired(_l("Choose whether to accept it or ask for a revision."))])
    comments = TextAreaField(_l("Comments"), TEXT,
                             description=_l("Needed when you ask for a revision; the partners "
                                         "receive them by e-mail."))
    resubmit_by = DateField(_l("Revised version due on"), [Optional()],
                            description=_l("Needed when you ask for a revision."))

    def validate_comments(self, field: Any) -> None:
        if self.decision.data == "revise" and not (field.data or "").strip():
            raise ValidationError(_l("Say what should change."))

    def validate_resubmit_by(self, field: Any) -> None:
        if self.decision.data == "revise" and field.data is None:
            raise ValidationError(_l("Give the date the revised version is due."))


class ActivityForm(Form):
    """One activity of the pair."""

    type = SelectField(_l("Type of activity"), choices=choices(
        [("", _l("Choose a type")), *((k, _l(v)) for k, v in ACTIVITY_TYPES.items())]),
        validators=[InputRequired(_l("Choose the type of activity."))])
    title = StringField(_l("Title"), [InputRequired(_l("Give the activity a title.")),
                                  Length(max=200), NoScript()])
    starts_on = DateField(_l("First day"), [InputRequired(_l("Give the day it started."))])
    ends_on = DateField(_l("Last day"), [Optional()],
                        description=_l("Leave empty for a one-day activity."))
    place = StringField(_l("Place"), SHORT)
    direction = RadioField(
        _l("Direction"), choices=choices((k, _l(v)) for k, v in DIRECTIONS.items()),
        validators=[InputRequired(_l("Choose the direction of the activity."))])
    participants = IntegerField(_l("Number of participants"), [
        Optional(), NumberRange(min=0, max=100_000, message=_l("Enter a whole number."))])
    stakeholders = TextAreaField(_l("Local stakeholders involved"), TEXT)
    description = TextAreaField(_l("What happened"), TEXT)
    attachments = MultipleFileField(_l("Attachments"),
                                    description=_l("Agendas, reports or photos: PDF, JPEG or PNG "
                                                "files of up to 10 MB each."))

    def validate_ends_on(self, field: Any) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day must be on or after the first day."))


class ReportForm(Form):
    """A progress, final or follow-up report; saved as a draft at any time."""

    version = HiddenField()
    period_start = DateField(_l("From"), [Needed(), Optional()])
    period_end = DateField(_l("Until"), [Needed(), Optional()])
    achievements = TextAreaField(_l("Achievements"), [Needed(), *TEXT])
    activity_ids = SelectMultipleField(_l("Activities in this period"), choices=[], coerce=int)
    difficulties = TextAreaField(_l("Difficulties"), TEXT)
    next_steps = TextAreaField(_l("Next steps"), [Needed(), *TEXT])
    lap_progress = TextAreaField(_l("Progress on the plan"), [Needed(), *TEXT])
    indicators = TextAreaField(_l("Indicators"), TEXT,
                               description=_l("Where the plan's monitoring indicators stand now."))

    def validate_period_end(self, field: Any) -> None:
        if field.data and self.period_start.data and field.data < self.period_start.data:
            raise ValidationError(_l("The period must end after it starts."))


def _column_field(column: lap.Column, sectors: Mapping[str, str]) -> Any:
    needed = [Needed()] if column.needed else []
    if column.type == "date":
        return DateField(_l(column.label), [*needed, Optional()])
    if column.type == "amount":
        return IntegerField(_l(column.label), [*needed, Optional(), NumberRange(
            min=0, max=10_000_000_000, message=_l("Enter an amount in whole euros."))])
    if column.type == "sector":
        return SelectField(_l(column.label), [*needed, Optional()], choices=choices(
            [("", _l("Choose a sector")), *((k, _l(v)) for k, v in sectors.items())]))
    if column.type == "longtext":
        return TextAreaField(_l(column.label), [*needed, Optional(), Length(max=2000), NoScript()])
    return StringField(_l(column.label), [*needed, Optional(), Length(max=300), NoScript()])


def section_form_class(plan: lap.PlanDefinition, section: lap.Section) -> type[Form]:
    """The form of one section of a plan: its text answers and, for a table, its rows."""

    class SectionForm(Form):
        revision = HiddenField()

    for f in section.fields:
        needed = [Needed()] if section.required and f.required else []
        setattr(SectionForm, f.key, TextAreaField(_l(f.label), [*needed, *TEXT],
                                                  description=_l(f.hint) if f.hint else ""))
    if section.sdg_choice:
        SectionForm.sdg_topics = SelectMultipleField(
            _l("Sustainable Development Goals the plan serves"), [Needed()], choices=[])
    if section.has_rows:

        class RowForm(Form):
            class Meta:
                csrf = False  # the section's form carries the token

            remove = BooleanField(_l("Remove this row"))

        for column in section.columns:
            setattr(RowForm, column.key, _column_field(column, plan.sectors))
        SectionForm.rows = FieldList(FormField(RowForm), min_entries=0, max_entries=200)
    return SectionForm


class PlanReviewForm(Form):
    """A coordinator's decision on the submitted plan."""

    decision = RadioField(_l("Your decision"), choices=choices([
        ("approve", _l("Approve the plan")), ("revise", _l("Ask for a revision"))]),
        validators=[InputRequired(_l("Choose whether to approve the plan or ask for a revision."))])
    comments = TextAreaField(_l("What should change?"), TEXT)
    response_deadline = DateTimeLocalField(_l("New deadline"), [Optional()],
                                           format="%Y-%m-%dT%H:%M",
                                           description=_l("In your time zone."))

    def validate_comments(self, field: Any) -> None:
        if self.decision.data == "revise" and not (field.data or "").strip():
            raise ValidationError(_l("Say what should change."))

    def validate_response_deadline(self, field: Any) -> None:
        if self.decision.data == "revise" and field.data is None:
            raise ValidationError(_l("Give the new deadline."))


class KickoffForm(Form):
    """A coordinator moves the start of the cooperation to its kickoff meeting."""

    kickoff = DateField(_l("Kickoff date"), [InputRequired(_l("Give the kickoff date."))])


def scoring_form(words: Vocabulary) -> type[Form]:
    """An evaluator's scores: one from 0 to 5 and a comment for each criterion of the call."""

    class ScoringForm(Form):
        pass

    marks = choices((str(n), str(n)) for n in range(6))
    for c in words.criteria:
        setattr(ScoringForm, f"{c.key}_score", RadioField(
            _l(c.label), choices=marks, validators=[InputRequired(
                _l("Score “%(criterion)s” from 0 to 5.", criterion=_l(c.label)))]))
        setattr(ScoringForm, f"{c.key}_comment",
                TextAreaField(_l("Comment on “%(criterion)s”", criterion=_l(c.label)), TEXT))
    return ScoringForm


class ConflictForm(Form):
    """An evaluator declares a conflict of interest in an application."""

    statement = TextAreaField(_l("Your interest in this application"), [
        InputRequired(_l("Say what your interest in this application is.")), *TEXT])
