"""Command line: flask --app wsgi init-db | seed-demo | create-user | set-password | import-loads | worker | backup | restore."""
import click
from flask import current_app

from webapp import database
from webapp.models import MANAGER_ROLES
from webapp.models import ROLES
from webapp.models import Company
from webapp.models import Partner


def init_app(app):
    """Register the commands on APP."""

    @app.cli.command("init-db")
    def init_db():
        """Create the database or apply pending migrations."""
        applied = database.migrate()
        click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied
                   else "Database is up to date.")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the demo tenants, users, customers and loads (running it twice duplicates nothing)."""
        from webapp.ops import demo
        database.migrate()
        with database.connection():
            demo.seed()
        click.echo(f"Demo data ready. Sign in as admin@demo.test with password {demo.DEMO_PASSWORD}.")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--role", type=click.Choice(sorted(ROLES)), default="user", show_default=True)
    @click.option("--company", "company_name", help="Company name (for Admin and User).")
    @click.option("--partner", "partner_name", help="Partner name (for Partner Admin).")
    @click.option("--billing/--no-billing", default=False, help="Grant the Billing permission.")
    @click.option("--name", default="")
    @click.password_option()
    def create_user(email, role, company_name, partner_name, billing, name, password):
        """Create a user; asks for the password."""
        from webapp.services import users
        from webapp.services.validation import Invalid
        with database.connection():
            company = Company.get_or_none(Company.name == company_name) if company_name else None
            partner = Partner.get_or_none(Partner.name == partner_name) if partner_name else None
            if company_name and company is None:
                raise click.BadParameter(f"no company named {company_name!r}", param_hint="--company")
            if partner_name and partner is None:
                raise click.BadParameter(f"no partner named {partner_name!r}", param_hint="--partner")
            try:
                user = users.create_user(
                    actor=None, email=email, name=name, role=role, company=company,
                    partner=partner, billing=billing, password=password)
            except Invalid as exc:
                raise click.ClickException(exc.message)
        click.echo(f"Created {user.email} ({ROLES[user.role]}"
                   f"{', Billing' if user.billing else ''}"
                   f"{', manager' if user.role in MANAGER_ROLES else ''}).")

    @app.cli.command("set-password")
    @click.argument("email")
    def set_password(email):
        """Choose a user's password (asked twice, not shown); every session of theirs ends."""
        from webapp.services import passwords
        from webapp.services.validation import Invalid
        password = click.prompt("New password", hide_input=True)
        confirm = click.prompt("New password again", hide_input=True)
        with database.connection():
            try:
                user = passwords.set_by_command_line(email, password, confirm)
            except Invalid as exc:
                raise click.ClickException(exc.message)
        click.echo(f"The password of {user.email} is set; their sessions have ended.")

    @app.cli.command("import-loads")
    @click.argument("file", type=click.File("rb"))
    @click.option("--company", "company_name", required=True, help="Company that owns the loads.")
    def import_loads(file, company_name):
        """Import loads from a CSV file (all rows or none)."""
        from webapp.services.loads import importing as load_import
        with database.connection():
            company = Company.get_or_none(Company.name == company_name)
            if company is None:
                raise click.BadParameter(f"no company named {company_name!r}", param_hint="--company")
            preview = load_import.parse(file.read(), company)
            if preview.errors:
                for err in preview.errors:
                    click.echo(f"row {err.row}, {err.column}: {err.message}", err=True)
                raise click.ClickException(f"{len(preview.errors)} error(s); nothing was imported.")
            count = load_import.commit(preview, company, actor=None)
        click.echo(f"Imported {count} load(s) into {company.name}.")

    @app.cli.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Worker threads.")
    def worker(workers):
        """Run the job queue's consumer (batch generation) until stopped."""
        import logging
        # The consumer's own lines (task started, finished, failed) in the app's key=value format.
        huey_log = logging.getLogger("huey")
        huey_log.handlers[:] = current_app.logger.handlers
        huey_log.setLevel(current_app.logger.level)
        huey = current_app.extensions["huey"]
        # An idle worker looks for new jobs at least every second (Huey's default backs off to 10 s),
        # so a batch does not sit at "Waiting to start" long after Submit Batch.
        consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                        initial_delay=0.1, max_delay=1.0)
        consumer.run()

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    def backup(file):
        """Write a consistent copy of the database to FILE while the app runs."""
        from webapp.ops import backup as service
        try:
            size = service.backup(current_app.config["DATABASE_URL"], file,
                                  pg_bin_dir=current_app.config["PG_BIN_DIR"])
        except service.BackupError as exc:
            raise click.ClickException(str(exc))
        click.echo(f"Backed up the database to {file} ({size:,} bytes).")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def restore(file, yes):
        """Replace the whole database with the backup in FILE, then apply pending migrations."""
        from webapp.ops import backup as service
        if not yes:
            click.confirm(f"Replace ALL data of the database with {file}?", abort=True)
        try:
            service.restore(current_app.config["DATABASE_URL"], file,
                            pg_bin_dir=current_app.config["PG_BIN_DIR"])
        except service.BackupError as exc:
            raise click.ClickException(str(exc))
        applied = database.migrate()
        click.echo(f"Restored the database from {file}"
                   f"{f'; applied {len(applied)} migration(s)' if applied else ''}.")
