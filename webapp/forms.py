"""Form helpers shared by the blueprints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectChoice
from wtforms.validators import ValidationError

from workflows.eligibility import EU_MEMBER_STATES


class Form(FlaskForm):
    """A form whose text fields are stripped, like people expect."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            filters = unbound_field.kwargs.get("filters", [])
            if unbound_field.field_class.__name__ in {"StringField", "EmailField",
                                                      "TextAreaField"}:
                filters = [_strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NoScript:
    """Refuses text that looks like markup, so nothing typed can become a script anywhere."""

    message = "Remove the angle brackets (< and >) from this answer."

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and isinstance(field.data, str) and ("<" in field.data and ">" in
                                                           field.data):
            raise ValidationError(self.message)


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select and radio choices in the form WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


COUNTRY_CHOICES = choices([("", "Choose a country"), *((c, c) for c in EU_MEMBER_STATES),
                           ("Other", "Another country")])
