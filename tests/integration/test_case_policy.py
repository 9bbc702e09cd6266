"""The one case loader: who gets the case, a 403 or a 404, under each named policy."""

from __future__ import annotations

import pytest

from tests.factories import complete_application, user
from tests.integration.test_programme_scope import _second_programme, _submitted
from webapp.access import HIDDEN, SCOPED, Denial, denial, load_case, refusal
from webapp.db import db
from webapp.errors import Forbidden, NotFound
from webapp.models import Case, UserRole
from webapp.operations import applications

#: who asks -> (why they are denied, SCOPED's answer, HIDDEN's answer); None: they see it
TABLE = {
    "admin": (None, None, None),
    "coordinator": (None, None, None),
    "coordinator_latam": (None, None, None),
    "coordinator_asia": (Denial.OTHER_REGION, 403, 404),
    "other_programme": (Denial.OTHER_PROGRAMME, 404, 404),
    "applicant_a": (None, None, None),
    "applicant_b": (Denial.NOT_THEIRS, 404, 404),
    "partner": (Denial.NOT_THEIRS, 404, 404),
}


@pytest.fixture
def people(world):
    other = _second_programme(world)
    na_only = user("na-only@iuc.eu", UserRole.COORDINATOR, programmes=[other.programme])
    db.session.commit()
    found = {name: getattr(world, name) for name in TABLE if name != "other_programme"}
    found["other_programme"] = na_only
    return found


@pytest.fixture
def case(world) -> Case:
    # Lyon's draft, looking for a partner in Latin America; no partner city yet.
    draft = applications.start_application(world.applicant_a, world.call.id)
    return complete_application(draft)


@pytest.mark.parametrize("who", list(TABLE))
def test_each_role_is_answered_as_the_policy_table_says(people, case, who):
    person = people[who]
    why, scoped, hidden = TABLE[who]
    assert denial(person, case) == why
    assert refusal(person, case) == scoped == SCOPED.status(why)
    assert refusal(person, case, HIDDEN) == hidden
    if scoped is None:
        assert load_case(case.id, person).id == case.id
    else:
        with pytest.raises(NotFound if scoped == 404 else Forbidden) as caught:
            load_case(case.id, person)
        assert caught.value.status == scoped
        assert caught.value.message == (SCOPED.not_found if scoped == 404 else SCOPED.forbidden)
    if hidden is not None:
        with pytest.raises(NotFound):
            load_case(case.id, person, policy=HIDDEN)


def test_a_case_there_is_none_of_is_not_found_under_every_policy(people, world):
    for policy in (SCOPED, HIDDEN):
        with pytest.raises(NotFound) as caught:
            load_case(999_999, world.admin, policy=policy)
        assert caught.value.message == "There is no such case."


def test_every_policy_answers_every_denial():
    for policy in (SCOPED, HIDDEN):
        assert set(policy.statuses) == set(Denial)
        assert set(policy.statuses.values()) <= {403, 404}


def test_pages_answer_with_the_site_404_and_403(world, make_browser):
    other_call = _second_programme(world)
    mine = _submitted(world, world.applicant_a, world.call)
    theirs = _submitted(world, world.applicant_b, other_call)
    iuc_only = user("iuc-only@iuc.eu", UserRole.COORDINATOR, programmes=[world.programme])
    db.session.commit()
    asia = make_browser()
    asia.login(world.coordinator_asia.email)
    # Another region's case of one's own programme: refused, and the page says so.
    assert asia.get(f"/office/cases/{mine.id}").status_code == 403
    assert asia.get(f"/cooperation/cases/{mine.id}").status_code == 403
    scoped = make_browser()
    scoped.login(iuc_only.email)
    # Another programme's case does not exist, on every blueprint the loader serves.
    for url in (f"/office/cases/{theirs.id}", f"/office/pairing/cases/{theirs.id}",
                f"/cooperation/cases/{theirs.id}", f"/agreements/{theirs.id}"):
        assert scoped.get(url).status_code == 404, url
    porto = make_browser()
    porto.login(world.applicant_b.email)
    assert porto.get(f"/my/cases/{mine.id}").status_code == 404
    assert porto.get(f"/my/cases/{theirs.id}").status_code == 200


def test_the_api_answers_with_the_policy_messages(world, app):
    from webapp.operations import tokens

    mine = _submitted(world, world.applicant_a, world.call)
    client = app.test_client()
    for person, status, detail in ((world.coordinator_asia, 403, SCOPED.forbidden),
                                   (world.applicant_b, 404, SCOPED.not_found)):
        secret = tokens.create_token(person, "policy").secret
        resp = client.get(f"/api/v1/cases/{mine.id}",
                          headers={"Authorization": f"Bearer {secret}"})
        assert resp.status_code == status
        assert resp.get_json()["detail"] == detail
