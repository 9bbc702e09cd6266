"""Form helpers shared by the blueprints."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, SelectChoice
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import Select, html_params

from webapp.i18n import reader_locale
from workflows.countries import countries_by_name

#: the fields whose text is stripped before it is checked and kept
TRIMMED = {"StringField", "EmailField", "TextAreaField"}
#: one-line fields (names, titles): no line break or other control character
SINGLE_LINE = {"StringField"}
CONTROL_MESSAGE = _l("Remove the line breaks and other control characters from this answer.")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character nobody types on one line: a line break, a tab, a
    NUL, an escape or any other control character."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def one_line(value: str | None) -> str:
    """``value`` on one line: every run of whitespace or control characters (a line break in
    a name kept from before they were refused) becomes one space."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in value or "")
    return " ".join(text.split())
#: WTForms' own words for a required field, translated by its catalogues, not ours
_REQUIRED = "This field is required."


class Form(FlaskForm):
    """A form whose text fields are stripped, like people expect."""

    class Meta:
        #: say "(required)" and mark the inputs ``required`` for every required field
        mark_required = False

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            filters = unbound_field.kwargs.get("filters", [])
            if unbound_field.field_class.__name__ in TRIMMED:
                filters = [_strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            # InputRequired looks at the raw text, so nothing but spaces would pass and be
            # kept as an empty answer once stripped.
            required = next((v for v in field.validators if isinstance(v, InputRequired)), None)
            if required and type(field).__name__ in TRIMMED and not field.errors \
                    and not field.data:
                field.errors = [required.message or field.gettext(_REQUIRED)]
                valid = False
            # A name with a line break in it would end up in a mail header, among others.
            if type(field).__name__ in SINGLE_LINE and isinstance(field.data, str) \
                    and has_control_characters(field.data):
                field.errors = [*field.errors, CONTROL_MESSAGE]
                valid = False
        # Messages marked for translation are lazy; the pages and the API want plain text.
        for field in self:
            if isinstance(field.errors, list) and len(field.errors) > len(field.process_errors):
                # One message per field: WTForms' generic "not a valid number" gives way to
                # the field's own, which says what to type.
                field.errors[:] = [e for e in field.errors if e not in field.process_errors]
            if isinstance(field.errors, list):
                field.errors[:] = [str(e) if isinstance(e, LazyString) else e
                                   for e in field.errors]
        return valid


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NoScript:
    """Refuses text that looks like markup, so nothing typed can become a script anywhere."""

    message = _l("Remove the angle brackets (< and >) from this answer.")

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and isinstance(field.data, str) and ("<" in field.data and ">" in
                                                           field.data):
            raise ValidationError(self.message)


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select and radio choices in the form WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def country_choices(first: Sequence[str] = (), *, placeholder: Any = None,
                    first_label: Any = "", rest_label: Any = "") -> list[SelectChoice]:
    """Every country for a select: its ISO code as the value, its name in the reader's
    language as the label, in the order of those names.

    With ``first`` (codes), those countries come first in a group labelled ``first_label`` and
    the others follow in a group labelled ``rest_label``; ``placeholder`` is an empty first
    option ("Choose a country").
    """
    everything = countries_by_name(reader_locale())
    head = [SelectChoice("", str(placeholder))] if placeholder is not None else []
    if not first:
        return head + [SelectChoice(code, name) for code, name in everything]
    wanted = set(first)
    return head + [SelectChoice(code, name, optgroup=str(first_label))
                   for code, name in everything if code in wanted] + \
        [SelectChoice(code, name, optgroup=str(rest_label))
         for code, name in everything if code not in wanted]


_OPTION = Markup('<option value="{}">{}</option>')
_CHOSEN = Markup('<option selected value="{}">{}</option>')


@lru_cache(maxsize=256)
def _options_html(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, Markup], ...]:
    return tuple((value, label, _OPTION.format(value, label)) for value, label in pairs)


class RenderedOnceSelect(Select):
    """A select whose options are written once per set of choices (in one language) and
    reused: the case list's filters offer hundreds of options, the same on every request.
    Only the chosen one is written again. Options with their own attributes or groups are
    written the usual way."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        found = list(field.choices or ())
        if self.multiple or any(not isinstance(c, SelectChoice) or c.render_kw or c.optgroup
                                for c in found):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        if "required" not in kwargs and "required" in getattr(field, "flags", []):
            kwargs["required"] = True
        chosen = None if field.data is None else str(field.data)
        options = Markup("").join(
            _CHOSEN.format(value, label) if value == chosen else html
            for value, label, html in _options_html(tuple((str(c.value), str(c.label))
                                                          for c in found)))
        return Markup("<select {}>{}</select>").format(
            Markup(html_params(name=field.name, **kwargs)), options)  # noqa: S704 (it escapes)
