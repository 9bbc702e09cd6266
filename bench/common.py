"""What every benchmark shares: a scratch PostgreSQL database, the app on it, timing, the
result line."""

from __future__ import annotations

import os
import resource
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN = os.environ.get("CITYPAIR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CITYPAIR_BENCH_REDIS", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One benchmark's line: its ratio against the bare stack, the target, the figures."""

    name: str
    ratio: float
    target: float
    #: "min": the ratio must be at least the target (a rate); "max": at most (a cost)
    sense: str
    figures: dict[str, Any] = field(default_factory=dict)
    #: further conditions that must hold besides the ratio, by name
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        met = self.ratio >= self.target if self.sense == "min" else self.ratio <= self.target
        return met and all(self.checks.values())

    def line(self) -> str:
        sign = ">=" if self.sense == "min" else "<="
        parts = [f"{self.name} ratio={self.ratio:.2f} target={sign}{self.target:g}",
                 "ok" if self.ok else "MISS"]
        parts += [f"{k}={_fmt(v)}" for k, v in self.figures.items()]
        failed = [k for k, v in self.checks.items() if not v]
        if failed:
            parts.append("missed=" + ",".join(failed))
        return " ".join(parts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def scaled(n: int, scale: float, least: int = 2) -> int:
    """``n`` at ``scale`` (a smoke run uses a tiny scale), never below ``least``."""
    return max(least, round(n * scale))


@contextmanager
def scratch_database(prefix: str = "bench") -> Iterator[str]:
    """A fresh PostgreSQL database at the newest schema with the topics, dropped afterwards."""
    name = f"citypair_{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from webapp.db import db

        db.session.remove()
        if db.engine is not None:
            db.engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def make_app(url: str, instance: Path, **overrides: Any):
    """The app on ``url`` with the schema migrated and the topics loaded."""
    from tasks import bind_celery
    from webapp import create_app
    from webapp.cli import upgrade_database
    from webapp.db import db
    from webapp.operations.setup import load_topics

    config = {"DATABASE_URL": sqlalchemy_url(url), "INSTANCE_DIR": str(instance),
              "MAIL_SINK_DIR": str(instance / "mail"), "UPLOAD_DIR": str(instance / "up"),
              "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench-secret", "SMTP_HOST": "",
              "BASE_URL": "http://localhost", "CELERY_BROKER_URL": REDIS_URL}
    config.update(overrides)
    app = create_app(config)
    db.configure(app.config["DATABASE_URL"])
    bind_celery(app)
    with app.app_context():
        upgrade_database(app)
        load_topics()
    return app


def sql(url: str, *statements: str | tuple[str, Any], params: Any = None) -> None:
    """Run bulk statements in one transaction over a plain connection; a statement may come
    as (text, its parameters)."""
    with psycopg.connect(url) as conn:
        for s in statements:
            text, args = s if isinstance(s, tuple) else (s, params)
            conn.execute(text, args)


def analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def scalar(url: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


class Clock:
    """Wall time of a block: ``with clock: ...`` then ``clock.seconds``."""

    def __enter__(self) -> Clock:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def columns(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position", (table,))]


def clone(url: str, table: str, where: str, copies: int, **exprs: str) -> None:
    """Copy the rows of ``table`` matching ``where`` ``copies`` times in one INSERT ... SELECT
    over generate_series (``g`` is the copy's number, ``t`` the row); ``exprs`` replace columns.
    """
    cols = [c for c in columns(url, table) if c != "id"]
    values = ", ".join(exprs.get(c, f't."{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    sql(url, f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" t, '
             f"generate_series(1, {int(copies)}) g WHERE {where}")


def submitted_world(now):
    """make_world plus one submitted application, the row every bulk copy starts from."""
    from tests.factories import complete_application, make_world
    from webapp.operations import applications, cases
    from workflows.engine import Purpose

    world = make_world(now=now)
    case = applications.start_application(world.applicant_a, world.call.id, now=now)
    complete_application(case)
    cases.fire(case.id, Purpose.SUBMIT_APPLICATION, world.applicant_a, now=now)
    return world, case.id
