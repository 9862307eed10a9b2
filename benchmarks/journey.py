"""The whole trainee journey under load: locust against gunicorn + PostgreSQL + Redis.

Usage::

    python benchmarks/journey.py --quick                     # 100 users for 30 s, to try it
    python benchmarks/journey.py --users 1000 --spawn-rate 17 --run-time 120 --json out.json
    python benchmarks/journey.py --users 5000 --reuse        # Moodle's "XL" size

The database (``--database-url``, default ``lms_journey_bench`` on the local PostgreSQL; its
name must contain "bench", it is emptied unless ``--reuse``) is migrated, gets ``courses/``,
``lms demo`` and ``lms demo --scale N`` (synthetic trainees ``scale.<i>@scale.example.org``),
and the N synthetic trainees are enrolled in bulk (one ``INSERT ... SELECT``) in an open
cohort of a course with lessons and quizzes. Their earlier lesson progress and quiz attempts
are removed, so every run starts from the same state.

It then starts, on 127.0.0.1 only, gunicorn (``--workers``, ``--threads``: sync workers when
threads is 1, gthread otherwise) and one ``lms worker`` on the Redis database of
``--redis-url``, and runs locust headless and bounded in time with the user classes of
``benchmarks/locustfile.py``: trainees who sign in, browse the catalogue, open a course, read
lessons and mark them complete, take and submit a quiz, open "my learning" and sign out, with
1 to 5 s of thinking between pages; an HR officer who bulk-issues certificates and follows
the job; a coordinator who reloads the dashboard.

It prints and writes (``--json``) requests per second, failures, p50/p95/p99 per request and
for all page views (every request but sign-in, whose Argon2 hash costs CPU on purpose, and the
job polling), sign-in on its own, and the CPU used by gunicorn, PostgreSQL, the job worker and
locust itself. Goal: no failure and page views p95 < 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import empty_database, free_port, wait_until_up, write_result  # noqa: E402

from lms import create_app  # noqa: E402
from lms.assessments.models import QuizAttempt  # noqa: E402
from lms.auth.models import User  # noqa: E402
from lms.catalog.models import Course, Module, Quiz  # noqa: E402
from lms.certificates.issuing import local_today  # noqa: E402
from lms.db import UTCDateTime, utcnow  # noqa: E402
from lms.demo.scale import EMAIL_DOMAIN  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.learning.models import (  # noqa: E402
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    LessonProgress,
)

BIN = Path(sys.executable).parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_journey_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"
COHORT_CODE = "BENCH-JOURNEY"
COURSE_CODE = "INS-PARENT-201"  # 14 lessons and 3 quizzes in courses/
GOAL_P95_MS = 250.0
# Requests that are not page views: sign-in (Argon2 on purpose) and the HR job's polling.
NOT_PAGE_VIEWS = ("POST /login", "GET /jobs/[id].json")


def prepare(url: str, files_dir: str, scale: int) -> dict[str, Any]:
    """Load the data (idempotent), enrol the synthetic trainees, reset their progress."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "FILES_DIR": files_dir})
    runner = app.test_cli_runner()
    for command in (
        ["db", "upgrade"],
        ["courses", "import", str(ROOT / "courses")],
        ["demo", "--scale", str(scale)],
    ):
        result = runner.invoke(args=command)
        if result.exit_code:
            sys.exit(f"lms {' '.join(command)} failed:\n{result.output}")
    with app.app_context():
        course = db.session.scalar(sa.select(Course).where(Course.code == COURSE_CODE))
        if course is None:
            sys.exit(f"course {COURSE_CODE} is missing from courses/")
        cohort = db.session.scalar(sa.select(Cohort).where(Cohort.code == COHORT_CODE))
        if cohort is None:
            today = local_today()
            cohort = Cohort(
                code=COHORT_CODE,
                title="Load test",
                course_id=course.id,
                online=True,
                starts_on=today - timedelta(days=30),
                ends_on=today + timedelta(days=365),
                capacity=None,
                status=CohortStatus.OPEN,
            )
            db.session.add(cohort)
            db.session.flush()
        db.session.commit()
        trainees = sa.select(User.id).where(User.email.endswith(f"@{EMAIL_DOMAIN}"))
        not_enrolled = ~sa.exists().where(
            Enrolment.cohort_id == cohort.id, Enrolment.user_id == User.id
        )
        db.session.execute(
            sa.insert(Enrolment).from_select(
                ["cohort_id", "user_id", "status", "source", "enrolled_at", "withdrawal_reason"],
                sa.select(
                    sa.literal(cohort.id),
                    User.id,
                    sa.literal(EnrolmentStatus.ENROLLED.value),
                    sa.literal(EnrolmentSource.STAFF.value),
                    sa.literal(utcnow(), UTCDateTime()),
                    sa.literal(""),
                ).where(User.email.endswith(f"@{EMAIL_DOMAIN}"), not_enrolled),
            )
        )
        # Every run starts from the same state: nothing read, no attempt made.
        for model in (LessonProgress, QuizAttempt):
            db.session.execute(sa.delete(model).where(model.user_id.in_(trainees)))
        db.session.commit()
        enrolled = db.session.scalar(
            sa.select(sa.func.count()).where(Enrolment.cohort_id == cohort.id)
        )
        quizzes = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Quiz)
            .join(Module, Module.id == Quiz.module_id)
            .where(Module.course_id == course.id, ~Quiz.archived)
        )
    return {"trainees_enrolled": enrolled, "course": COURSE_CODE, "quizzes": quizzes}


