"""The users of the whole-journey load test (run by ``benchmarks/journey.py``).

- :class:`Trainee`: signs in as the next synthetic trainee (``scale.<i>@scale.example.org``),
  browses the catalogue, opens the course, reads a few lessons and marks them complete (with
  the reading-time beacon and the htmx "mark complete" a browser sends), takes a quiz (start,
  one htmx save, submit, review), opens "my learning" and signs out; 1 to 5 s of thinking
  between pages. Each journey is one person; the next journey is the next person.
- :class:`HrOfficer`: now and then counts who is eligible for a certificate type, starts a
  bulk issue and polls the job's JSON until it has finished.
- :class:`Coordinator`: reloads the dashboard.

Redirects are not followed: each page a browser would show after a form is requested (and
timed) on its own, under its own name. Settings come from the environment: ``JOURNEY_SCALE``
(how many synthetic trainees there are), ``JOURNEY_COURSE`` (the course code),
``JOURNEY_STATS`` (where to write the summary JSON when the test stops).
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.stats import RequestStats

SCALE = int(os.environ.get("JOURNEY_SCALE", "1000"))
COURSE = os.environ.get("JOURNEY_COURSE", "INS-PARENT-201")
STATS_PATH = os.environ.get("JOURNEY_STATS")
TRAINEE_PASSWORD = "scale-demo-2026"  # noqa: S105  (lms.demo.scale.PASSWORD)
HR_LOGIN = ("hr@demo.example.org", "demo-hr-2026")
COORDINATOR_LOGIN = ("coordinator@demo.example.org", "demo-coordinator-2026")
LESSONS_PER_JOURNEY = (2, 4)
JOB_POLL_SECONDS = 2.0
JOB_TIMEOUT_SECONDS = 300.0

# Requests that are not page views: sign-in hashes a password on purpose, and the job's JSON
# is polled by a script, not looked at.
SIGN_IN = "POST /login"
NOT_PAGE_VIEWS = frozenset({SIGN_IN, "GET /jobs/[id].json"})

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')
SELECT = re.compile(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.S)
OPTION_VALUE = re.compile(r'<option value="([^"]+)"')
TEXTAREA = re.compile(r'<textarea\b[^>]*name="([^"]+)"')

_people = itertools.count()

# "page views", "sign-in" and "all": over the whole run and once every user is running.
_groups: dict[str, RequestStats] = {"run": RequestStats(), "full_load": RequestStats()}
_clock: dict[str, float | None] = {"start": None, "full_load": None}


class JourneyError(Exception):
    """A page did not show what the journey expected; ``logged`` when it is already counted
    as the failure of a request."""

    def __init__(self, message: str, *, logged: bool = False) -> None:
        super().__init__(message)
        self.logged = logged


def csrf_token(page: str) -> str:
    found = CSRF.search(page)
    if found is None:
        raise JourneyError("no csrf_token on the page")
    return found.group(1)


def answers(page: str) -> dict[str, Any]:
    """A plausible answer to every question of an attempt form: one choice per radio group,
    some boxes ticked, something typed into text fields, an option in every select."""
    radios: dict[str, list[str]] = {}
    boxes: dict[str, list[str]] = {}
    filled: dict[str, Any] = {}
    for tag in INPUT.findall(page):
        attrs = dict(ATTRIBUTE.findall(tag))
        name, kind = attrs.get("name", ""), attrs.get("type", "text")
        if not re.fullmatch(r"q\d+(-\d+)?", name):
            continue
        if kind == "radio":
            radios.setdefault(name, []).append(html.unescape(attrs.get("value", "")))
        elif kind == "checkbox":
            boxes.setdefault(name, []).append(html.unescape(attrs.get("value", "")))
        elif kind == "text":
            filled[name] = "3" if attrs.get("inputmode") == "decimal" else "回应"
    for name, values in radios.items():
        filled[name] = random.choice(values)
    for name, values in boxes.items():
        filled[name] = random.sample(values, k=random.randint(1, len(values)))
    for name, options in SELECT.findall(page):
        values = OPTION_VALUE.findall(options)
        if values:
            filled[name] = random.choice(values)
    for name in TEXTAREA.findall(page):
        filled[name] = "先倾听家长的担心，再和家长一起商量每天可以做到的一小步。"
    return filled


class Visitor(FastHttpUser):
    """A person with a browser: pages, forms with their CSRF token, redirects seen."""

    abstract = True

    def failed(self, error: JourneyError) -> None:
        """Count a journey that went wrong between requests as a failure of its own."""
        if not error.logged:
            self.environment.events.request.fire(
                request_type="JOURNEY",
                name=str(error),
                response_time=0,
                response_length=0,
                exception=error,
                context={},
            )

    def page(self, path: str, name: str, *, htmx: bool = False) -> str:
        """GET a page, 200 expected; its HTML."""
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(path, name=name, headers=headers, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
                raise JourneyError(name, logged=True)
            return answer.text or ""

    def post(
        self,
        path: str,
        name: str,
        data: dict[str, Any],
        *,
        expect: int = 303,
        htmx: bool = False,
    ) -> str:
        """POST a form; ``expect`` is the status (3xx: the ``Location``, else the body)."""
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.post(
            path,
            name=name,
            data=data,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            status = answer.status_code
            if status != expect and not (300 <= expect < 400 and 300 <= status < 400):
                answer.failure(f"status {status}, expected {expect}")
                raise JourneyError(name, logged=True)
            if 300 <= status < 400:
                return str(answer.headers.get("Location", ""))
            return answer.text or ""

    def sign_in(self, email: str, password: str) -> str:
        """Sign in; the home page's HTML."""
        token = csrf_token(self.page("/login", "GET /login"))
        form = {"csrf_token": token, "email": email, "password": password, "next": ""}
        target = self.post("/login", SIGN_IN, form, expect=302)
        if target.rstrip("/").endswith("/login"):
            raise JourneyError("sign-in refused")
        return self.page("/", "GET /")

    def sign_out(self, page: str) -> None:
        self.post("/logout", "POST /logout", {"csrf_token": csrf_token(page)}, expect=302)
        self.page("/login", "GET /login")


