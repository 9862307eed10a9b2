"""``lms demo``: load the demo data (idempotent) and print the demo logins; with ``--scale N``
add a synthetic population of N people for benchmarks (see :mod:`lms.demo.scale`)."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext

from lms.extensions import db
from lms.validation import ValidationError


@click.command("demo")
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Then bring the synthetic benchmark population up to N people.",
)
@with_appcontext
def demo_command(scale: int | None) -> None:
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
    if scale is not None:
        _scale(scale)


def _progress(done: int, total: int) -> None:
    click.echo(f"lms demo --scale: {done:,} of {total:,} people", err=True)


def _scale(n: int) -> None:
    from lms.demo import scale

    started = time.perf_counter()
    try:
        counts = scale.generate(n, progress=_progress)
    except ValidationError as error:
        db.session.rollback()
        click.echo(f"lms demo --scale: nothing generated: {error}", err=True)
        sys.exit(1)
    seconds = time.perf_counter() - started
    done = ", ".join(f"{k} {what}" for what, k in counts.items())
    click.echo(f"lms demo --scale {n}: added {done} in {seconds:.1f} s.", err=True)
