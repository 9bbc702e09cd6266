"""The ``citypair`` command: run, init-db, demo, workflow, worker, beat."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import click

from webapp import ROOT


def _app():
    from webapp import create_app

    return create_app()


@click.group()
def main() -> None:
    """citypair — the call-for-applications workflow engine for city-to-city cooperation."""


def upgrade_database(app) -> None:
    """Bring the database schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    command.upgrade(cfg, "heads")  # features may add parallel branches


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema and load the topic vocabulary."""
    from webapp.operations.setup import load_topics

    app = _app()
    with app.app_context():
        upgrade_database(app)
        load_topics()
    click.echo(f"database ready: {app.config['DATABASE_URL'].split('@')[-1]}")


@main.command()
@click.option("--reset", is_flag=True, help="Drop everything first (embedded SQLite only).")
def demo(reset: bool) -> None:
    """Load the demo: an open call, partner cities, sample applicants, the 2017 pairings."""
    from webapp.operations.setup import load_demo, load_topics

    app = _app()
    url = app.config["DATABASE_URL"]
    if reset:
        if not url.startswith("sqlite:///"):
            raise click.UsageError("--reset only works on the embedded SQLite database")
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        app = _app()
    with app.app_context():
        upgrade_database(app)
        load_topics()
        for line in load_demo():
            click.echo(line)


@main.group()
def workflow() -> None:
    """Inspect the workflow definitions."""


@workflow.command("check")
def workflow_check() -> None:
    """Validate every workflow definition; exit 1 on any problem."""
    from workflows import workflows

    templates = {p.name.removesuffix(".subject.txt")
                 for p in (ROOT / "templates" / "emails").glob("*.subject.txt")}
    bad = False
    for kind, wf in workflows().items():
        problems = wf.validate(templates)
        for p in problems:
            click.echo(f"{kind}: {p}", err=True)
        bad |= bool(problems)
        click.echo(f"{kind}: {len(wf.states)} states, {len(wf.transitions)} transitions — "
                   f"{'PROBLEMS' if problems else 'ok'}")
    sys.exit(1 if bad else 0)


@workflow.command("diagram")
@click.argument("kind")
def workflow_diagram(kind: str) -> None:
    """Print the Mermaid state diagram of a workflow definition."""
    from workflows import workflows

    defs = workflows()
    if kind not in defs:
        raise click.BadParameter(f"unknown kind; choose from {', '.join(defs)}")
    click.echo(defs[kind].mermaid(), nl=False)


@main.command()
@click.option("--concurrency", default=2, show_default=True)
@click.option("--beat/--no-beat", "with_beat", default=False, help="Embed the beat scheduler.")
def worker(concurrency: int, with_beat: bool) -> None:
    """Run a Celery worker (delivery and the sweep)."""
    from tasks import celery

    app = _app()
    with app.app_context():
        celery.Worker(concurrency=concurrency, beat=with_beat, loglevel="INFO",
                      pool="threads" if app.config["DATABASE_URL"].startswith("sqlite")
                      else "prefork").start()


@main.command()
def beat() -> None:
    """Run the Celery beat scheduler (one per installation)."""
    from tasks import celery

    _app()
    celery.Beat(loglevel="INFO").run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), show_default="5000")
def run(host: str, port: int) -> None:
    """Serve the web app with an in-process Celery worker and beat (embedded defaults)."""
    from werkzeug.serving import make_server

    from tasks import celery

    app = _app()
    with app.app_context():
        upgrade_database(app)
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    click.echo(f"citypair is serving on http://{host}:{port}/ "
               f"(mail sink: {app.config['MAIL_SINK_DIR']})")
    try:
        # The worker wants the main thread for its signal handling; the web server has its own.
        celery.Worker(concurrency=2, pool="threads", beat=True, loglevel="WARNING").start()
    finally:
        server.shutdown()


@main.group()
def pairing() -> None:
    """Partner cities and the pairing suggester."""


@pairing.command("evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def pairing_evaluate(path: str) -> None:
    """Rank each EU city's historic partner in a pairings table; print the misses, then
    top1= and top3= (shares of rows ranked first and in the first three)."""
    from workflows.pairing import evaluate_pairings

    try:
        result = evaluate_pairings(path)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for miss in result.misses:
        click.echo(f"miss: {miss}")
    click.echo(f"{result.cities} pairings, {len(result.misses)} outside the top three")
    click.echo(f"top1={result.top1:.2f} top3={result.top3:.2f}")


@pairing.command("import-partners")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def pairing_import_partners(path: str) -> None:
    """Import partner cities from a CSV file: every row, or none when a row is bad."""
    from webapp.operations.pairing import ImportRefused, import_partner_cities

    app = _app()
    with app.app_context():
        try:
            count = import_partner_cities(Path(path).read_bytes())
        except ImportRefused as exc:
            click.echo(exc.message, err=True)
            for reason in exc.reasons:
                click.echo(reason, err=True)
            sys.exit(1)
    click.echo(f"{count} partner {'city' if count == 1 else 'cities'} imported")


if __name__ == "__main__":
    main()
