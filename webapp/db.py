"""The database: one engine and one scoped session per process, typed declarative models."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: where the time comes from: the wall clock, or a simulation's virtual one (``use_clock``)
_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the only kind stored)."""
    return _clock() if _clock is not None else datetime.now(UTC)


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Read the time from ``clock`` in this process from now on (None: the wall clock again)."""
    global _clock
    _clock = clock


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; give a time zone")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every model's base: constraint naming that Alembic can follow, UTC datetimes, JSON."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # the web app and the worker read while one writes
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def _private_database_file(url: str) -> None:
    # SQLite makes its file (and its -wal and -shm files, which copy its mode) as the umask
    # says; made here first, the database is readable by this account alone.
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:") and not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        _private_database_file(url)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 15})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    """The process's engine and scoped session; ``db.session`` is the unit of work."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.url: str | None = None
        self.session: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))

    def configure(self, url: str) -> None:
        """Point the process at ``url``; a new URL replaces the engine."""
        if self.url == url and self.engine is not None:
            return
        if self.engine is not None:
            self.session.remove()
            self.engine.dispose()
        self.engine = make_engine(url)
        self.url = url
        self.session.configure(bind=self.engine)

    @property
    def dialect(self) -> str:
        assert self.engine is not None
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


db = Database()

_READ_ONCE = "citypair_read_once"


def read_once(session: Session, key: Any, load: Callable[[], Any]) -> Any:
    """``load()`` the first time ``key`` is asked of this session, then the same value until
    the session commits or rolls back (a request, a delivery batch): small tables that many
    rows of a page or a batch look up are read once."""
    found = session.info.setdefault(_READ_ONCE, {})
    if key not in found:
        found[key] = load()
    return found[key]


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _read_again(session: Session) -> None:
    session.info.pop(_READ_ONCE, None)
