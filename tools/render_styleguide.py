"""Render every template macro to one static page, to look at the design without the app.

    python tools/render_styleguide.py [output.html]   (default: styleguide.html in the temp dir)

A bare Jinja environment with stand-ins for Flask's helpers; the form is plain WTForms.
"""

from __future__ import annotations

import sys
from pathlib import Path
from tempfile import gettempdir
from types import SimpleNamespace

from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    FileField,
    Form,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, Optional

ROOT = Path(__file__).resolve().parent.parent

TOPICS = [("mobility", "Sustainable mobility"), ("energy", "Energy transition"),
          ("housing", "Affordable housing"), ("water", "Water management"),
          ("innovation", "Innovation and SMEs"), ("nature", "Nature-based solutions")]


class ApplicationForm(Form):
    name = StringField("Name of your city", [InputRequired("Enter the name of your city.")])
    email = EmailField("E-mail address", [InputRequired(), Email("Enter a valid e-mail address.")])
    password = PasswordField("Password", [Optional()])
    population = IntegerField("Population", [InputRequired("Enter the population as a number.")])
    kickoff = DateTimeLocalField("Kick-off meeting", [Optional()], format="%Y-%m-%dT%H:%M")
    country = SelectField("Country", choices=[("", "Choose a country"), ("DE", "Germany"),
                                              ("FR", "France"), ("IT", "Italy")])
    challenge = TextAreaField("Challenge statement",
                              [InputRequired("Describe the challenge."), Length(max=300)])
    letter = FileField("Commitment letter")
    declaration = BooleanField("I declare the information is correct",
                               [InputRequired("Tick the declaration.")])
    topics = SelectMultipleField("Priority topics", [InputRequired("Choose at least one topic.")],
                                 choices=TOPICS)
    region = RadioField("Preferred partner region", [InputRequired("Choose a region.")],
                        choices=[("asia", "Asia"), ("lac", "Latin America and the Caribbean"),
                                 ("na", "North America")])


def make_forms() -> tuple[ApplicationForm, ApplicationForm]:
    clean = ApplicationForm(MultiDict({"ok-name": "Ghent", "ok-topics": ["energy"],
                                       "ok-region": "asia",
                                       "ok-challenge": "Retrofitting social housing."}),
                            prefix="ok")
    broken = ApplicationForm(MultiDict({"email": "not-an-address", "population": "lots",
                                       "challenge": "x" * 320}))
    broken.validate()
    broken.form_errors.append("The call closed before you submitted.")
    return clean, broken


def url_for(endpoint: str, **values: object) -> str:
    if endpoint == "static":
        return (ROOT / "static" / str(values["filename"])).as_uri()
    return "#" + endpoint


def gettext(text: str, **variables: object) -> str:
    return text % variables if variables else text


PAGE = """{% extends "base.html" %}
{% import "macros/forms.html" as forms %}{% import "macros/components.html" as c %}
{% block title %}Style guide{% endblock %}
{% block breadcrumbs %}
{{ c.breadcrumbs([('Home', '/'), ('Cases', '/cases'), ('Style guide', None)]) }}{% endblock %}
{% block content %}
<div class="page-header"><div><span class="caption-l">IUC-2017-042</span>
<h1 class="heading-xl">Style guide</h1></div>
<div class="page-header__actions">{{ forms.button_link('Export CSV', '#') }}</div></div>
<p class="lead">Every macro, with a WTForms form.</p>
<h2>Type</h2><p class="heading-l">Heading L</p><p class="heading-m">Heading M</p>
<p class="heading-s">Heading S</p><p class="body-s">Body S with a <a href="#">link</a>.</p>
<h2>Buttons</h2><div class="button-group">{{ forms.button('Save and continue') }}
{{ forms.button('Save as draft', style='secondary') }}
{{ forms.button('Withdraw', style='warning', confirm='Withdraw this application?') }}
{{ forms.button('Cancel', style='link') }}{{ forms.button('Disabled', disabled=true) }}</div>
<h2>Form with errors</h2>{{ forms.error_summary(broken, extra=[(none, 'Extra message.')]) }}
{{ fields(broken) }}
<h2>Form without errors</h2>{{ fields(clean) }}
{% call forms.fieldset('Lead contact', hint='Who we write to.') %}
{{ forms.field(clean.name, classes='input--w20', autocomplete='organization') }}{% endcall %}
<h2>Tags</h2><p>{% for k in ['grey', 'blue', 'green', 'yellow', 'red', 'purple'] %}
{{ c.tag(k|capitalize, k) }} {% endfor %}</p>
<p>{{ c.health_tag('on_track') }} {{ c.health_tag('at_risk') }} {{ c.health_tag('off_track') }}</p>
<h2>Progress</h2>{{ c.progress(stages, 3) }}{{ c.progress(stages, 1, terminal_label='Withdrawn') }}
<h2>Summary list</h2>{{ c.summary_list([('City', 'Ghent', '#'), ('Population', '263,000', '#'),
 ('Website', ''), ('Topics', markup)]) }}
{{ c.notice('Submit before 30 June 2024, 17:00 Brussels time.', 'warning') }}
{{ c.notice('Your application was saved.', 'success') }}
{{ c.notice('Pairings are published in May.') }}
{{ c.inset('Groups of municipalities must total more than 100,000 inhabitants.') }}
{{ c.deadline('30 June 2024, 17:00 (CEST)', 'in 3 days') }}
{{ c.deadline('1 March 2024', '2 weeks ago', label='Progress report due', overdue=true) }}
<div class="grid grid--3">{{ c.key_figure(42, 'Applications') }}{{ c.key_figure('71%', 'Eligible',
 hint='30 of 42') }}{{ c.key_figure(8, 'Pairings', hint='Target: 10') }}</div>
<h2>Action panel</h2>{{ c.action_panel(actions) }}
<h2>Timeline</h2>{{ c.timeline(events) }}
<h2>Table</h2>{{ c.table(['Reference', 'City', 'State', 'Health', 'Population'], rows,
 caption='Cases', sortable_links=['#', ('#', 'ascending'), None, None, '#'], numeric=[4]) }}
{{ c.pagination(6, 12, page_url) }}{{ c.pagination(1, 3, page_url) }}
{{ c.bar_chart([('Asia', 14), ('Latin America and the Caribbean', 9), ('North America', 3),
 ('Region-to-region', 0), ('Other', 1)], 'Pairings per region') }}
{% endblock %}
{% block aside %}<h2>Deadlines</h2>{{ c.deadline('30 June 2024', 'in 3 days') }}
<p>Sidebar content.</p>{% endblock %}
"""

