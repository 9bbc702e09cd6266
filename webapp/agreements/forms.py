"""Forms of the agreement page: the two ways to sign, and regenerating."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from webapp.forms import Form, NoScript

_HASH = [InputRequired(_l("The page was sent without the agreement it showed. Reload the page "
                       "and sign again.")), Length(min=64, max=64)]


def _name() -> StringField:
    return StringField(_l("Full name"), [InputRequired(_l("Enter the signatory's full name.")),
                                     Length(max=200), NoScript()])


def _title() -> StringField:
    return StringField(_l("Title or function"), [
        InputRequired(_l("Enter the signatory's title or function, for example Mayor.")),
        Length(max=200), NoScript()], description=_l("For example Mayor or Head of International "
                                                  "Relations."))


class TypedSignatureForm(Form):
    """A typed electronic signature: who signs, as what, and their consent."""

    #: the content hash of the version shown on the page
    agreement_hash = HiddenField(validators=_HASH)
    full_name = _name()
    title = _title()
    consent = BooleanField(
        _l("I have read this version of the agreement and I sign it on behalf of my "
        "organisation. My typed name has the same effect as my handwritten signature."),
        [DataRequired(_l("Tick the box to confirm that you sign the agreement."))])


class UploadSignatureForm(Form):
    """The agreement signed by hand, uploaded as a PDF, and who signed it."""

    agreement_hash = HiddenField(validators=_HASH)
    signed_pdf = FileField(_l("The signed agreement, as a PDF"),
                           [FileRequired(_l("Select the signed agreement (a PDF file)."))])
    full_name = _name()
    title = _title()


class RegenerateForm(Form):
    """A coordinator issues a new version; the reason is kept and sent to the parties."""

    reason = TextAreaField(_l("Why is a new version needed?"), [
        InputRequired(_l("Enter the reason for the new version.")), Length(max=4000), NoScript()],
        description=_l("Sent to both parties, who must sign the new version again."))
