"""Refusals of the operations layer become flashed errors and a redirect, in one helper."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from werkzeug.exceptions import HTTPException

from webapp.errors import Conflict, NotFound, OperationError, Refused
from webapp.operations.cases import PayloadError
from webapp.views import refusals_flashed

pytestmark = pytest.mark.integration


def answered(app, exc: Exception, **kw):
    """What the helper makes of ``exc``: the response it aborts with and what it flashed."""
    with app.test_request_context("/"):
        with pytest.raises(HTTPException) as caught, refusals_flashed("/back", **kw):
            raise exc
        return caught.value.get_response(), get_flashed_messages(with_categories=True)


def test_each_reason_of_a_refusal_is_flashed_and_the_person_sent_back(app):
    resp, flashed = answered(app, Refused("Not now.", ("No partner yet.", "No topics.")))
    assert resp.status_code == 303 and resp.headers["Location"] == "/back"
    assert flashed == [("error", "No partner yet."), ("error", "No topics.")]


def test_a_refusal_without_reasons_flashes_its_message(app):
    resp, flashed = answered(app, Conflict("Someone else changed it."), code=302)
    assert resp.status_code == 302
    assert flashed == [("error", "Someone else changed it.")]


def test_each_refused_value_of_a_payload_is_flashed(app):
    _resp, flashed = answered(app, PayloadError({"reason": ["Say why."], "at": ["A date."]}))
    assert flashed == [("error", "Say why."), ("error", "A date.")]


def test_passing_statuses_go_on_to_the_error_pages(app):
    with app.test_request_context("/"):
        with pytest.raises(NotFound), refusals_flashed("/back", passing=(403, 404)):
            raise NotFound("There is no such case.")
        assert get_flashed_messages() == []


def test_only_the_caught_kinds_are_turned_into_a_redirect(app):
    with app.test_request_context("/"):
        with pytest.raises(OperationError), refusals_flashed("/back", catch=(Refused,)):
            raise OperationError("Something else.")
        assert get_flashed_messages() == []


def test_nothing_happens_when_the_operation_succeeds(app):
    with app.test_request_context("/"):
        with refusals_flashed("/back"):
            done = True
        assert done and get_flashed_messages() == []
