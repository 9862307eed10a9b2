"""Page speed: a signed-in trainee's lesson page and the catalogue under gunicorn, against a
bare "hello" route of the same app and server in the same run.

Usage::

    python benchmarks/pages.py --scale 10000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/lms_pages_bench [--json out.json]

The database is emptied first (its name must contain "bench" or "test"; ``--reuse`` keeps
the data already there), then filled with ``lms db upgrade``, ``lms courses import courses``,
``lms demo`` and ``lms demo --scale N``. Gunicorn serves ``benchmarks/wsgi.py`` (the product's
app plus ``/bench/hello``) on loopback with 2 sync workers. A demo trainee signs in once
through the real ``/login`` form; wrk sends that session cookie to every target:

- ``/bench/hello``: the ceiling (the same hooks, no session, no query, no template);
- ``/courses``: the catalogue's first page;
- a lesson page of a course the trainee is enrolled in (with "mark complete").

Each target gets a warm-up, then ``--duration`` seconds of wrk with ``--connections``
connections and ``--threads`` threads; the figures are requests per second (and the ratio to
hello) and the p50/p99 latency. The goals: each page at least 40% of hello, p99 at most 50 ms.
Needs ``wrk`` (Debian: ``apt-get install wrk``). Never part of the tests.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import analyze, empty_database, free_port, wait_until_up, write_result

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_pages_bench"
TRAINEE = ("trainee01@demo.example.org", "demo-trainee-2026")
RATIO_GOAL = 0.40
P99_GOAL_MS = 50.0

LUA = """-- Every request carries the signed-in trainee's session cookie.
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["Accept-Language"] = "zh-CN"
"""


@dataclass
class Result:
    """One wrk run."""

    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def load_data(env: dict[str, str], scale: int) -> None:
    """Migrate, import the courses, the demo and ``scale`` synthetic people (idempotent)."""
    for command in (
        ["db", "upgrade"],
        ["courses", "import", str(ROOT / "courses")],
        ["demo"],
        ["demo", "--scale", str(scale)],
    ):
        done = subprocess.run(  # noqa: S603
            [str(BIN / "lms"), *command], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            sys.exit(f"lms {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def data_facts(url: str, email: str) -> tuple[dict[str, int], str]:
    """How much data there is, and the path of the first lesson of a course ``email`` is
    enrolled in."""
    sys.path.insert(0, str(ROOT))
    from lms import create_app
    from lms.auth.models import User
    from lms.catalog.models import Course
    from lms.catalog.queries import lesson_sequence
    from lms.extensions import db
    from lms.learning.access import enrolled_course_ids

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        trainee = db.session.scalar(sa.select(User).where(User.email == email))
        if trainee is None:
            sys.exit(f"no {email} in the database")
        lesson_path = None
        for course_id in sorted(db.session.scalars(enrolled_course_ids(trainee.id))):
            sequence = lesson_sequence(course_id)
            if sequence:
                code = db.session.get_one(Course, course_id).code
                lesson_path = f"/courses/{code}/lessons/{sequence[0].id}"
                break
        if lesson_path is None:
            sys.exit(f"{email} is enrolled in no course with a readable lesson")
        counts = {
            table: int(db.session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
            for table in ("users", "courses", "lessons", "enrolments", "certificates")
        }
        db.engine.dispose()
    return counts, lesson_path


def sign_in(base: str, email: str, password: str) -> str:
    """Sign in through the real form; the session cookie as ``name=value``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login") as answer:
        html = answer.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if token is None:
        sys.exit("no csrf_token on /login")
    form = urllib.parse.urlencode({"csrf_token": token[1], "email": email, "password": password})
    with opener.open(f"{base}/login", data=form.encode()) as answer:
        if urllib.parse.urlsplit(answer.url).path == "/login":
            sys.exit(f"{email} could not sign in")
    cookies = [f"{c.name}={c.value}" for c in jar if c.name == "session"]
    if not cookies:
        sys.exit("no session cookie after signing in")
    return cookies[0]


def check_page(base: str, path: str, cookie: str, must_contain: str | None = None) -> None:
    """The page answers 200 to the signed-in trainee (not a redirect to /login)."""
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie})  # noqa: S310
    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request) as answer:
            body = answer.read().decode()
            status = answer.status
    except urllib.error.HTTPError as error:
        status, body = error.code, ""
    if status != 200:
        sys.exit(f"{path} answered {status} to the signed-in trainee")
    if must_contain and must_contain not in body:
        sys.exit(f"{path} does not show {must_contain!r}: is the trainee enrolled?")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(base: str, path: str, script: Path, args: argparse.Namespace, seconds: int) -> Result:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"{base}{path}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(found[1])
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in found.groups())
    return Result(path, rps, p50, p99, requests, errors)


