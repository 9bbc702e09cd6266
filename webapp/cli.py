"""The ``citypair`` command: run, init-db, demo, workflow, worker, beat, retention, audit,
tallies."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import click

from webapp import ROOT


def _app():
    from webapp import create_app
    from webapp.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


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
    """Create or upgrade the database schema and load the topic vocabulary; with
    DATABASE_APP_ROLE (PostgreSQL, run as the schema owner), grant that role what the
    running application needs."""
    from webapp.db import db
    from webapp.operations.audit import grant_app_role
    from webapp.operations.setup import load_topics

    app = _app()
    with app.app_context():
        upgrade_database(app)
        load_topics()
        role = app.config["DATABASE_APP_ROLE"]
        if role and db.dialect == "postgresql":
            with db.engine.begin() as conn:
                grant_app_role(conn, role)
            click.echo(f"application role {role}: granted")
    click.echo(f"database ready: {app.config['DATABASE_URL'].split('@')[-1]}")


@main.command()
@click.option("--reset", is_flag=True, help="Drop everything first (embedded SQLite only).")
def demo(reset: bool) -> None:
    """Load the demo: open calls, partner cities, sample applicants, and last year's call
    played through the real operations up to now (nothing twice when run again)."""
    import time

    from webapp.operations.setup import load_demo, load_topics

    started = time.perf_counter()

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
    click.echo(f"demo loaded in {time.perf_counter() - started:.1f} s")


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
@click.option("--svg", "as_svg", is_flag=True,
              help="Draw it as SVG (as the workflows page shows it) instead of Mermaid source.")
def workflow_diagram(kind: str, as_svg: bool) -> None:
    """Print the state diagram of a workflow definition (Mermaid source, or SVG)."""
    from workflows import diagram, workflows

    defs = workflows()
    if kind not in defs:
        raise click.BadParameter(f"unknown kind; choose from {', '.join(defs)}")
    if as_svg:
        click.echo(diagram.svg(defs[kind], id_prefix=kind))
    else:
        click.echo(defs[kind].mermaid(), nl=False)


@main.command()
# Delivery mostly waits on the relay and the database: more processes than cores keep both
# busy (the compose file's worker runs four as well).
@click.option("--concurrency", default=4, show_default=True)
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
    """Serve the web app with an in-process Celery worker and beat (embedded defaults).

    Unless BASE_URL is set, links in e-mails point at this host and port.
    """
    from werkzeug.serving import make_server

    from tasks import celery
    from webapp.config import served_base_url

    if not os.environ.get("BASE_URL"):
        # The worker threads build their own app from the environment: they must agree.
        os.environ["BASE_URL"] = served_base_url(host, port)
    app = _app()
    with app.app_context():
        upgrade_database(app)
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    click.echo(f"citypair is serving on http://{host}:{port}/ "
               f"(links in e-mails: {app.config['BASE_URL']}; "
               f"mail sink: {app.config['MAIL_SINK_DIR']})")
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
@click.option("--pool", type=click.Choice(["country", "region"]), default="country",
              show_default=True,
              help="Candidates: the partner cities of the historic partner's country, or of "
                   "its world region.")
@click.option("--baselines", is_flag=True,
              help="Also measure a TF-IDF baseline and the all-MiniLM-L6-v2 sentence-"
                   "embedding baseline in the same run.")
def pairing_evaluate(path: str, pool: str, baselines: bool) -> None:
    """Rank each EU city's historic partner in a pairings table; print the misses, then
    top1= and top3= (shares of rows ranked first and in the first three).

    The table has the columns eu_city, eu_country, partner_city, partner_country,
    partner_region and either topics or eu_topics and partner_topics, and may have
    eu_statement and partner_statement.
    """
    from workflows.evaluation import BASELINES, evaluate

    try:
        results = evaluate(path, pool, BASELINES if baselines else ())
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except ImportError as exc:
        raise click.ClickException(
            f"The sentence-embedding baseline needs the development extras ({exc.name} is "
            "missing): run make install.") from exc
    *others, result = results
    for miss in result.misses:
        click.echo(f"miss: {miss}")
    click.echo(f"{result.cities} pairings, {len(result.misses)} outside the top three "
               f"({pool} pool)")
    for other in others:
        click.echo(f"baseline {other.name}: top1={other.top1:.2f} top3={other.top3:.2f}")
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


@main.command("announce-call")
@click.argument("slug")
def announce_call(slug: str) -> None:
    """E-mail the confirmed mailing-list subscribers that a published call is open; running
    it again sends nothing more."""
    from sqlalchemy import select

    from webapp.db import db
    from webapp.errors import OperationError
    from webapp.models import Call
    from webapp.operations.mailing_list import announce_call as announce

    app = _app()
    with app.app_context():
        call_id = db.session.scalar(select(Call.id).where(Call.slug == slug))
        try:
            count = announce(call_id or 0)
        except OperationError as exc:
            raise click.UsageError(exc.message) from exc
    click.echo(f"{count} e-mail{'' if count == 1 else 's'} queued")


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--years", type=click.IntRange(min=1), default=None,
              help="Override RETENTION_YEARS and every programme's own period for this run.")
def retention(dry_run: bool, years: int | None) -> None:
    """Delete unsuccessful applications whose call closed more than RETENTION_YEARS (or their
    programme's own retention period) ago."""
    from webapp.errors import OperationError
    from webapp.operations.privacy import apply_retention

    app = _app()
    with app.app_context():
        try:
            result = apply_retention(years=years, dry_run=dry_run)
        except OperationError as exc:
            raise click.UsageError(exc.message) from exc
    for case_id, reference, state in result.cases:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {reference} "
                   f"(case {case_id}, {state})")
    click.echo(f"{len(result.cases)} unsuccessful application(s) of calls closed before "
               f"{result.cutoff:%Y-%m-%d} {'would be deleted' if dry_run else 'deleted'}, "
               f"with {result.documents} document(s), "
               f"{result.audit_events} audit event(s), {result.notifications} e-mail(s)"
               + ("" if dry_run else f" and {len(result.files_deleted)} file(s)"))
    for slug, (own, cutoff) in result.programmes.items():
        click.echo(f"programme {slug} keeps them {own} year(s): its calls closed before "
                   f"{cutoff:%Y-%m-%d}")


