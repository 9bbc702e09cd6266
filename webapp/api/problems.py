"""Errors of the JSON API as ``application/problem+json`` (RFC 9457).

Every refusal says what went wrong in ``detail``; validation problems list each field in
``errors``; a refused transition lists every unmet condition in ``reasons``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from webapp.errors import Conflict, Forbidden, Invalid, NotFound, OperationError, Refused
from workflows.refusal import Refusal

MEDIA_TYPE = "application/problem+json"

#: problem types beyond the status code; clients may branch on them
INVALID_REQUEST = "urn:citypair:problem:invalid-request"
STALE_VERSION = "urn:citypair:problem:stale-version"
TRANSITION_REFUSED = "urn:citypair:problem:transition-refused"

DETAILS = {
    400: "The request could not be read: send a JSON body with the fields the operation "
         "describes.",
    401: "Send a personal API token: Authorization: Bearer cp_...",
    403: "Your role does not allow this.",
    404: "There is nothing here, or it is not yours to see.",
    405: "This address does not accept that method.",
    413: "The request is too large.",
    422: "Some of the values sent are not valid.",
    429: "Too many requests: wait a minute before you try again.",
    500: "Something went wrong on our side. Nothing was changed; please try again later.",
}


def problem(status: int, detail: str | None = None, *, title: str | None = None,
            type_: str = "about:blank", errors: Any = None,
            reasons: Sequence[Refusal | str] | None = None,
            headers: Mapping[str, str] | None = None, code: str = "") -> Response:
    """A problem document with ``status``; ``errors``, ``reasons`` and ``code`` only when
    given."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or DETAILS.get(status, _phrase(status)),
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    if reasons:
        # English for people, with a stable code per reason for programs (README: the API)
        body["reasons"] = [english(r) for r in reasons]
        body["refusals"] = refusal_documents(reasons)
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def english(reason: Refusal | str) -> str:
    return reason.english if isinstance(reason, Refusal) else str(reason)


def refusal_documents(reasons: Iterable[Refusal | str]) -> list[dict[str, Any]]:
    """Each reason with its stable ``code`` (``refused`` for one that has none) and its
    English ``detail``."""
    return [{"code": r.code if isinstance(r, Refusal) else "refused", "detail": english(r)}
            for r in reasons]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def from_http_exception(exc: HTTPException) -> Response:
    """A problem for an HTTP error, keeping webargs' field errors and the extra headers."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    detail = data.get("message")
    type_ = "about:blank"
    if errors:
        type_ = INVALID_REQUEST
        # webargs keys its messages by location ("json", "query"); that is worth keeping.
        if status == 400 and not detail:
            detail = "The request body is not valid JSON."
        elif not detail:
            detail = "Some of the values sent are not valid: see errors."
    elif status < 500 and exc.description and status not in DETAILS:
        detail = exc.description
    headers = dict(data.get("headers") or {})
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem(status, detail, type_=type_, errors=errors, headers=headers)


def from_operation_error(exc: OperationError) -> Response:
    """A problem for a refusal of the operations layer."""
    # The API speaks English whatever the reader's language; ``code`` names why for programs.
    detail, code = exc.english, exc.code
    if isinstance(exc, Conflict):
        return problem(409, detail, type_=STALE_VERSION, code=code)
    if isinstance(exc, Invalid):
        # Keyed by location, as the schema's own checks are: the same shape for both.
        return problem(422, detail, type_=INVALID_REQUEST, code=code,
                       errors={"json": exc.english_errors})
    if isinstance(exc, Refused):
        return problem(422, detail, title="Transition refused", type_=TRANSITION_REFUSED,
                       reasons=exc.refusals or (exc.said,), code=code)
    if isinstance(exc, (NotFound, Forbidden)):
        return problem(exc.status, detail, code=code)
    return problem(exc.status, detail, reasons=exc.refusals or None, code=code)


def wants_problem() -> bool:
    """Whether the current request is one of the API's (pages keep their HTML errors)."""
    return request.path.startswith("/api/")
