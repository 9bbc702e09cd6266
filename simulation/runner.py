"""Running a simulation: a scratch database and app, the clock, the mail recorder and the
delivery hand-over swapped in for the run, and the summary at the end."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from simulation.clock import START
from simulation.count import Summary, summarise
from simulation.parties import Simulation
from webapp import create_app
from webapp.cli import upgrade_database
from webapp.db import db, use_clock
from webapp.errors import OperationError
from webapp.mail import outbox
from webapp.mail.sending import use_sender
from webapp.models import Case
from webapp.operations.setup import load_topics


def _unflushed(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()


def simulate(cases: int, months: int, seed: int = 1, database_url: str | None = None,
             echo: Callable[[str], None] | None = None) -> Summary:
    """Run a whole call on a scratch database (a temporary SQLite file unless ``database_url``
    names an empty one) and count what happened."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="citypair-simulation-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'simulation.sqlite'}"
        app = create_app({
            "DATABASE_URL": url, "INSTANCE_DIR": str(folder), "SECRET_KEY": "simulation",
            "MAIL_SINK_DIR": str(folder / "mail"), "UPLOAD_DIR": str(folder / "uploads"),
            "SMTP_HOST": "", "CELERY_BROKER_URL": "memory://", "RATELIMIT_ENABLED": False,
            "BASE_URL": "http://simulation.invalid"})
        if db.dialect == "sqlite":
            # A scratch database need not survive a power cut: no disk flush at each commit.
            event.listen(db.engine, "connect", _unflushed)
        sim = Simulation(cases, months, seed)
        previous = outbox.dispatcher
        with app.app_context():
            upgrade_database(app)
            load_topics()
            if db.session.scalar(select(func.count(Case.id))):
                raise OperationError("The simulation needs an empty database.")
            db.session.remove()
            use_clock(sim.clock)
            use_sender(sim.mail)
            outbox.set_dispatcher(sim.handed_over.extend)
            try:
                sim.draw_scripts()
                sim.set_up()
                sim.run()
                summary = summarise(sim.call_ids.values(), sim.mail, sim.refused)
            finally:
                use_clock(None)
                use_sender(None)
                outbox.set_dispatcher(previous)
                db.session.remove()
                if db.engine is not None:
                    db.engine.dispose()
        summary.seconds = time.perf_counter() - started
        if echo:
            echo(f"simulated {cases} cases over {months} months from {START:%Y-%m-%d} in "
                 f"{summary.seconds:.1f} s")
        return summary