def clear_redis(url: str) -> None:
    """Empty this benchmark's own Redis database (queues, rate-limit counters of old runs)."""
    import redis

    client = redis.Redis.from_url(url)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        sys.exit("use a Redis database of its own for the benchmark (e.g. .../5), not 0")
    client.flushdb()


class CpuMeter:
    """CPU seconds used by groups of processes between :meth:`start` and :meth:`stop`,
    sampled every second so that processes that come and go (RQ's work horses) count too."""

    def __init__(self, roots: dict[str, psutil.Process], by_name: dict[str, str]) -> None:
        self.roots = roots  # group -> process (with its children)
        self.by_name = by_name  # group -> process name (every process of that name)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.group_of: dict[int, str] = {}
        self.started = 0.0
        self.seconds = 0.0

    def _processes(self) -> Iterator[tuple[str, psutil.Process]]:
        for group, root in self.roots.items():
            try:
                yield group, root
                for child in root.children(recursive=True):
                    yield group, child
            except psutil.Error:
                continue
        for process in psutil.process_iter(["name"]):
            for group, name in self.by_name.items():
                if process.info["name"] == name:
                    yield group, process

    def sample(self, *, first: bool = False) -> None:
        for group, process in self._processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            used = times.user + times.system
            if process.pid not in self.first:
                self.first[process.pid] = used if first else 0.0
                self.group_of[process.pid] = group
            self.last[process.pid] = used

    def start(self) -> None:
        self.started = time.monotonic()
        self.sample(first=True)

    def stop(self) -> None:
        self.sample()
        self.seconds = time.monotonic() - self.started

    def cores(self) -> dict[str, float]:
        """Average cores busy per group over the run."""
        used: dict[str, float] = dict.fromkeys([*self.roots, *self.by_name], 0.0)
        for pid, last in self.last.items():
            used[self.group_of[pid]] += last - self.first[pid]
        return {group: seconds / max(self.seconds, 1e-9) for group, seconds in used.items()}


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A background process, stopped (SIGTERM, then SIGKILL) when the block ends."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own group: RQ's work horse too
                process.wait()


def figure(
    name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "baseline": None,
        "ratio": None,
        "goal": goal,
        "met": met,
    }


