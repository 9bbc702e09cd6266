"""citypair's Flask shell: ``create_app`` is the one app factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request, session
from flask_login import current_user
from jinja2 import FileSystemBytecodeCache
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import load_config
from webapp.db import db
from webapp.errors import OperationError
from webapp.extensions import babel, csrf, limiter, login_manager

ROOT = Path(__file__).resolve().parent.parent

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the web application from the environment and ``overrides``."""
    # Whatever this process writes (database, uploads, mail sink, broker files) is its own.
    os.umask(0o077)
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_path=None)
    app.config.update(load_config(overrides))
    # Templates compiled once per deployment, not once per process start; outside debug Flask
    # already skips the per-render check of the template files (auto_reload).
    cache = Path(app.config["INSTANCE_DIR"]) / "jinja-cache"
    cache.mkdir(parents=True, exist_ok=True)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": FileSystemBytecodeCache(str(cache))}
    if app.config["TRUSTED_PROXIES"] > 0:
        # Only then is X-Forwarded-For believed: the client address is the one the nearest
        # trusted proxy saw, for rate limits and the audit trail alike.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations need not narrate
    db.configure(app.config["DATABASE_URL"])

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    from webapp import i18n

    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    i18n.init_app(app)
    from webapp import richtext
    from webapp.views import flow, words
    from workflows.engine import Purpose

    # Pages and e-mails ask a case's or a call's vocabulary how to name things, and its
    # definition which transition serves which purpose.
    app.jinja_env.globals["words"] = words
    app.jinja_env.globals["flow"] = flow
    app.jinja_env.globals["purposes"] = Purpose
    app.jinja_env.filters["rich"] = richtext.render

    from webapp.agreements import bp as agreements_bp
    from webapp.applicant import bp as applicant_bp
    from webapp.auth import bp as auth_bp
    from webapp.calls import bp as calls_bp
    from webapp.calls import programmes_bp
    from webapp.cooperation import bp as cooperation_bp
    from webapp.coordinator import bp as coordinator_bp
    from webapp.emails import bp as emails_bp
    from webapp.notifications import bp as notifications_bp
    from webapp.pairing import bp as pairing_bp
    from webapp.privacy import bp as privacy_bp
    from webapp.public import bp as public_bp
    from webapp.safety import IdConverter, refuse_nul_bytes
    from webapp.staff import bp as staff_bp
    from webapp.tokens import bp as tokens_bp
    from webapp.vocabulary import bp as vocabulary_bp

    # Ids beyond what the columns hold are 404s before any query runs.
    app.url_map.converters["int"] = IdConverter
    for bp in (public_bp, auth_bp, applicant_bp, coordinator_bp, pairing_bp,
               agreements_bp, tokens_bp, notifications_bp, cooperation_bp, privacy_bp, staff_bp,
               vocabulary_bp, emails_bp, calls_bp, programmes_bp):
        app.register_blueprint(bp)
    from webapp.api import init_app as init_api

    init_api(app)
    app.before_request(refuse_nul_bytes)

    from tasks import bind_celery

    bind_celery(app)
    _register_hooks(app)
    return app


@login_manager.user_loader
def _load_user(user_key: str):
    from webapp.operations import accounts

    # The cookie names the person; the server decides whether that session still holds.
    return accounts.session_user(user_key, session.get(accounts.SESSION_KEY))


def _register_hooks(app: Flask) -> None:
    @app.teardown_appcontext
    def _remove_session(exc: BaseException | None) -> None:
        db.session.remove()

    @app.teardown_request
    def _close_uploads(exc: BaseException | None) -> None:
        # Large uploads are spooled to temporary files; close them whatever the view did.
        if "files" in request.__dict__:
            for upload in request.files.values():
                upload.close()

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy",
                                    "geolocation=(), camera=(), microphone=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        # What a signed-in person sees, any export and any API answer stays out of every
        # cache, shared or the browser's; public pages and static files may be kept.
        private = request.path.startswith("/api/") or (
            request.endpoint != "static" and "_user_id" in session)
        if private:
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Pragma", "no-cache")
        return response

    @app.context_processor
    def _globals():
        from webapp.views import SCREENS

        return {"current_user": current_user, "screens": SCREENS}

    @app.get("/healthz")
    def healthz():
        """The state of the database and the broker, as JSON."""
        status: dict[str, Any] = {}
        try:
            db.session.execute(text("SELECT 1"))
            status["database"] = {"ok": True, "dialect": db.dialect}
        except Exception as exc:  # the point is to report it, not to fail
            status["database"] = {"ok": False, "error": type(exc).__name__}
        from tasks import broker_status

        status["broker"] = broker_status()
        ok = all(part["ok"] for part in status.values())
        status["ok"] = ok
        return jsonify(status), 200 if ok else 503

    def _wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == \
            "application/json"

    def _error(code: int, title: str, message: str):
        if _wants_json():
            resp = jsonify({"type": "about:blank", "title": title, "status": code,
                            "detail": message})
            resp.status_code = code
            resp.mimetype = "application/problem+json"
            return resp
        return render_template("errors/error.html", code=code, title=title,
                               message=message), code

    @app.errorhandler(OperationError)
    def _operation_error(exc: OperationError):
        return _error(exc.status, "Not possible", exc.message)

    for code, title, message in (
        (400, "Bad request", "The request could not be understood. If you were filling in a "
                             "form, go back and submit it again."),
        (403, "Not allowed", "You do not have access to this page."),
        (404, "Page not found", "If you typed the web address, check it is correct."),
        (405, "Not allowed", "This page cannot be used that way."),
        (413, "Too large", "The file or form you sent is too large."),
        (429, "Too many attempts", "Please wait a few minutes before you try again."),
        (500, "Sorry, there is a problem", "Please try again later. Nothing you saved is lost."),
    ):
        app.register_error_handler(
            code, lambda exc, c=code, t=title, m=message: _error(c, t, m))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return _error(400, "Your session expired",
                      "The form was sent without a valid security token. Go back, reload the "
                      "page and submit it again.")

    @app.before_request
    def _remember_address() -> None:
        g.source_address = request.remote_addr or ""
