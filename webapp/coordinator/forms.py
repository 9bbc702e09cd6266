"""The back office's forms: list filters, comments, assignment, extensions, bulk actions."""

from __future__ import annotations

from wtforms import (
    DateTimeLocalField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from webapp.forms import Form, NoScript, RenderedOnceSelect, choices
from webapp.operations.backoffice import MAX_BULK

TEXT = [Length(max=4000, message="Keep this under 4,000 characters."), NoScript()]


#: the filters' selects: their options written once, not on every page of the list
ONCE = RenderedOnceSelect()


class FilterForm(Form):
    """The case list's filters, read from the query string (no token: it changes nothing)."""

    class Meta:
        csrf = False

    call = SelectField("Call", choices=[], default="", widget=ONCE)
    state = SelectField("Status", choices=[], default="", widget=ONCE)
    region = SelectField("Region", choices=[], default="", widget=ONCE)
    country = SelectField("Applicant's country", choices=[], default="", widget=ONCE)
    topic = SelectField("Topic", choices=[], default="", widget=ONCE)
    coordinator = SelectField("Responsible coordinator", choices=[], default="", widget=ONCE)
    health = SelectField("Health", choices=[], default="", widget=ONCE)
    q = SearchField("City or reference", [Optional(), Length(max=100), NoScript()])

    def offer(self, options: dict[str, list[tuple[str, str]]]) -> None:
        """Fill each select with its values after an "all" choice."""
        everything = {"call": "All calls", "state": "All statuses", "region": "All regions",
                      "country": "All countries", "topic": "All topics",
                      "coordinator": "Anyone", "health": "Any health"}
        for name, label in everything.items():
            self[name].choices = choices([("", label), *options.get(name, [])])


class DeliverableFilterForm(Form):
    """The deliverables list's filters, read from the query string."""

    class Meta:
        csrf = False

    need = SelectField("Status", choices=[], default="")
    call = SelectField("Call", choices=[], default="")
    region = SelectField("Region", choices=[], default="")
    coordinator = SelectField("Responsible coordinator", choices=[], default="")

    def offer(self, options: dict[str, list[tuple[str, str]]]) -> None:
        """Fill each select with its values after an "all" choice."""
        everything = {"need": "Everything that needs attention", "call": "All calls",
                      "region": "All regions", "coordinator": "Anyone"}
        for name, label in everything.items():
            self[name].choices = choices([("", label), *options.get(name, [])])


class CommentForm(Form):
    body = TextAreaField("Comment", [InputRequired("Write a comment."), *TEXT])
    visibility = RadioField(
        "Who can read it", choices=choices([("internal", "Programme staff only (internal)"),
                                            ("shared", "Shared with the applicant, by e-mail "
                                                       "too")]),
        default="internal", validators=[InputRequired("Choose who can read the comment.")])


class AssignForm(Form):
    coordinator = SelectField("Responsible coordinator", choices=[], default="")


class ExtensionForm(Form):
    until = DateTimeLocalField("Extended deadline", [InputRequired(
        "Enter the date and time the extension ends.")], format="%Y-%m-%dT%H:%M",
        description="In your time zone. The applicant can submit until then.")
    reason = TextAreaField("Reason", [InputRequired("Give a reason for the extension."), *TEXT],
                           description="Kept in the case history.")


class BulkForm(Form):
    """Cases ticked on the list and the action to take on them."""

    transition = SelectField("Action", choices=[],
                             validators=[InputRequired("Choose an action.")])
    case = SelectMultipleField("Cases", coerce=int, validate_choice=False,
                               validators=[InputRequired("Select at least one case.")])

    def validate_case(self, field) -> None:
        if len(field.data or []) > MAX_BULK:
            raise ValidationError(f"Select at most {MAX_BULK} cases at a time.")


class BulkApplyForm(Form):
    """The confirmed selection: each case with the version the coordinator saw."""

    transition = SelectField("Action", choices=[],
                             validators=[InputRequired("Choose an action.")])
    selection = SelectMultipleField("Cases", validate_choice=False,
                                    validators=[InputRequired("Select at least one case.")])