class Trainee(Visitor):
    """A synthetic trainee going through a course, one person per journey."""

    weight = 100
    wait_time = between(1, 5)

    @task
    def journey(self) -> None:
        email = f"scale.{next(_people) % SCALE}@scale.example.org"
        self.client.cookiejar.clear()
        try:
            self.walk(email)
        except JourneyError as error:
            self.failed(error)
            self.client.cookiejar.clear()  # the next journey starts afresh

    def walk(self, email: str) -> None:
        self.sign_in(email, TRAINEE_PASSWORD)
        self.wait()
        self.page("/courses", "GET /courses")
        self.wait()
        course = self.page(f"/courses/{COURSE}", "GET /courses/[code]")
        lessons = sorted(
            {int(i) for i in re.findall(rf'href="/courses/{COURSE}/lessons/(\d+)"', course)}
        )
        quizzes = sorted({int(i) for i in re.findall(r'href="/quizzes/(\d+)"', course)})
        if not lessons or not quizzes:
            raise JourneyError("the course page lists no lessons or no quizzes")
        start = random.randrange(len(lessons))
        for lesson_id in lessons[start : start + random.randint(*LESSONS_PER_JOURNEY)]:
            self.wait()
            lesson = self.page(
                f"/courses/{COURSE}/lessons/{lesson_id}", "GET /courses/[code]/lessons/[id]"
            )
            token = csrf_token(lesson)
            self.post(
                f"/learning/lessons/{lesson_id}/time",
                "POST /learning/lessons/[id]/time",
                {"csrf_token": token, "seconds": random.randint(60, 600)},
                expect=204,
            )
            self.post(
                f"/learning/lessons/{lesson_id}/complete",
                "POST /learning/lessons/[id]/complete",
                {"csrf_token": token},
                expect=200,
                htmx=True,
            )
        self.wait()
        quiz_id = random.choice(quizzes)
        quiz = self.page(f"/quizzes/{quiz_id}", "GET /quizzes/[id]")
        target = self.post(
            f"/quizzes/{quiz_id}/start",
            "POST /quizzes/[id]/start",
            {"csrf_token": csrf_token(quiz)},
        )
        attempt_id = re.search(r"/attempts/(\d+)$", target)
        if attempt_id is None:
            raise JourneyError("the quiz did not start (no attempt left?)")
        path = f"/attempts/{attempt_id.group(1)}"
        form = self.page(path, "GET /attempts/[id]")
        filled = {"csrf_token": csrf_token(form), "answers": "1", **answers(form)}
        self.wait()
        self.post(f"{path}/save", "POST /attempts/[id]/save", filled, expect=200, htmx=True)
        self.wait()
        self.post(f"{path}/submit", "POST /attempts/[id]/submit", filled)
        self.page(path, "GET /attempts/[id] (review)")
        self.wait()
        mine = self.page("/learning", "GET /learning")
        self.wait()
        self.sign_out(mine)


