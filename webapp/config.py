"""Settings from the environment, with embedded defaults that need no server.

Unset, citypair runs on a SQLite file, a Celery broker kept in files, and a mail sink folder,
all under the instance folder. ``DATABASE_URL``, ``CELERY_BROKER_URL`` (or ``REDIS_URL``) and
``SMTP_HOST`` switch to PostgreSQL, Redis and a real relay.

In production (``CITYPAIR_ENV=production``, or a ``DATABASE_URL`` naming a database server
without ``CITYPAIR_ENV=development``) the app refuses to start without a ``SECRET_KEY`` of at
least ``MIN_SECRET_LENGTH`` characters; a known placeholder such as ``change-me`` is refused
everywhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from webapp.safety import private_dir

#: the shortest secret key production accepts (48 random URL-safe characters are generated)
MIN_SECRET_LENGTH = 32
#: keys found in examples and tutorials, refused whatever the mode
WEAK_SECRETS = frozenset({
    "change-me", "changeme", "change_me", "changethis", "secret", "secret-key", "secretkey",
    "dev", "development", "default", "please-change", "replace-me", "your-secret-key",
    "citypair", "password", "test", "xxx",
})


class ConfigError(RuntimeError):
    """A setting that must not be used as it is; the message says what to do."""


def production(env: Mapping[str, str] | None = None) -> bool:
    """Whether settings must be production-grade: said outright by ``CITYPAIR_ENV``, or
    implied by a database server in ``DATABASE_URL``."""
    env = os.environ if env is None else env
    mode = env.get("CITYPAIR_ENV", "").strip().lower()
    if mode:
        return mode == "production"
    url = env.get("DATABASE_URL", "")
    return bool(url) and not url.startswith("sqlite")




def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_dir() -> Path:
    """Where the embedded database, broker folders, uploads and mail sink live."""
    return private_dir(Path(os.environ.get("CITYPAIR_INSTANCE", "instance")).resolve())


def _secret_key(instance: Path) -> str:
    given = os.environ.get("SECRET_KEY", "").strip()
    if given.lower() in WEAK_SECRETS:
        raise ConfigError(f"SECRET_KEY is set to the placeholder {given!r}. Set it to a long "
                          "random value, e.g. the output of: python -c \"import secrets; "
                          "print(secrets.token_urlsafe(48))\"")
    if production():
        if len(given) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"In production SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} random "
                "characters (it signs sessions and links). Generate one with: python -c "
                "\"import secrets; print(secrets.token_urlsafe(48))\"")
        return given
    if given:
        return given
    # A key that survives restarts without being committed anywhere, readable by us alone.
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def served_base_url(host: str, port: int) -> str:
    """The address links in e-mails take when the app serves itself on ``host:port``: a
    wildcard host (every interface) is reached on this machine at 127.0.0.1."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The application's settings: environment first, then embedded defaults, then overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    instance = private_dir(Path(overrides.get("INSTANCE_DIR") or instance_dir()))
    redis_url = env.get("REDIS_URL", "")
    broker = env.get("CELERY_BROKER_URL") or redis_url or "filesystem://"
    smtp_host = env.get("SMTP_HOST", "")
    cfg: dict[str, Any] = {
        "INSTANCE_DIR": str(instance),
        # Code that builds its own app (tests, simulations, benchmarks) gives its own key.
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance / 'citypair.sqlite'}",
        "CELERY_BROKER_URL": broker,
        "CELERY_ALWAYS_EAGER": False,
        "REDIS_URL": redis_url,
        "BASE_URL": env.get("BASE_URL", f"http://127.0.0.1:{env.get('PORT', '5000')}"),
        "MAIL_FROM": env.get("MAIL_FROM", "citypair <no-reply@citypair.local>"),
        "SMTP_HOST": smtp_host,
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS")),
        "SMTP_SSL": _bool(env.get("SMTP_SSL")),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT", "10")),
        # RFC 5321 section 4.5.3.2.6: a relay may take ten minutes to answer the end of DATA.
        "SMTP_DATA_TIMEOUT": float(env.get("SMTP_DATA_TIMEOUT", "600")),
        "MAIL_SINK_DIR": env.get("MAIL_SINK_DIR") or str(instance / "mail"),
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(instance / "uploads"),
        "MAX_UPLOAD_BYTES": int(env.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        # Only for a visitor nobody knows while the programmes work in several zones (or none
        # exists yet); everyone else sees their own zone, a call page the call's.
        "PROGRAMME_TIMEZONE": env.get("PROGRAMME_TIMEZONE", "Europe/Brussels"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # With Redis down, limits are counted in each process instead of failing every
        # sign-in with a 500; they return to Redis once it answers again.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        #: a signed-in session ends this long after sign-in, and after this long unused
        "SESSION_LIFETIME_HOURS": float(env.get("SESSION_LIFETIME_HOURS", "12")),
        "SESSION_IDLE_MINUTES": float(env.get("SESSION_IDLE_MINUTES", "120")),
        #: wrong passwords in a row that lock an account, and for how long
        "LOGIN_LOCK_AFTER": int(env.get("LOGIN_LOCK_AFTER", "5")),
        "LOGIN_LOCK_MINUTES": float(env.get("LOGIN_LOCK_MINUTES", "15")),
        #: a new API token's lifetime unless its owner chooses, and the longest allowed
        "API_TOKEN_DAYS": int(env.get("API_TOKEN_DAYS", "90")),
        "API_TOKEN_MAX_DAYS": int(env.get("API_TOKEN_MAX_DAYS", "365")),
        #: the PostgreSQL role the running app connects as; init-db grants it what it needs
        "DATABASE_APP_ROLE": env.get("DATABASE_APP_ROLE", ""),
        #: reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_REQUEST_BYTES", str(12 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Brussels",
        "LANGUAGES": ("en", "fr", "es", "pt"),
        "DELIVERY_MAX_ATTEMPTS": int(env.get("DELIVERY_MAX_ATTEMPTS", "40")),
        # A rush of due reminders in a few transactions, each holding its locks under a second.
        "SWEEP_BATCH": int(env.get("SWEEP_BATCH", "5000")),
        "STALE_PENDING_SECONDS": int(env.get("STALE_PENDING_SECONDS", "120")),
        # Longer than one message may take: the commands and the wait for the end of DATA.
        "SENDING_TIMEOUT_SECONDS": int(env.get("SENDING_TIMEOUT_SECONDS", "900")),
        "DELIVERY_BACKOFF_SECONDS": float(env.get("DELIVERY_BACKOFF_SECONDS", "30")),
        "DELIVERY_BACKOFF_MAX_SECONDS": float(env.get("DELIVERY_BACKOFF_MAX_SECONDS", "3600")),
        "DELIVERY_RETRY_FOR_SECONDS": float(env.get("DELIVERY_RETRY_FOR_SECONDS", "86400")),
        "DIGEST_HOUR": int(env.get("DIGEST_HOUR", "7")),
        "CONTROLLER_NAME": env.get("CONTROLLER_NAME", ""),
        "CONTACT_EMAIL": env.get("CONTACT_EMAIL", ""),
        "DPO_EMAIL": env.get("DPO_EMAIL", ""),
        "ACCESSIBILITY_CONTACT": env.get("ACCESSIBILITY_CONTACT", ""),
        "ACCESSIBILITY_REVIEWED": env.get("ACCESSIBILITY_REVIEWED", ""),
        #: unsuccessful applications are deleted this many years after their call closed
        "RETENTION_YEARS": int(env.get("RETENTION_YEARS", "5")),
        #: partnerships to reach, for programmes that set no targets of their own
        "PROGRAMME_TARGETS": {"city_partnerships": 10, "regional_partnerships": 10},
        "TESTING": False,
    }
    cfg.update(overrides)
    # The cookie's own signature expires with the session, whatever the server remembers.
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=cfg["SESSION_LIFETIME_HOURS"])
    return cfg
