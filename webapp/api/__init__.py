"""The JSON API under ``/api/v1``, described by the OpenAPI document at
``/api/v1/openapi.json``.

Callers authenticate with a personal API token (``Authorization: Bearer cp_...``) instead of
a session cookie, so the API needs no CSRF token. Who may call what comes from
``webapp.authz``; errors are ``application/problem+json``.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from webapp.api import problems
from webapp.api.schemas import ProblemSchema
from webapp.extensions import csrf

API_DESCRIPTION = (
    "Calls, cases and their transitions, pairings, deliverables and the public pairings of "
    "citypair. Authenticate with a personal API token created on /account/tokens: "
    "`Authorization: Bearer cp_...`. A token has scopes, chosen when it is made: `read` "
    "allows every GET, `write` also the operations that change something (marked "
    "`x-required-scope: write`); a read-only token gets a 403 there. A token ends at its "
    "expiry date, when revoked, at its owner's password reset and when the account is "
    "closed (then a 401). Errors are `application/problem+json`; a refused transition lists "
    "its reasons, a stale `expected_version` is a 409."
)


class ProblemApi(Api):
    """flask-smorest's Api whose errors are problem documents."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        # Pages outside the API keep the HTML error the app would have shown.
        if not problems.wants_problem():
            return error
        return problems.from_http_exception(error)

    def _register_responses(self) -> None:
        # The documented error responses carry the problem media type, as the API sends them.
        saved = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.MEDIA_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


def init_app(app: Flask) -> ProblemApi:
    """Mount the API and its OpenAPI document on ``app``."""
    from webapp.api.views import blp

    app.config.setdefault("API_TITLE", "citypair API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": API_DESCRIPTION,
                 "license": {"name": "EUPL-1.2"}},
        "servers": [{"url": "/", "description": "this citypair"}],
        "security": [{"bearerAuth": []}],
    })
    api = ProblemApi(app)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "bearerFormat": "cp_ personal API token",
        "description": "A personal API token, created on /account/tokens, with the scope "
                       "`read` (every GET) or `read write` (also the operations marked "
                       "`x-required-scope: write`) and an expiry date.",
    })
    api.register_blueprint(blp)
    csrf.exempt(blp)
    return api
