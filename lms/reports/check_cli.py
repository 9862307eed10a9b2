"""``lms report checks``: the consistency checks from the command line, for audits and cron.

Exits 1 on bad input and 3 when a check found errors, so that a scheduled run can alert.
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from lms.certificates.issuing import local_today
from lms.reports.checks import summary
from lms.reports.filters import ReportFilters
from lms.reports.scope import parse_as_of, scope_from_codes
from lms.validation import ValidationError

#: The exit status when a check found errors (1 is bad input, 2 click's usage errors).
FOUND_ERRORS = 3


@click.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--as-of", "as_of", help="YYYY-MM-DD (default: today)")
@click.option("--partner", help="code of a university partner")
@click.option("--district", help="code of a district")
@with_appcontext
def checks_command(fmt: str, as_of: str | None, partner: str | None, district: str | None) -> None:
    """Consistency checks of the certificates and the counted figures."""
    try:
        filters = ReportFilters(
            parse_as_of(as_of, local_today()),
            None,
            scope_from_codes(partner, district),
            partner,
            district,
        )
    except ValidationError as error:
        for message in error.errors.values():
            click.echo(message, err=True)
        sys.exit(1)
    results = summary(filters)
    if fmt == "json":
        checks = [
            {
                "name": r.check.name,
                "title": str(r.check.title),
                "severity": str(r.severity),
                "count": r.count,
                "errors": r.errors,
            }
            for r in results
        ]
        out = {"as_of": filters.as_of.isoformat(), "checks": checks}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo(f"as of {filters.as_of.isoformat()}")
        width = max(len(r.check.name) for r in results)
        click.echo(f"{'check'.ljust(width)}  {'count':>6}  {'errors':>6}  {'severity':<11}  title")
        for r in results:
            errors = f"{r.errors}" if r.errors is not None else ""
            click.echo(
                f"{r.check.name.ljust(width)}  {r.count:>6}  {errors:>6}  "
                f"{r.severity.value.ljust(11)}  {r.check.title}"
            )
    if any(r.severity == "error" and r.count for r in results):
        sys.exit(FOUND_ERRORS)
