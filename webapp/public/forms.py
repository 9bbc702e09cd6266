"""The public pages' forms: the quick eligibility check, the pairings filters, the mailing list."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from webapp.forms import Form, NoScript, choices, country_choices
from webapp.i18n import LANGUAGE_NAMES, reader_locale
from webapp.models.programme import WORLD_REGIONS
from workflows.countries import countries_by_name
from workflows.eligibility import ORGANISATION_TYPES, Member

#: a group listed in the quick check may have at most this many members
MAX_MEMBERS = 50
_MEMBER_LINE = re.compile(r"^(?P<name>.*?)\s*[,;:\t]\s*(?P<population>[\d\s.,'’ ]+)$")


def parse_members(text: str) -> list[Member]:
    """Members from lines like "Lille, 236 000"; the first line is the lead urban authority.

    Raises ValueError with a message for the first line that cannot be read.
    """
    members: list[Member] = []
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        m = _MEMBER_LINE.match(line)
        digits = re.sub(r"\D", "", m.group("population")) if m else ""
        if not m or not m.group("name") or not digits:
            raise ValueError(str(_l("Line %(n)s: write the municipality's name, a comma and its "
                                    "population, like “Lille, 236000”.", n=number)))
        members.append(Member(m.group("name"), int(digits), commitment=False,
                              is_lead=number == 1))
    if len(members) > MAX_MEMBERS:
        raise ValueError(str(_l("List at most %(n)s municipalities.", n=MAX_MEMBERS)))
    return members


class PublicForm(Form):
    """A form whose error messages are plain text after validation, whatever made them."""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        # Lazy translations are resolved now: the error macros list only plain strings.
        for f in self:
            if isinstance(f.errors, list | tuple):
                f.errors = [str(e) for e in f.errors]
        return ok


class QuickCheckForm(PublicForm):
    """The questions the eligibility rules that can be checked before applying need.

    Sent by GET: it changes nothing, so it needs no token and its answers can be bookmarked.
    """

    class Meta:
        csrf = False

    name = StringField(_l("Name of your city, municipality or group"),
                       [Optional(), Length(max=200), NoScript()])
    org_type = RadioField(_l("What type of organisation is applying?"),
                          choices=choices((k, _l(v)) for k, v in ORGANISATION_TYPES.items()),
                          validators=[InputRequired(_l("Choose the type of organisation."))])
    country = SelectField(_l("Country"), choices=[],
                          validators=[InputRequired(_l("Choose the country of your "
                                                       "organisation."))])
    population = IntegerField(
        _l("Number of inhabitants"),
        [Optional(), NumberRange(min=1, max=100_000_000,
                                 message=_l("Enter the number of inhabitants as a whole number "
                                            "above 0, like 150000."))])
    members = TextAreaField(_l("Member municipalities and their populations"),
                            [Optional(), Length(max=5000), NoScript()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Needed for one type of organisation each, so neither is labelled optional.
        self.population.flags.required = True
        self.members.flags.required = True

    def offer_countries(self, eligible: list[str]) -> None:
        self.country.choices = country_choices(
            eligible, placeholder=_l("Choose a country"),
            first_label=_l("Eligible countries for this call"), rest_label=_l("Other countries"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        typed = (self.population.raw_data or [""])[0].strip()
        if typed and self.population.data is None:
            self.population.errors = [str(_l("Enter the number of inhabitants as a whole "
                                             "number, like 150000."))]
            ok = False
        elif self.org_type.data == "city" and self.population.data is None:
            # Which of population and members is needed follows the type of organisation.
            self.population.errors = [str(_l("Enter the number of inhabitants of your city."))]
            ok = False
        if self.org_type.data == "group" and not self.members.errors:
            try:
                found = parse_members(self.members.data or "")
            except ValueError as exc:
                self.members.errors = [str(exc)]
                return False
            if not found:
                self.members.errors = [str(_l("List the member municipalities, one per "
                                              "line, each with its population."))]
                ok = False
        return ok


class PairingFilterForm(PublicForm):
    """The showcase's filters, read from the query string."""

    class Meta:
        csrf = False

    topic = SelectField(_l("Topic"), choices=[], default="")
    region = SelectField(_l("Partner region"), choices=[], default="")
    country = SelectField(_l("Country"), choices=[], default="")

    def offer(self, topics: list[tuple[str, str]], countries: list[str]) -> None:
        """The topics and countries (ISO codes) the pairings name, and every world region."""
        self.topic.choices = choices([("", _l("All topics")), *topics])
        self.region.choices = choices([("", _l("All regions")),
                                       *((r, _l(r)) for r in WORLD_REGIONS)])
        self.country.choices = choices([("", _l("All countries")),
                                        *countries_by_name(reader_locale(), countries)])


def language_choices() -> list[tuple[str, str]]:
    """Each language the site offers, named in itself (English, Français ...)."""
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


class SubscribeForm(PublicForm):
    email = EmailField(_l("E-mail address"), [InputRequired(_l("Enter your e-mail address.")),
                                          Email(_l("Enter an e-mail address in the correct "
                                                   "format, like name@example.com.")),
                                          Length(max=320)])
    language = RadioField(_l("Language of the e-mails"), choices=[],
                          validators=[InputRequired(_l("Choose the language of the e-mails."))])
    interests = SelectMultipleField(
        _l("Calls offering partners in"),
        choices=choices((r, _l(r)) for r in WORLD_REGIONS), validators=[Optional()])

    def offer_languages(self) -> None:
        self.language.choices = choices(language_choices())
