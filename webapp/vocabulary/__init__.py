"""The topic vocabulary: admins add topics, rename them per language, retire, bring back
and merge them (operations in webapp/operations/vocabulary.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from webapp.db import db
from webapp.errors import OperationError
from webapp.forms import Form, NoScript, choices
from webapp.i18n import LANGUAGE_NAMES
from webapp.models import Topic
from webapp.models.organisation import TOPIC_LANGUAGES
from webapp.operations import vocabulary
from webapp.views import admins_only

bp = Blueprint("vocabulary", __name__, url_prefix="/office/admin/topics")

FAMILIES = {"theme": _l("Theme"), "sdg": _l("Sustainable Development Goal")}


def _label(language: str) -> StringField:
    name = LANGUAGE_NAMES[language]
    if language == "en":
        return StringField(_l("Label in %(language)s", language=name),
                           [InputRequired(_l("Give the topic an English label.")),
                            Length(max=vocabulary.MAX_LABEL), NoScript()])
    return StringField(_l("Label in %(language)s", language=name),
                       [Length(max=vocabulary.MAX_LABEL), NoScript()],
                       description=_l("Left empty, readers of this language see the English "
                                      "label."))


class LabelsForm(Form):
    label_en = _label("en")
    label_fr = _label("fr")
    label_es = _label("es")
    label_pt = _label("pt")

    def labels(self) -> dict[str, str]:
        """The labels typed, by language."""
        return {lang: self[f"label_{lang}"].data or "" for lang in ("en", *TOPIC_LANGUAGES)}


class NewTopicForm(LabelsForm):
    family = RadioField(_l("Kind of topic"), choices=choices(FAMILIES.items()), default="theme",
                        validators=[InputRequired(_l("Choose the kind of topic."))])


class MergeForm(Form):
    survivor = SelectField(_l("Merge into"), choices=[],
                           validators=[InputRequired(_l("Choose the topic to merge into."))])


bp.before_request(admins_only)


def _source() -> str:
    return g.get("source_address", "")


@bp.get("")
def topics():
    """Every topic: its labels, its state and how many cases and partner cities have it."""
    return render_template("vocabulary/topics.html", rows=vocabulary.vocabulary_page(db.session),
                           families=FAMILIES)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a topic; its code is made from the English label."""
    form = NewTopicForm()
    if form.validate_on_submit():
        try:
            topic = vocabulary.add_topic(current_user, labels=form.labels(),
                                         family=form.family.data, source_address=_source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("The topic “%(label)s” is added with the code %(slug)s.",
                    label=topic.label_en, slug=topic.slug), "success")
            return redirect(url_for("vocabulary.topic", topic=topic.slug), 303)
    return render_template("vocabulary/new.html", form=form), 400 if form.is_submitted() else 200


def _topic(slug: str) -> Topic:
    topic = db.session.get(Topic, slug)
    if topic is None:
        abort(404)
    return topic


def _page(topic: Topic, status: int = 200, **forms: Any):
    """The topic's page, with a form sent back with what was typed and its errors."""
    labels_form = forms.get("labels_form") or LabelsForm(formdata=None, data={
        f"label_{lang}": text for lang, text in
        {"en": topic.label_en, **(topic.labels or {})}.items()})
    merge_form = forms.get("merge_form") or MergeForm(formdata=None)
    merge_form.survivor.choices = choices([("", _("Choose a topic")), *(
        (t.slug, f"{t.label_en} ({t.slug})") for t in vocabulary.offered(db.session)
        if t.slug != topic.slug)])
    cases, cities = vocabulary.usage(db.session, topic.slug)
    errors = forms.get("errors") or []
    return render_template(
        "vocabulary/topic.html", topic=topic, cases=cases, partner_cities=cities,
        families=FAMILIES,
        labels_form=labels_form, merge_form=merge_form, errors=errors,
        survivor=db.session.get(Topic, topic.merged_into) if topic.merged_into else None,
        events=vocabulary.history(db.session, topic.slug),
        has_errors=bool(errors or labels_form.errors or merge_form.errors
                        or labels_form.form_errors or merge_form.form_errors)), status


@bp.route("/<topic>", methods=["GET", "POST"])
def topic(topic: str):
    """A topic: its labels in every language (changed here), its use and its history."""
    found = _topic(topic)
    form = LabelsForm()
    if not form.is_submitted():
        return _page(found)
    if form.validate():
        try:
            vocabulary.rename_topic(current_user, found.slug, form.labels(), _source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("The labels are saved."), "success")
            return redirect(url_for("vocabulary.topic", topic=found.slug), 303)
    return _page(found, 400, labels_form=form)


def _act(topic: str, operation, message: str):
    found = _topic(topic)
    try:
        operation(current_user, found.slug, _source())
    except OperationError as exc:
        return _page(found, 400, errors=[(None, exc.message)])
    flash(message, "success")
    return redirect(url_for("vocabulary.topic", topic=found.slug), 303)


@bp.post("/<topic>/retire")
def retire(topic: str):
    return _act(topic, vocabulary.retire_topic, _("The topic is retired: it stays on the cases "
                                                   "and partner cities that have it and is no "
                                                   "longer offered."))


@bp.post("/<topic>/reinstate")
def reinstate(topic: str):
    return _act(topic, vocabulary.reinstate_topic, _("The topic is offered again."))


@bp.post("/<topic>/merge")
def merge(topic: str):
    found = _topic(topic)
    form = MergeForm()
    form.survivor.choices = choices([("", ""), *((t.slug, t.slug)
                                                for t in vocabulary.offered(db.session))])
    if form.validate():
        try:
            done = vocabulary.merge_topics(current_user, found.slug, form.survivor.data,
                                           _source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("Merged: %(cases)d case(s) and %(cities)d partner city(ies) now have "
                    "“%(survivor)s” instead.", cases=done.cases, cities=done.partner_cities,
                    survivor=done.survivor), "success")
            return redirect(url_for("vocabulary.topic", topic=done.survivor), 303)
    return _page(found, 400, merge_form=form)
