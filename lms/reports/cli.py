"""``lms report``: the workforce figures from the command line, for audits outside the app."""

from __future__ import annotations

import csv
import io
import json
import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import gettext as _

from lms.certificates.issuing import local_today
from lms.extensions import db
from lms.reports.check_cli import checks_command
from lms.reports.models import TierPeriod
from lms.reports.periods import refresh_all
from lms.reports.scope import parse_as_of, scope_from_codes
from lms.reports.targets import targets_report
from lms.validation import ValidationError

report_cli = AppGroup("report", help="Workforce figures: targets against valid certificates.")

COLUMNS = ("tier", "target", "valid", "percent", "remaining")


@report_cli.command("targets")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--as-of", "as_of", help="YYYY-MM-DD (default: today)")
@click.option("--partner", help="code of a university partner")
@click.option("--district", help="code of a district")
def targets_command(fmt: str, as_of: str | None, partner: str | None, district: str | None) -> None:
    """People holding a valid certificate per tier, against the targets."""
    try:
        report = targets_report(
            parse_as_of(as_of, local_today()), scope_from_codes(partner, district)
        )
    except ValidationError as error:
        for message in error.errors.values():
            click.echo(message, err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    rows = [[tier[c] if tier[c] is not None else "" for c in COLUMNS] for tier in report["tiers"]]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["as_of", *COLUMNS])
        writer.writerows([report["as_of"], *row] for row in rows)
        click.echo(out.getvalue(), nl=False)
        return
    widths = [max(len(str(v)) for v in col) for col in zip(COLUMNS, *rows, strict=False)]
    click.echo(f"as of {report['as_of']}")
    for line in (COLUMNS, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


@report_cli.command("refresh-periods")
def refresh_periods_command() -> None:
    """Rewrite the tier periods the reports count from, from the certificates (a repair:
    they are kept up to date as certificates change)."""
    refresh_all(db.session.connection())
    db.session.commit()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(TierPeriod))
    click.echo(_("%(count)s periods written.", count=count))


report_cli.add_command(checks_command)
