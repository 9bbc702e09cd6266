"""The OpenAPI document is valid OpenAPI 3, and requests generated from it never make the
server fail."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.factories import complete_application
from webapp.db import db
from webapp.models import Case
from webapp.operations import applications, cases, tokens

pytestmark = pytest.mark.integration


@pytest.fixture
def admin_token(world) -> str:
    # Something to find: a paired case, so generated ids sometimes hit a real one.
    draft = applications.start_application(world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, draft.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    return tokens.create_token(world.admin, "schemathesis").secret


def test_no_generated_request_makes_the_server_fail(app, admin_token):
    # Loading the document is itself a validation of it as OpenAPI 3.
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) == 21

    for operation in operations:
        # Each operation gets its own bounded run; a failure names the operation.
        generated = st.one_of(operation.as_strategy(),
                              operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

        @given(case=generated)
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()


def test_the_document_is_openapi_3_with_every_operation(app, world):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    doc = loaded.raw_schema
    assert doc["openapi"] == "3.0.3"
    operations = {(method.upper(), path) for path, item in doc["paths"].items()
                  for method in item if method in ("get", "post", "patch")}
    assert ("POST", "/api/v1/cases/{case_id}/transitions/{name}") in operations
    assert ("PATCH", "/api/v1/calls/{call_id}") in operations
    assert ("POST", "/api/v1/programmes") in operations
    assert ("GET", "/api/v1/me/data") in operations
    assert len(operations) == 21
