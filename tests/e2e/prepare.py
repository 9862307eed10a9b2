"""Load the browser tests' database the way ``make run`` does, plus people to certify.

Run with the server's ``LMS_*`` environment: ``python -m tests.e2e.prepare``. In one process
(starting the app costs seconds): ``lms db upgrade``, ``lms courses import courses``,
``lms demo``; then demo trainees 05-08 finish the pre-service programme (``lms demo`` leaves
nobody eligible for a certificate not yet issued, and the HR journey needs people to
bulk-issue to): they read every lesson of its two courses, pass their quizzes and their
practical through the demo's own steps, the same services as the pages. Last, it prints
``lms report targets --format json``: the figures before any journey ran.
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout
from unittest import mock

from lms import create_app
from lms.cli import main as lms
from lms.demo.steps import DemoContext
from lms.extensions import db
from lms.learning import demo

#: The demo trainees (by number) who finish the pre-service qualification here.
FINISHERS = (5, 6, 7, 8)
PRE_SERVICE_COURSES = ("PRE-DEV-101", "PRE-SAFE-102")


def command(*args: str) -> str:
    """Run ``lms ARGS`` in this process and return what it printed; exit on failure."""
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            lms.main(args=list(args), prog_name="lms", standalone_mode=False)
        except Exception as error:
            sys.exit(f"lms {' '.join(args)} failed: {error}\n{out.getvalue()}")
    return out.getvalue()


def finish_pre_service() -> None:
    app = create_app()
    plan = {n: dict.fromkeys(PRE_SERVICE_COURSES, "all") for n in FINISHERS}
    with app.app_context(), mock.patch.dict(demo.PROGRESS, plan, clear=True):
        demo.progress(DemoContext())
        db.session.commit()


def main() -> None:
    command("db", "upgrade")
    command("courses", "import", "courses")
    logins = command("demo")
    if "trainee trainee10@demo.example.org demo-trainee-2026" not in logins:
        sys.exit(f"lms demo printed other logins than expected:\n{logins}")
    finish_pre_service()
    print(command("report", "targets", "--format", "json"))


if __name__ == "__main__":
    main()
