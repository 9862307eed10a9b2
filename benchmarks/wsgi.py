"""The app that ``benchmarks/pages.py`` serves with gunicorn: ``lms.create_app()`` plus a
bare ``/bench/hello`` route, the ceiling every page is compared with in the same run.

The route exists only here, never in the product. It goes through the same server, the same
``before_request`` and ``after_request`` hooks (access check, security headers) and returns
a constant string: no session, no database, no template.

    gunicorn -w 2 -b 127.0.0.1:8000 --chdir benchmarks wsgi:app
"""

from __future__ import annotations

from lms import create_app
from lms.auth.access import public

app = create_app()


@app.get("/bench/hello")
@public
def bench_hello() -> str:
    """The bare route: what the app and server cost before any page's own work."""
    return "hello"
