"""The back office's forms: list filters, comments, assignment, extensions, bulk actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
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

TEXT = [Length(max=4000, message=_l("Keep this under 4,000 characters.")), NoScript()]


#: the filters' selects: their options written once, not on every page of the list
ONCE = RenderedOnceSelect()


class FilterForm(Form):
    """The case list's filters, read from the query string (no token: it changes nothing)."""

    class Meta:
        csrf = False

    call = SelectField(_l("Call"), choices=[], default="", widget=ONCE)
    state = SelectField(_l("Status"), choices=[], default="", widget=ONCE)
    region = SelectField(_l("Region"), choices=[], default="", widget=ONCE)
    country = SelectField(_l("Applicant's country"), choices=[], default="", widget=ONCE)
    topic = SelectField(_l("Topic"), choices=[], default="", widget=ONCE)
    coordinator = SelectField(_l("Responsible coordinator"), choices=[], default="", widget=ONCE)
    health = SelectField(_l("Health"), choices=[], default="", widget=ONCE)
    q = SearchField(_l("City or reference"), [Optional(), Length(max=100), NoScript()])

    def offer(self, options: dict[str, list[tuple[str, str]]]) -> None:
        """Fill each select with its values after an "all" choice."""
        everything = {"call": _l("All calls"), "state": _l("All statuses"),
                      "region": _l("All regions"), "country": _l("All countries"),
                      "topic": _l("All topics"),
                      "coordinator": _l("Anyone"), "health": _l("Any health")}
        for name, label in everything.items():
            self[name].choices = choices([("", label), *options.get(name, [])])


class DeliverableFilterForm(Form):
    """The deliverables list's filters, read from the query string."""

    class Meta:
        csrf = False

    need = SelectField(_l("Status"), choices=[], default="")
    call = SelectField(_l("Call"), choices=[], default="")
    region = SelectField(_l("Region"), choices=[], default="")
    coordinator = SelectField(_l("Responsible coordinator"), choices=[], default="")

    def offer(self, options: dict[str, list[tuple[str, str]]]) -> None:
        """Fill each select with its values after an "all" choice."""
        everything = {"need": _l("Everything that needs attention"), "call": _l("All calls"),
                      "region": _l("All regions"), "coordinator": _l("Anyone")}
        for name, label in everything.items():
            self[name].choices = choices([("", label), *options.get(name, [])])


class CommentForm(Form):
    body = TextAreaField(_l("Comment"), [InputRequired(_l("Write a comment.")), *TEXT])
    visibility = RadioField(
        _l("Who can read it"),
        choices=choices([("internal", _l("Programme staff only (internal)")),
                         ("shared", _l("Shared with the applicant, by e-mail too"))]),
        default="internal", validators=[InputRequired(_l("Choose who can read the comment."))])


class AssignForm(Form):
    coordinator = SelectField(_l("Responsible coordinator"), choices=[], default="")


class ExtensionForm(Form):
    until = DateTimeLocalField(_l("Extended deadline"), [InputRequired(
        _l("Enter the date and time the extension ends."))], format="%Y-%m-%dT%H:%M",
        description=_l("In your time zone. The applicant can submit until then."))
    reason = TextAreaField(_l("Reason"),
                           [InputRequired(_l("Give a reason for the extension.")), *TEXT],
                           description=_l("Kept in the case history."))


class BulkForm(Form):
    """Cases ticked on the list and the action to take on them."""

    transition = SelectField(_l("Action"), choices=[],
                             validators=[InputRequired(_l("Choose an action."))])
    case = SelectMultipleField(_l("Cases"), coerce=int, validate_choice=False,
                               validators=[InputRequired(_l("Select at least one case."))])

    def validate_case(self, field) -> None:
        if len(field.data or []) > MAX_BULK:
            raise ValidationError(_l("Select at most %(n)s cases at a time.", n=MAX_BULK))


class BulkApplyForm(Form):
    """The confirmed selection: each case with the version the coordinator saw."""

    transition = SelectField(_l("Action"), choices=[],
                             validators=[InputRequired(_l("Choose an action."))])
    selection = SelectMultipleField(_l("Cases"), validate_choice=False,
                                    validators=[InputRequired(_l("Select at least one case."))])