FIELDS = """{% import "macros/forms.html" as forms %}{% macro fields(f) %}
{{ forms.field(f.name, hint='As it appears in official documents.', autocomplete='organization') }}
{{ forms.field(f.email, classes='input--w30', autocomplete='email') }}
{{ forms.field(f.password, classes='input--w20', autocomplete='new-password') }}
{{ forms.field(f.population, classes='input--w10', hint='Latest official figure.') }}
{{ forms.field(f.kickoff, classes='input--w20') }}{{ forms.field(f.country) }}
{{ forms.field(f.challenge, hint='What does your city want to learn?') }}
{{ forms.field(f.letter, accept='application/pdf') }}
{{ forms.field(f.declaration, hint='False statements lead to exclusion.') }}
{{ forms.checkboxes(f.topics, hint='Choose up to three.', columns=True) }}
{{ forms.radios(f.region) }}{{ forms.radios(f.region, inline=True) }}
<table class="table"><tr><th>{{ forms.select_all('case_ids') }}</th><th>Select all</th></tr></table>
{% endmacro %}"""


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(gettempdir()) / "styleguide.html"
    env = Environment(loader=ChoiceLoader([DictLoader({"page": PAGE, "fields": FIELDS}),
                                           FileSystemLoader(ROOT / "templates")]),
                      autoescape=True)
    user = SimpleNamespace(is_authenticated=True, role="coordinator", display_name="Ana Silva")
    env.globals.update(
        url_for=url_for, _=gettext, current_user=user, csrf_token=lambda: "token",
        get_locale=lambda: "en", config={},
        request=SimpleNamespace(endpoint="coordinator.case", path="/cases/1"),
        get_flashed_messages=lambda with_categories=False: [
            ("success", "The case moved to eligibility review."),
            ("error", "Someone else changed this case. Reload the page."),
        ])
    clean, broken = make_forms()
    stages = ["Application", "Eligibility", "Pairing", "Agreement", "Cooperation",
              "Local Action Plan", "Completed"]
    actions = [
        {"label": "Declare eligible", "allowed": True, "url": "#", "name": "declare_eligible"},
        {"label": "Request information", "allowed": True, "url": "#", "style": "secondary",
         "name": "request_information"},
        {"label": "Propose a pairing", "allowed": False, "name": "propose_pairing",
         "reasons": ["The case must be declared eligible first."]},
        {"label": "Close cooperation", "allowed": False, "name": "close_cooperation",
         "reasons": ["18 months have not passed since the start.",
                     "The second progress report is missing."]},
    ]
    events = [
        {"when": "3 May 2024, 10:12", "kind": "transition", "title": "Declared eligible",
         "actor": "Ana Silva", "body": "All rules passed."},
        {"when": "2 May 2024, 16:40", "kind": "comment", "title": "Comment", "internal": True,
         "actor": "Jan Novak", "body": Markup("<p>Check the letters of the group members.</p>")},
        {"when": "1 May 2024, 09:00", "kind": "email", "title": "Submission receipt sent"},
        {"when": "30 April 2024", "kind": "document", "title": "Commitment letter.pdf"},
        {"when": "29 April 2024", "kind": "activity", "title": "Study tour to Curitiba"},
    ]
    comp = env.get_template("macros/components.html").module
    rows = [[Markup('<a href="#">{}</a>').format(f"IUC-{i:03d}"), city, comp.tag(state, kind),
             comp.health_tag(health), f"{pop:,}"]
            for i, (city, state, kind, health, pop) in enumerate([
                ("Ghent", "Eligibility review", "blue", "on_track", 263000),
                ("Thessaloniki-Kalamaria-Pylaia group", "Information requested", "yellow",
                 "at_risk", 410000),
                ("Ljubljana", "Withdrawn", "grey", "off_track", 295000)], start=1)]
    html = env.get_template("page").render(
        fields=env.get_template("fields").module.fields, clean=clean, broken=broken,
        stages=stages, actions=actions, events=events, rows=rows,
        markup=Markup("<ul><li>Energy</li><li>Housing</li></ul>"),
        page_url=lambda p: f"?page={p}")
    out.write_text(html, encoding="utf-8")
    error = env.get_template("errors/error.html").render(
        code=404, title="Page not found", message="If you typed the web address, check it.")
    out.with_name(out.stem + "-error.html").write_text(error, encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
