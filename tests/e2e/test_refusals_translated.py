"""A refusal's reason is said in the reader's language: a French-speaking applicant who tries to
submit an incomplete application reads why in French, the section names included."""

from __future__ import annotations

import pytest

from tests.e2e.test_journey import sign_in
from webapp.db import db
from webapp.models import User
from webapp.operations import applications

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]


def test_a_french_applicant_reads_why_submitting_is_refused_in_french(world, live, pages):
    case = applications.start_application(world.applicant_a, world.call.id)
    person = db.session.get(User, world.applicant_a.id)
    person.locale = "fr"
    db.session.commit()
    page = sign_in(pages, world.applicant_a.email)
    page.goto(f"/my/cases/{case.id}/check")
    reasons = page.locator("#action-submit-reasons")
    text = reasons.inner_text()
    # the guards' message ids, translated, with the definition's section names in French
    assert "Complétez d’abord ces sections" in text, text
    assert "Prenez d’abord ces engagements" in text, text
    assert "Thèmes prioritaires et défi" in text, text  # a section named in French
    assert "Coopérer avec la ville partenaire" in text, text  # a commitment too
    assert "Complete these sections first" not in text
    pages.check(page, "the check page of an incomplete application, in French")
    pages.assert_clean()