def server_errors(log: Path) -> list[str]:
    """The tracebacks in gunicorn's log, each with the line before it (the request)."""
    found: list[str] = []
    current: list[str] = []
    previous = ""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Traceback"):
            current = [previous, line]
        elif current:
            current.append(line)
            if not line.startswith(" "):  # the exception itself ends the traceback
                found.append("\n".join(current))
                current = []
        previous = line
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spawn-rate", type=float, help="users started per second (users/60)")
    parser.add_argument("--run-time", type=int, default=120, help="seconds, ramp included")
    parser.add_argument("--quick", action="store_true", help="100 users for 30 s")
    parser.add_argument("--scale", type=int, help="synthetic trainees (default 2 x users)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="> 1: gthread workers")
    parser.add_argument("--reuse", action="store_true", help="keep the data already there")
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs folder")
    args = parser.parse_args()
    if args.quick:
        args.users, args.run_time = 100, 30
    spawn_rate = args.spawn_rate or max(1.0, args.users / (10 if args.quick else 60))
    scale = args.scale or max(2 * args.users, 200)

    folder = Path(tempfile.mkdtemp(prefix="lms-journey-bench-"))
    files_dir = str(folder / "files")
    if not args.reuse:
        empty_database(args.database_url)
    started = time.perf_counter()
    data = prepare(args.database_url, files_dir, scale)
    prepared = time.perf_counter() - started
    clear_redis(args.redis_url)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LMS_DATABASE_URL": args.database_url,
        "LMS_REDIS_URL": args.redis_url,
        "LMS_FILES_DIR": files_dir,
        "LMS_SECRET_KEY": "journey-benchmark",
        "JOURNEY_SCALE": str(scale),
        "JOURNEY_COURSE": COURSE_CODE,
        "JOURNEY_STATS": str(folder / "locust.json"),
    }
    kind = ["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []
    gunicorn = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        *kind,
        "--backlog",
        "4096",
        "--timeout",
        "120",
        "lms:create_app()",
    ]
    locust = [
        str(BIN / "locust"),
        "--locustfile",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    server_log, worker_log, locust_log = (
        folder / n for n in ("gunicorn.log", "worker.log", "locust.log")
    )
    load_before = os.getloadavg()
    with (
        running(gunicorn, env, server_log) as server,
        running([str(BIN / "lms"), "worker"], env, worker_log) as worker,
    ):
        wait_until_up(f"{base}/healthz", server)
        with running(locust, env, locust_log) as load:
            meter = CpuMeter(
                {
                    "gunicorn": psutil.Process(server.pid),
                    "lms worker": psutil.Process(worker.pid),
                    "locust": psutil.Process(load.pid),
                },
                {"postgres (all databases)": "postgres"},
            )
            meter.start()
            while load.poll() is None:
                time.sleep(1)
                meter.sample()
            meter.stop()
    load_after = os.getloadavg()
    result = json.loads((folder / "locust.json").read_text())
    errors = server_errors(server_log)
    config = {
        "people": scale,
        **data,
        "users": args.users,
        "spawn_rate": spawn_rate,
        "run_time_s": args.run_time,
        "gunicorn": f"{args.workers} workers"
        + (f" x {args.threads} threads (gthread)" if args.threads > 1 else " (sync)"),
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "prepared_s": round(prepared, 1),
    }
    figures = figures_of(result, meter)
    report(config, result, figures, meter, errors)
    if args.json_path:
        write_result(
            args.json_path,
            "journey",
            config,
            figures,
            requests=result["requests"],
            errors=result["errors"],
            server_tracebacks=errors,
        )
    if args.keep_logs or errors or result["total_failures"]:
        print(f"logs: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


def figures_of(result: dict[str, Any], meter: CpuMeter) -> list[dict[str, Any]]:
    """The figures of the JSON: whole run and at full load, page views and sign-in apart."""
    out = []
    for period, label in (("run", "whole run"), ("full_load", "at full load")):
        groups = result["groups"][period]
        every = groups.get("all")
        if every is None:
            continue
        out.append(figure(f"throughput, {label}", every["req_per_s"], "req/s"))
        out.append(
            figure(f"failures, {label}", every["failures"], "requests", "0", not every["failures"])
        )
        pages = groups.get("page views")
        if pages:
            for p in ("p50", "p95", "p99"):
                goal = f"< {GOAL_P95_MS:.0f} ms" if p == "p95" else None
                met = pages[f"{p}_ms"] < GOAL_P95_MS if p == "p95" else None
                out.append(figure(f"page views {p}, {label}", pages[f"{p}_ms"], "ms", goal, met))
        sign_in = groups.get("sign-in")
        if sign_in:
            for p in ("p50", "p95"):
                out.append(figure(f"sign-in {p}, {label}", sign_in[f"{p}_ms"], "ms"))
    for group, cores in meter.cores().items():
        out.append(figure(f"CPU, {group}", cores, "cores"))
    return out


def report(
    config: dict[str, Any],
    result: dict[str, Any],
    figures: list[dict[str, Any]],
    meter: CpuMeter,
    errors: list[str],
) -> None:
    print(
        f"{config['users']} users (+{config['spawn_rate']:.1f}/s) for {config['run_time_s']} s;"
        f" {config['people']} trainees enrolled in {config['course']};"
        f" gunicorn {config['gunicorn']}; {config['cores']} cores;"
        f" load average {config['load_average_before'][0]} -> {config['load_average_after'][0]}"
    )
    print(f"{'request':<42} {'count':>7} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}")
    rows = list(result["requests"].items()) + [
        (f"== {name}, {period}", row)
        for period in ("run", "full_load")
        for name, row in result["groups"][period].items()
    ]
    for name, row in rows:
        print(
            f"{name[:42]:<42} {row['requests']:>7} {row['failures']:>5} {row['req_per_s']:>7.1f}"
            f" {row['p50_ms']:>6.0f} {row['p95_ms']:>6.0f} {row['p99_ms']:>6.0f}"
        )
    print(
        "CPU (cores busy on average): "
        + ", ".join(f"{group} {cores:.2f}" for group, cores in meter.cores().items())
    )
    for item in figures:
        if item["goal"]:
            verdict = "met" if item["met"] else "NOT met"
            print(
                f"goal {item['name']}: {item['value']} {item['unit']} ({item['goal']}: {verdict})"
            )
    for error in result["errors"]:
        print(f"failure x{error['occurrences']}: {error['name']}: {error['error']}")
    for traceback in errors[:5]:
        print(traceback)
    if len(errors) > 5:
        print(f"... and {len(errors) - 5} more tracebacks in the gunicorn log")


if __name__ == "__main__":
    main()
