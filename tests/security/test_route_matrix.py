"""The authorization matrix: every route of ``app.url_map``, for every actor, against the
reviewed policy of :mod:`tests.security.policy`.

Routes are enumerated from the URL map, so a new route without a policy entry fails here by
name. Each route is requested by an anonymous visitor and by each signed-in actor (trainee,
instructor, HR officer, coordinator, administrator, and an HR officer and a coordinator
scoped to a university partner), with the URL arguments of real objects:

- allowed: never 401, 403 or 500, never the sign-in page, and a GET answers 2xx or 3xx (so
  the world really exercises the route); a POST, whose effects are rolled back after each
  request, may also refuse its empty form (400, 409, 422);
- refused by the view's declaration: 403, or the sign-in page when anonymous (401 from
  the JSON API);
- refused by an object check only: 403 or 404;
- refused POSTs (sent with a valid CSRF token) change nothing in the database.

The number of route × actor pairs checked is printed at the end of the run (see
``tests/security/conftest.py``) and must stay above :data:`MIN_PAIRS`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing import Rule

from lms.auth.access import PUBLIC, declared_access
from tests.conftest import Client
from tests.security.conftest import MATRIX_COUNTS, MatrixWorld, fingerprint
from tests.security.policy import ACTORS, ANONYMOUS, POLICY
from tests.security.policy import Rule as Policy

# 124 routes today: 87 answer GET and 66 POST, each for 8 actors (1,224 pairs).
MIN_PAIRS = 1200

# Form values some POSTs need so that permission, not a missing value, decides the answer
# (``{name}``: a value of the world, see ``MatrixWorld.values``).
POST_DATA: dict[str, dict[str, str]] = {
    "learning.lesson_time": {"seconds": "5"},
    "certificates.issue": {"holder_id": "{user_id}", "type_id": "{type_id}"},
}

# Routes whose refused POSTs run between two digests of the database (a digest reads every
# table: once per route would double the run time on PostgreSQL).
FINGERPRINT_EVERY = 10

# What an allowed POST may answer besides 2xx/3xx: the empty form refused.
FORM_REFUSALS = frozenset({400, 409, 422})


def routes(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def is_sign_in(response: Any) -> bool:
    return response.status_code in (302, 303) and (
        urlsplit(response.headers.get("Location", "")).path == "/login"
    )


def judge(policy: Policy, actor: str, method: str, response: Any) -> str | None:
    """What is wrong with ``response``, or None."""
    status = response.status_code
    if policy.allows(actor):
        if status in (401, 403) or status >= 500:
            return f"allowed but answered {status}"
        if policy.declared == PUBLIC:
            return None
        if is_sign_in(response):
            return "allowed but sent to the sign-in page"
        if method == "GET" and status >= 400:
            return f"allowed but answered {status}"
        if method == "POST" and status >= 400 and status not in FORM_REFUSALS:
            return f"allowed but answered {status}"
        return None
    if not policy.passes_declaration(actor):
        if actor == ANONYMOUS:
            if response.request.path.startswith("/api/"):  # the JSON API answers 401
                return None if status == 401 else f"anonymous got {status} from the API"
            return None if is_sign_in(response) else f"anonymous got {status}"
        return None if status == 403 else f"refused by role but answered {status}"
    return None if status in (403, 404) else f"refused by object check but answered {status}"


@contextmanager
def kept_session(client: Client) -> Iterator[None]:
    """Put the browser's session cookie back afterwards (signing out clears it)."""
    name = client.application.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    yield
    if cookie is not None:
        client.set_cookie(
            name,
            cookie.value,
            domain=cookie.domain,
            origin_only=cookie.origin_only,
            path=cookie.path,
        )


def send(client: Client, method: str, url: str, endpoint: str, values: dict[str, Any]) -> Any:
    if method == "GET":
        return client.get(url)
    data = {key: value.format(**values) for key, value in POST_DATA.get(endpoint, {}).items()}
    return client.post(url, data=data)


def test_every_route_has_a_policy(app: Flask) -> None:
    """A route added without a reviewed policy entry fails here, by name."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - POLICY.keys())
    stale = sorted(POLICY.keys() - endpoints)
    assert not missing, f"routes missing from tests/security/policy.py: {missing}"
    assert not stale, f"policy entries for routes that no longer exist: {stale}"


def test_the_views_declare_what_the_policy_says(app: Flask) -> None:
    """The ``public``/``signed_in``/``roles`` declarations (lms.auth.access) match the table."""
    differ = {
        endpoint: (declared_access(app, endpoint), rule.declared)
        for endpoint, rule in POLICY.items()
        if declared_access(app, endpoint) != rule.declared
    }
    assert not differ, f"declared (view, policy) differ: {differ}"


def test_every_route_for_every_actor(
    app: Flask,
    matrix_world: MatrixWorld,
    browsers: dict[str, Client],
    undone: Any,
    request: pytest.FixtureRequest,
) -> None:
    """Every (route, method, actor) against the policy; at least MIN_PAIRS pairs (1,200+:
    the count is printed at the end of the run)."""
    failures: list[str] = []
    counts: Counter[str] = Counter()

    def check(rule: Rule, method: str, actor: str) -> None:
        url = matrix_world.url(rule)
        counts[method] += 1
        try:
            response = send(browsers[actor], method, url, rule.endpoint, matrix_world.values)
        except Exception as error:  # a 500 in the app (raised when testing): reported below
            failures.append(f"{method} {url} as {actor}: raised {error!r}")
            return
        problem = judge(POLICY[rule.endpoint], actor, method, response)
        if problem:
            failures.append(f"{method} {url} ({rule.endpoint}) as {actor}: {problem}")

    for rule in routes(app):
        if "GET" in rule.methods:
            for actor in ACTORS:
                check(rule, "GET", actor)

    posts = [rule for rule in routes(app) if "POST" in rule.methods]
    # Refused POSTs, a few routes at a time between two digests of the database.
    for start in range(0, len(posts), FINGERPRINT_EVERY):
        chunk = posts[start : start + FINGERPRINT_EVERY]
        before = fingerprint()
        for rule in chunk:
            for actor in ACTORS:
                if not POLICY[rule.endpoint].allows(actor):
                    check(rule, "POST", actor)
        changed = [table for table, digest in fingerprint().items() if before[table] != digest]
        if changed:
            failures.append(
                f"refused POSTs to {[r.rule for r in chunk]} changed the tables {changed}"
            )
    # Allowed POSTs, each rolled back afterwards.
    for rule in posts:
        for actor in ACTORS:
            if POLICY[rule.endpoint].allows(actor):
                with undone(), kept_session(browsers[actor]):
                    check(rule, "POST", actor)

    total = counts["GET"] + counts["POST"]
    request.config.stash[MATRIX_COUNTS] = {"total": total, **counts}
    print(f"authorization matrix: {total} route × actor pairs checked ({dict(counts)})")
    assert not failures, f"{len(failures)} of {total} pairs wrong:\n" + "\n".join(failures)
    assert total >= MIN_PAIRS
