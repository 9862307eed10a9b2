"""The ``lms`` command: Flask's CLI group plus each feature's commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Learning management for the early-childhood care workforce."""


@click.command("worker")
@click.option(
    "--queue", "queues", multiple=True, help="Queue to listen on (repeatable); all by default."
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run jobs from Redis (needs LMS_REDIS_URL); start as many as the load needs.

    Each worker also queues again the jobs of workers that died (see :mod:`lms.jobs`).
    """
    from flask_babel import gettext as _

    from lms.certificates.rendering import warm_up
    from lms.jobs import LmsWorker, get_queue, redis_connection

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            _("LMS_REDIS_URL is not set: without Redis, jobs run inside the web process.")
        )
    names = queues or app.config["JOB_QUEUES"]
    # Maintenance (finding the jobs of dead workers) every minute rather than RQ's ten.
    warm_up()  # the work horses forked for each job inherit WeasyPrint and the fonts
    worker = LmsWorker(
        [get_queue(n) for n in names], connection=redis_connection(), maintenance_interval=60
    )
    worker.work(burst=burst, with_scheduler=False)


def register(app: Flask) -> None:
    """Add every feature's commands to the app's CLI."""
    from lms.backup import backup_command, restore_command
    from lms.catalog.cli import courses_group
    from lms.certificates.cli import certificates_cli
    from lms.demo.cli import demo_command
    from lms.people.cli import users_group
    from lms.reports.cli import report_cli

    app.cli.add_command(worker_command)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(courses_group)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