class HrOfficer(Visitor):
    """Issues certificates in bulk now and then and follows the job to its end."""

    fixed_count = 1
    wait_time = between(20, 40)

    def on_start(self) -> None:
        self.sign_in(*HR_LOGIN)

    @task
    def bulk_issue(self) -> None:
        try:
            self.issue()
        except JourneyError as error:
            self.failed(error)  # and try again next time

    def issue(self) -> None:
        page = self.page("/certificates/bulk", "GET /certificates/bulk")
        types = re.findall(r'<option value="(\d+)"', page.split('name="cohort_id"')[0])
        if not types:
            raise JourneyError("no certificate type to issue")
        type_id = random.choice(types)
        counted = self.page(
            f"/certificates/bulk?type_id={type_id}&cohort_id=", "GET /certificates/bulk?type_id"
        )
        form = {"csrf_token": csrf_token(counted), "type_id": type_id, "cohort_id": ""}
        target = self.post("/certificates/bulk", "POST /certificates/bulk", form, expect=302)
        job = re.search(r"job=([\w-]+)", target)
        if job is None:
            raise JourneyError("no bulk issue job started")
        self.page(f"/certificates/bulk?job={job.group(1)}", "GET /certificates/bulk?job")
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(JOB_POLL_SECONDS)
            with self.client.get(
                f"/jobs/{job.group(1)}.json", name="GET /jobs/[id].json", catch_response=True
            ) as answer:
                state = (answer.json() or {}).get("state") if answer.status_code == 200 else None
                if state == "failed":
                    answer.failure(f"bulk issue job failed: {answer.text}")
                    return
                if state == "finished":
                    return
        raise JourneyError("the bulk issue job did not finish in time")


class Coordinator(Visitor):
    """Reloads the dashboard."""

    fixed_count = 1
    wait_time = between(2, 10)

    def on_start(self) -> None:
        self.sign_in(*COORDINATOR_LOGIN)

    @task
    def dashboard(self) -> None:
        self.page("/reports/", "GET /reports/")


@events.test_start.add_listener
def _started(**_kwargs: Any) -> None:
    _clock["start"] = time.time()


@events.spawning_complete.add_listener
def _all_running(user_count: int, **_kwargs: Any) -> None:
    if _clock["full_load"] is None:
        _clock["full_load"] = time.time()


@events.request.add_listener
def _group(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: Exception | None = None,
    **_kwargs: Any,
) -> None:
    """Also count each request as a page view or a sign-in, and under "all"."""
    which = ["run"] + (["full_load"] if _clock["full_load"] is not None else [])
    if request_type == "JOURNEY":  # a step that went wrong between requests: no timing
        for period in which:
            _groups[period].log_error("", "all", exception)
        return
    kind = "sign-in" if name == SIGN_IN else None if name in NOT_PAGE_VIEWS else "page views"
    for period in which:
        for group in (kind, "all"):
            if group is None:
                continue
            _groups[period].log_request("", group, response_time, response_length)
            if exception is not None:
                _groups[period].log_error("", group, exception)


def _summary(stats: RequestStats, seconds: float) -> dict[str, dict[str, float]]:
    """Count, failures, rate over ``seconds`` and percentiles of every entry of ``stats``."""
    out = {}
    for (name, _method), entry in sorted(stats.entries.items()):
        if not entry.num_requests:
            continue
        out[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "req_per_s": entry.num_requests / max(seconds, 1e-9),
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
        }
    return out


@events.quitting.add_listener
def _write(environment: Environment, **_kwargs: Any) -> None:
    if not STATS_PATH:
        return
    now = time.time()
    run = now - (_clock["start"] or now)
    full_load = now - (_clock["full_load"] or now)
    stats = environment.stats
    per_request = RequestStats()
    for (name, method), entry in stats.entries.items():
        label = name if name.startswith(method) else f"{method} {name}"
        per_request.entries[(label, method)] = entry
    Path(STATS_PATH).write_text(
        json.dumps(
            {
                "requests": _summary(per_request, run),
                "groups": {
                    "run": _summary(_groups["run"], run),
                    "full_load": _summary(_groups["full_load"], full_load),
                },
                "seconds": {"run": run, "full_load": full_load},
                "errors": [
                    {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                    for e in stats.errors.values()
                ],
                "total_requests": stats.total.num_requests,
                "total_failures": stats.total.num_failures,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
