"""The real app with its rate limits switched on, driven in a process of its own.

The limiter is a process-wide singleton that the shared test app configures switched off, so
tests/integration/test_rate_limits.py runs its scenarios here instead:

    python -m tests.rate_limited_app '{"storage": "memory://", "prefix": "...",
                                       "folder": "/tmp/...", "scenarios": {"login": {...}}}'

It builds the app on a fresh SQLite file in ``folder``, runs each scenario through Flask's
test client (every limited route counts on its own, so scenarios do not disturb each other)
and prints one JSON document keyed by scenario: each answer's status, media type and body,
and what the database holds afterwards.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


def build(settings: dict[str, Any]):
    """The app with its limits on, on an empty, migrated SQLite database."""
    from webapp import create_app
    from webapp.cli import upgrade_database
    from webapp.db import db
    from webapp.mail import outbox
    from webapp.operations import accounts

    # Cheap hashes: the limits are under test here, not Argon2's cost (a quarter second each).
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    folder = Path(settings["folder"])
    app = create_app({
        "DATABASE_URL": f"sqlite:///{folder / 'citypair.sqlite'}", "INSTANCE_DIR": str(folder),
        "MAIL_SINK_DIR": str(folder / "mail"), "UPLOAD_DIR": str(folder / "up"),
        "SECRET_KEY": "rate-limit-test", "SMTP_HOST": "", "BASE_URL": "http://localhost",
        "TESTING": True, "RATELIMIT_ENABLED": True,
        # The limits are under test here, not the lockout of an account after wrong passwords.
        "LOGIN_LOCK_AFTER": 1000,
        "RATELIMIT_STORAGE_URI": settings["storage"],
        "RATELIMIT_KEY_PREFIX": settings.get("prefix", ""),
    })
    with app.app_context():
        upgrade_database(app)
        db.session.remove()
    # Notifications stay rows: this process has no workers to hand them to.
    outbox.set_dispatcher(lambda ids: None)
    return app


def answer(resp, keep_body: bool = True) -> dict[str, Any]:
    return {"status": resp.status_code, "mimetype": resp.mimetype,
            "body": resp.get_data(as_text=True) if keep_body else None}


class Visitor:
    """A test client from one address that carries the CSRF token of its last page."""

    def __init__(self, app, address: str = "127.0.0.1"):
        self.client = app.test_client()
        self.environ = {"REMOTE_ADDR": address}
        self.token = ""

    def _remember(self, resp):
        m = TOKEN.search(resp.get_data(as_text=True))
        if m:
            self.token = m.group(1)
        return resp

    def get(self, url: str, **kw):
        return self._remember(self.client.get(url, environ_base=self.environ, **kw))

    def post(self, url: str, data: dict[str, str]):
        return self._remember(self.client.post(url, data={**data, "csrf_token": self.token},
                                               environ_base=self.environ))


def _person(app, email: str, role: str = "applicant") -> int:
    """The id of a confirmed account with ``email``, made if it does not exist yet."""
    from tests.factories import user
    from webapp.db import db
    from webapp.models import User

    with app.app_context():
        try:
            found = db.session.scalar(select(User.id).where(User.email == email))
            if found is None:
                made = user(email, role)
                db.session.commit()
                found = made.id
            return found
        finally:
            db.session.remove()


def _count(app, model, *where) -> int:
    from webapp.db import db

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(model).where(*where))
        finally:
            db.session.remove()


def login(app, wrong: int) -> dict[str, Any]:
    """A right sign-in, ``wrong`` wrong passwords (for another account, which they lock) and
    a right one again for each account, all from one address; then the login page, and a
    wrong password from another address."""
    _person(app, "anna@lyon.fr")
    _person(app, "bruno@porto.pt")
    first = Visitor(app)
    first.get("/account/login")
    right_first = first.post("/account/login", {"email": "anna@lyon.fr", "password": PASSWORD})
    guesser = Visitor(app)
    guesser.get("/account/login")
    wrongs = [answer(guesser.post("/account/login", {"email": "bruno@porto.pt",
                                                     "password": f"guess number {n}"}))
              for n in range(wrong)]
    guessed = guesser.post("/account/login", {"email": "Bruno@Porto.pt ", "password": PASSWORD})
    late = Visitor(app)
    page = late.get("/account/login")
    right_late = late.post("/account/login", {"email": "anna@lyon.fr", "password": PASSWORD})
    elsewhere = Visitor(app, "192.0.2.7")
    elsewhere.get("/account/login")
    other_address = elsewhere.post("/account/login",
                                   {"email": "nobody@lyon.fr", "password": "wrong password"})
    return {"right_first": answer(right_first, keep_body=False), "wrong": wrongs,
            "guessed_account_late": answer(guessed), "page_after": answer(page, keep_body=False),
            "right_late": answer(right_late, keep_body=False),
            "other_address": answer(other_address)}


def office(app, people: int) -> dict[str, Any]:
    """``people`` colleagues sign in from one office address, each with their own account;
    then one more from the same address."""
    for n in range(people + 1):
        _person(app, f"officer{n}@iuc.eu", "coordinator")
    statuses = []
    for n in range(people + 1):
        visitor = Visitor(app, "198.51.100.10")
        visitor.get("/account/login")
        statuses.append(visitor.post("/account/login", {"email": f"officer{n}@iuc.eu",
                                                        "password": PASSWORD}).status_code)
    return {"statuses": statuses}


def forgot(app, count: int) -> dict[str, Any]:
    """``count`` requests for a reset link for one known address, from one address."""
    from webapp.models import Notification

    _person(app, "anna@lyon.fr")
    visitor = Visitor(app)
    visitor.get("/account/forgot")
    answers = [answer(visitor.post("/account/forgot", {"email": "anna@lyon.fr"}))
               for _ in range(count)]
    return {"answers": answers,
            "reset_mails": _count(app, Notification, Notification.template == "password_reset")}


def register(app, count: int) -> dict[str, Any]:
    """``count`` complete registrations, each for a new address, from one address."""
    from webapp.db import db
    from webapp.models import Organisation, User

    visitor = Visitor(app)
    visitor.get("/account/register")
    answers = [answer(visitor.post("/account/register", {
        "name": f"Person {n}", "email": f"person{n}@city.eu", "organisation_name": f"City {n}",
        "organisation_kind": "city", "country": "FR", "password": "long enough pw",
        "confirm": "long enough pw", "privacy": "y"})) for n in range(count)]
    with app.app_context():
        emails = sorted(db.session.scalars(select(User.email)
                                           .where(User.email.like("person%@city.eu"))))
        db.session.remove()
    return {"answers": answers, "emails": emails,
            "organisations": _count(app, Organisation, Organisation.name.like("City %"))}


def mailing_list(app, count: int) -> dict[str, Any]:
    """``count`` subscriptions to the mailing list, each for a new address, from one address."""
    from webapp.models import MailingSubscriber

    visitor = Visitor(app)
    visitor.get("/mailing-list")
    answers = [answer(visitor.post("/mailing-list", {"email": f"reader{n}@city.eu",
                                                     "language": "en"}), keep_body=n >= count - 2)
               for n in range(count)]
    return {"answers": answers, "subscribers": _count(app, MailingSubscriber)}


def api(app, count: int) -> dict[str, Any]:
    """``count`` reads of /api/v1/calls with a token, then one without a token."""
    from webapp.db import db
    from webapp.models import User
    from webapp.operations import tokens

    user_id = _person(app, "admin@iuc.eu", "admin")
    with app.app_context():
        secret = tokens.create_token(db.session.get(User, user_id), "rate limits").secret
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    statuses: list[int] = []
    refused = []
    for _ in range(count):
        resp = client.get("/api/v1/calls", headers=headers)
        statuses.append(resp.status_code)
        if resp.status_code != 200 and len(refused) < 3:
            refused.append(answer(resp))
    return {"statuses": statuses, "refused": refused,
            "anonymous": answer(client.get("/api/v1/calls")),
            "public_page": answer(client.get("/account/login"), keep_body=False)}


SCENARIOS = {"login": login, "office": office, "forgot": forgot, "register": register,
             "mailing_list": mailing_list, "api": api}


def main(argv: list[str]) -> None:
    settings = json.loads(argv[1])
    app = build(settings)
    results = {name: SCENARIOS[name](app, **params)
               for name, params in settings["scenarios"].items()}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv)