def figures_of(results: dict[str, Result]) -> list[dict[str, Any]]:
    hello = results["hello"]
    figures: list[dict[str, Any]] = []
    for name, result in results.items():
        is_page = name != "hello"
        ratio = result.requests_per_second / hello.requests_per_second
        figures.append(
            {
                "name": f"{name} req/s",
                "value": round(result.requests_per_second, 1),
                "unit": "req/s",
                "baseline": "hello req/s" if is_page else None,
                "ratio": round(ratio, 3) if is_page else None,
                "goal": f">= {RATIO_GOAL:.2f} of hello" if is_page else None,
                "met": (ratio >= RATIO_GOAL and result.errors == 0) if is_page else None,
            }
        )
        for pct, value in (("p50", result.p50_ms), ("p99", result.p99_ms)):
            goal = pct == "p99" and is_page
            figures.append(
                {
                    "name": f"{name} {pct}",
                    "value": round(value, 2),
                    "unit": "ms",
                    "baseline": None,
                    "ratio": None,
                    "goal": f"<= {P99_GOAL_MS:.0f} ms" if goal else None,
                    "met": (value <= P99_GOAL_MS) if goal else None,
                }
            )
    return figures


def print_table(results: dict[str, Result], figures: list[dict[str, Any]]) -> None:
    columns = ("req/s", "ratio", "p50 ms", "p99 ms", "errors")
    print(f"{'target':<10} {'path':<34} " + " ".join(f"{c:>8}" for c in columns))
    hello = results["hello"].requests_per_second
    for name, r in results.items():
        print(
            f"{name:<10} {r.path:<34} {r.requests_per_second:8.1f} "
            f"{r.requests_per_second / hello:8.2f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:8d}"
        )
    for figure in figures:
        if figure["goal"]:
            shown = figure["ratio"] if figure["ratio"] is not None else figure["value"]
            print(
                f"  {figure['name']:<16} {shown:>8} goal {figure['goal']:<18} met: {figure['met']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", help="for the rate limiter's counters (default: memory)")
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data already there")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per target")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")

    url = args.database_url
    folder = Path(tempfile.mkdtemp(prefix="lms-pages-bench-"))
    env = {
        **os.environ,
        "LMS_DATABASE_URL": url,
        "LMS_FILES_DIR": str(folder / "files"),
        "LMS_SECRET_KEY": "page benchmark",  # the same in both workers
    }
    if args.redis_url:
        env["LMS_REDIS_URL"] = args.redis_url
    if not args.reuse:
        empty_database(url)
    start = time.perf_counter()
    load_data(env, args.scale)
    loaded = time.perf_counter() - start
    analyze(url)
    counts, lesson_path = data_facts(url, TRAINEE[0])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "benchmarks"),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
    )
    results: dict[str, Result] = {}
    try:
        wait_until_up(f"{base}/bench/hello", server)
        cookie = sign_in(base, *TRAINEE)
        script = folder / "session.lua"
        script.write_text(LUA.format(cookie=cookie))
        targets = {"hello": "/bench/hello", "catalogue": "/courses", "lesson": lesson_path}
        check_page(base, "/courses", cookie)
        check_page(base, lesson_path, cookie, must_contain='id="completion"')
        for name, path in targets.items():
            run_wrk(base, path, script, args, args.warmup)
            results[name] = run_wrk(base, path, script, args, args.duration)
        check_page(base, lesson_path, cookie, must_contain='id="completion"')
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)

    figures = figures_of(results)
    load = os.getloadavg()
    print(
        f"{counts['users']} people, {counts['courses']} courses, {counts['lessons']} lessons on "
        f"{sa.make_url(url).get_backend_name()}; data ready in {loaded:.1f} s"
    )
    print(
        f"gunicorn -w {args.workers} (sync), wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print_table(results, figures)
    if args.json_path:
        write_result(
            args.json_path,
            "pages",
            {
                "people": args.scale,
                **counts,
                "database": sa.make_url(url).get_backend_name(),
                "lesson_path": lesson_path,
                "workers": args.workers,
                "connections": args.connections,
                "threads": args.threads,
                "duration_s": args.duration,
                "load_average": [round(x, 2) for x in load],
                "errors": {name: r.errors for name, r in results.items()},
            },
            figures,
        )


if __name__ == "__main__":
    main()
