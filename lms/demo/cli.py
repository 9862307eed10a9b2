"""``lms demo``: load the demo data (idempotent) and print the demo logins."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from lms.extensions import db
from lms.validation import ValidationError


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo organisations and people, then print one `<role> <email> <password>` line
    per demo login. Running it again adds nothing and prints the same lines."""
    from lms.demo import steps

    try:
        ctx = steps.run()
    except ValidationError as error:
        db.session.rollback()
        click.echo(f"lms demo: nothing loaded: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    for login in ctx.sorted_logins():
        click.echo(login.line())
    if ctx.counts:
        done = ", ".join(f"{n} {what}" for what, n in sorted(ctx.counts.items()))
        click.echo(f"lms demo: added {done}.", err=True)
    else:
        click.echo("lms demo: the demo data was already there; nothing added.", err=True)
