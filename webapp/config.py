"""Settings from the environment, with embedded defaults that need no server.

Unset, citypair runs on a SQLite file, a Celery broker kept in files, and a mail sink folder,
all under the instance folder. ``DATABASE_URL``, ``CELERY_BROKER_URL`` (or ``REDIS_URL``) and
``SMTP_HOST`` switch to PostgreSQL, Redis and a real relay.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_dir() -> Path:
    """Where the embedded database, broker folders, uploads and mail sink live."""
    path = Path(os.environ.get("CITYPAIR_INSTANCE", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path) -> str:
    # A key that survives restarts without being committed anywhere.
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The application's settings: environment first, then embedded defaults, then overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_DIR") or instance_dir())
    instance.mkdir(parents=True, exist_ok=True)
    redis_url = env.get("REDIS_URL", "")
    broker = env.get("CELERY_BROKER_URL") or redis_url or "filesystem://"
    smtp_host = env.get("SMTP_HOST", "")
    cfg: dict[str, Any] = {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance),
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
        "PROGRAMME_TIMEZONE": "Europe/Brussels",
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
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_REQUEST_BYTES", str(12 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Brussels",
        "LANGUAGES": ("en", "fr", "es", "pt"),
        "DELIVERY_MAX_ATTEMPTS": int(env.get("DELIVERY_MAX_ATTEMPTS", "40")),
        "SWEEP_BATCH": int(env.get("SWEEP_BATCH", "1000")),
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
    return cfg