@main.group()
def audit() -> None:
    """The audit trail's integrity."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk every hash chain of the audit trail; name the first broken link (exit status 1)."""
    from webapp.operations.audit import verify

    app = _app()
    with app.app_context():
        result = verify()
    click.echo(f"{result.events} event(s) in {result.chains} chain(s); "
               f"fingerprint {result.fingerprint}")
    if result.ok:
        click.echo("ok: every link holds")
        return
    click.echo(f"broken: {result.first}", err=True)
    if len(result.breaks) > 1:
        click.echo(f"({len(result.breaks) - 1} more broken link(s) after it)", err=True)
    sys.exit(1)


@main.group()
def tallies() -> None:
    """The dashboard's tallies."""


@tallies.command("check")
@click.option("--fix", is_flag=True, help="Replace the tallies by the recount.")
def tallies_check(fix: bool) -> None:
    """Recount the dashboard's tallies from the cases; name each that drifted (exit status 1
    unless --fix repaired them)."""
    from webapp.db import db
    from webapp.operations import tallies as kept

    app = _app()
    with app.app_context(), db.transaction() as session:
        drift = kept.check(session, fix=fix)
    for d in drift:
        key = " ".join(f"{k}={v}" for k, v in d.key.items() if v not in ("", False))
        click.echo(f"drift: {key}: kept {d.kept}, counted {d.counted}", err=True)
    if not drift:
        click.echo("ok: every tally matches the cases")
        return
    if fix:
        click.echo(f"fixed: {len(drift)} tally(ies) replaced by the recount")
        return
    sys.exit(1)


@main.command()
@click.option("--cases", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many cities apply.")
@click.option("--months", type=click.IntRange(min=1), default=20, show_default=True,
              help="How long the simulated time runs, from the call's opening.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seeds every choice.")
@click.option("--database-url", default=None,
              help="An empty database to run on (default: a temporary SQLite file).")
def simulate(cases: int, months: int, seed: int, database_url: str | None) -> None:
    """Run a whole call on a scratch database under a virtual clock, through the real
    operations and tasks; the last line is completed=, reminders= and duplicates=."""
    from simulation import simulate as run_simulation
    from webapp.errors import OperationError

    try:
        summary = run_simulation(cases, months, seed, database_url, echo=click.echo)
    except OperationError as exc:
        raise click.UsageError(exc.message) from exc
    for line in summary.lines():
        click.echo(line)


if __name__ == "__main__":
    main()
