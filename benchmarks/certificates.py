"""Bulk certificate issue against bare WeasyPrint, in the same run.

    python benchmarks/certificates.py --n 1000 [--processes 2] [--database-url URL]
        [--redis-url URL] [--batch-size 50] [--reuse] [--json out.json]

Builds a throw-away database (a SQLite file in a temporary folder, or the PostgreSQL database
of ``--database-url``, which is emptied first and must be named *bench* or *test*) with N
trainees who completed a programme, then measures:

(a) the bulk job end to end: eligibility, serial numbers, records and audit entries, PDFs
    with their QR codes, the file store, and the ZIP. With ``--redis-url``: one bulk issue of
    the whole programme, as the HR page queues it, worked by P running ``lms worker``
    processes (work horses forked per job, as in production), which share its batches;
    timed from the queuing until the job's record says finished. Without Redis (embedded
    mode) and P > 1, the trainees are split into P cohorts and P processes run one job each;
(b) bare WeasyPrint: one ``HTML(string=...).write_pdf()`` per certificate, with the same
    template and the same data as (a), split over P processes in the same way.

Prints certificates per second for each and their ratio (the goal is >= 1.5: reusing fonts
and stylesheets, laying out and subsetting fonts per batch make bulk issue, records and files
included, at least half as fast again as rendering each certificate alone), and writes them as
JSON with ``--json``. ``--scale N`` is ``--n N``; ``--reuse`` keeps the trainees of an earlier
run (their certificates are revoked, which makes them eligible again). Never part of the tests.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import empty_database, write_result

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘"
    "袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦"
    "邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧阳"
)
# Common given-name characters and some rarer ones that names use (堃 喆 昶 玥 ...).
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力梅琳欣怡"
    "晨宇浩然子轩梓涵雨桐一诺堃喆昶玥婧翀犇淼燚垚鑫焱晗昕玮琰琬珺璟"
)


GOAL_RATIO = 1.5


@dataclass
class Settings:
    """What every process needs to open the same app."""

    database_url: str
    files_dir: str
    redis_url: str | None
    queue_prefix: str
    batch_size: int

    def app_config(self) -> dict[str, Any]:
        return {
            "SECRET_KEY": "benchmark",
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "FILES_DIR": self.files_dir,
            "REDIS_URL": self.redis_url,
            "JOB_QUEUE_PREFIX": self.queue_prefix,
            "SERVER_NAME": "lms.example.org",
            "PREFERRED_URL_SCHEME": "https",
            "CERTIFICATE_BATCH_SIZE": self.batch_size,
        }


def make_app(settings: Settings) -> Any:
    from lms import create_app

    return create_app(settings.app_config())


def seed(n: int, parts: int) -> dict[str, Any]:
    """A university, a course and a programme with its certificate type, an administrator,
    and ``n`` trainees who completed the programme, split into ``parts`` cohorts."""
    from lms.auth.models import RoleAssignment, User
    from lms.catalog.models import Course
    from lms.certificates.models import CertificateType
    from lms.extensions import db
    from lms.learning.models import (
        Cohort,
        Enrolment,
        Programme,
        ProgrammeCompletion,
        ProgrammeCourse,
    )
    from lms.orgs.models import Organisation

    rng = random.Random(20261129)
    university = Organisation(
        code="BENCH-U", name="南京测试大学", name_en="Nanjing Test University", kind="university"
    )
    course = Course(
        code="BENCH-101",
        title="婴幼儿照护基础",
        title_en="Infant care basics",
        track="pre_service",
        level="foundation",
        status="published",
        partner_code="BENCH-U",
    )
    programme = Programme(
        code="BENCH-TP",
        title="婴幼儿照护专业人才培训",
        title_en="Infant and Toddler Care Professional Training",
        track="pre_service",
        tier="talent_pool",
        certificate_title="婴幼儿照护专业人才培训合格证书",
        certificate_title_en="Certificate of Infant and Toddler Care Professional Training",
    )
    programme.courses.append(ProgrammeCourse(course=course, required=True, position=1))
    ctype = CertificateType(
        programme=programme,
        serial_code="TP",
        title=programme.certificate_title,
        title_en=programme.certificate_title_en,
        tier="talent_pool",
        validity_years=3,
        issuer_name="南京市卫生健康委员会",
        issuer_name_en="Nanjing Municipal Health Commission",
        signatory_name="李文华",
        signatory_title="主任 Director",
    )
    admin = User(email="bench-admin@example.org", name="基准管理员")
    admin.role_assignments.append(RoleAssignment(role="admin"))
    db.session.add_all([university, course, programme, ctype, admin])
    db.session.flush()
    today = date.today()
    cohorts = [
        Cohort(
            code=f"BENCH-101-{part + 1:02d}",
            title=f"照护基础 第{part + 1}期",
            course=course,
            partner_id=university.id,
            starts_on=today,
            ends_on=today,
        )
        for part in range(parts)
    ]
    db.session.add_all(cohorts)
    people = []
    for number in range(n):
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))
        person = User(email=f"trainee{number:05d}@bench.example.org", name=name)
        person.role_assignments.append(RoleAssignment(role="trainee"))
        people.append(person)
    db.session.add_all(people)
    db.session.flush()
    for number, person in enumerate(people):
        db.session.add(ProgrammeCompletion(user_id=person.id, programme_id=programme.id, cycle=0))
        cohort = cohorts[number * parts // n]
        db.session.add(Enrolment(cohort_id=cohort.id, user_id=person.id, source="staff"))
    db.session.commit()
    return {"type_id": ctype.id, "admin_id": admin.id, "cohort_ids": [c.id for c in cohorts]}


def reuse(n: int, parts: int) -> dict[str, Any] | None:
    """The data of an earlier run with the same ``n`` and ``parts``, its certificates revoked
    (which makes everyone eligible again), or None when there is none."""
    from lms.auth.models import User
    from lms.certificates.models import Certificate, CertificateType
    from lms.db import utcnow
    from lms.extensions import db
    from lms.learning.models import Cohort

    admin = db.session.scalar(sa.select(User).where(User.email == "bench-admin@example.org"))
    ctype = db.session.scalar(sa.select(CertificateType).where(CertificateType.serial_code == "TP"))
    cohorts = db.session.scalars(
        sa.select(Cohort.id).where(Cohort.code.like("BENCH-101-%")).order_by(Cohort.id)
    ).all()
    people = db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.email.like("%@bench.example.org"))
    )
    if admin is None or ctype is None or len(cohorts) != parts or people != n:
        return None
    db.session.execute(
        sa.update(Certificate)
        .where(Certificate.type_id == ctype.id, Certificate.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason="benchmark rerun")
    )
    db.session.commit()
    return {"type_id": ctype.id, "admin_id": admin.id, "cohort_ids": list(cohorts)}


# Workers ------------------------------------------------------------------------------------


def run_jobs(settings: Settings, job_ids: Sequence[str], ready: Any, cpu: Any, index: int) -> None:
    """A process running the given jobs one after the other (embedded mode)."""
    from lms import jobs

    app = make_app(settings)
    with app.app_context():
        ready.wait()
        start = cpu_seconds()
        for job_id in job_ids:
            jobs.execute(job_id)
        cpu[index] = cpu_seconds() - start


def run_worker(settings: Settings, cpu: Any, index: int) -> None:
    """A process running `lms worker --queue bulk` (work horses included) until SIGTERM."""
    from lms.certificates import bulk

    app = make_app(settings)
    runner = app.test_cli_runner()
    with app.app_context():  # as the `lms` group gives every command
        start = cpu_seconds()
        result = runner.invoke(args=["worker", "--queue", bulk.QUEUE])
        cpu[index] = cpu_seconds() - start
    if result.exit_code:
        sys.exit(f"lms worker failed: {result.output} {result.exception!r}")


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (RQ's work horses)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def render_bare(documents: Sequence[str], base_url: str, ready: Any, cpu: Any, index: int) -> None:
    """A process rendering each certificate alone, as one would without batching."""
    from weasyprint import HTML

    ready.wait()
    start = time.process_time()
    for html in documents:
        HTML(string=html, base_url=base_url).write_pdf()
    cpu[index] = time.process_time() - start


def in_processes(target: Any, args_per_process: Sequence[tuple[Any, ...]]) -> tuple[float, float]:
    """Start one process per argument tuple, let them load, then time them from a common
    start until the last one ends: (seconds, CPU seconds of the processes)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(len(args_per_process) + 1)
    cpu = context.Array("d", len(args_per_process))
    processes = [
        context.Process(target=target, args=(*args, ready, cpu, index))
        for index, args in enumerate(args_per_process)
    ]
    for process in processes:
        process.start()
    ready.wait()
    start = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        sys.exit(f"a worker process failed (exit codes {failed})")
    return elapsed, sum(cpu)


def warm_up() -> None:
    """Let the system load the fonts once (fontconfig's cache), as on any running server."""
    from weasyprint import HTML

    HTML(string='<p style="font-family: sans-serif">预热 warm-up</p>').write_pdf()


# Measurements -------------------------------------------------------------------------------


def measure_bulk(settings: Settings, world: dict[str, Any], processes: int) -> tuple[float, float]:
    """(a): seconds (and CPU seconds) for the whole bulk issue, in this process or in
    ``processes`` workers."""
    from lms import jobs
    from lms.certificates import bulk
    from lms.extensions import db

    type_id, admin_id = world["type_id"], world["admin_id"]
    parts: list[int | None] = world["cohort_ids"] if processes > 1 else [None]
    if processes == 1 and not settings.redis_url:
        start, cpu = time.perf_counter(), time.process_time()
        bulk.start_bulk_issue(admin_id, type_id, None)
        return time.perf_counter() - start, time.process_time() - cpu
    if settings.redis_url:
        return measure_shared_bulk(settings, world, processes)
    job_ids = []
    for cohort_id in parts:
        job = jobs.Job(
            id=str(uuid.uuid4()),
            kind=bulk.JOB_KIND,
            args=[type_id, cohort_id, admin_id],
            requested_by_id=admin_id,
        )
        db.session.add(job)
        job_ids.append(job.id)
    db.session.commit()
    return in_processes(run_jobs, [(settings, [job_id]) for job_id in job_ids])


def measure_shared_bulk(
    settings: Settings, world: dict[str, Any], processes: int
) -> tuple[float, float]:
    """(a) with RQ: one bulk issue of the whole programme, as the HR page queues it, worked by
    ``processes`` running `lms worker` processes; timed from the click until its record says
    finished. Seconds and CPU seconds of the workers and their work horses."""
    from rq import Worker

    from lms import jobs
    from lms.certificates import bulk
    from lms.extensions import db

    context = multiprocessing.get_context("spawn")
    cpu = context.Array("d", processes)
    workers = [
        context.Process(target=run_worker, args=(settings, cpu, index))
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    queue = jobs.get_queue(bulk.QUEUE)
    deadline = time.monotonic() + 120
    while Worker.count(connection=jobs.redis_connection(), queue=queue) < processes:
        if time.monotonic() > deadline or not all(w.is_alive() for w in workers):
            sys.exit("the workers did not start")
        time.sleep(0.1)
    start = time.perf_counter()
    job_id = bulk.start_bulk_issue(world["admin_id"], world["type_id"], None).id
    while True:
        db.session.remove()
        state = db.session.scalar(sa.select(jobs.Job.state).where(jobs.Job.id == job_id))
        if state in (jobs.FINISHED, jobs.FAILED):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    for worker in workers:
        worker.terminate()  # SIGTERM: RQ's warm shut-down
    for worker in workers:
        worker.join()
    log(f"CPU seconds of each worker: {', '.join(f'{seconds:.1f}' for seconds in cpu)}")
    return elapsed, sum(cpu)


def check_bulk(n: int, earlier: set[str]) -> dict[str, Any]:
    """Every job of this run (not in ``earlier``) finished, ``n`` current certificates with
    PDFs and one ZIP each."""
    from lms import jobs
    from lms.certificates import bulk
    from lms.certificates.models import Certificate
    from lms.extensions import db

    db.session.remove()  # a fresh snapshot (SQLite keeps the one of an open read)
    done = db.session.scalars(
        sa.select(jobs.Job).where(jobs.Job.kind == bulk.JOB_KIND, jobs.Job.id.not_in(earlier))
    ).all()
    problems = [f"job {j.id}: {j.state} {j.message}" for j in done if j.state != "finished"]
    with_pdf = db.session.scalar(
        sa.select(sa.func.count(Certificate.id)).where(
            Certificate.pdf_sha256.is_not(None), Certificate.revoked_at.is_(None)
        )
    )
    if problems or with_pdf != n:
        sys.exit(f"the bulk issue did not complete: {with_pdf} of {n} PDFs; {problems}")
    zips = [bulk.zip_path(job) for job in done]
    return {
        "jobs": len(done),
        "pdf_bytes": db.session.scalar(
            sa.select(sa.func.sum(Certificate.pdf_size)).where(Certificate.revoked_at.is_(None))
        ),
        "zip_bytes": sum(path.stat().st_size for path in zips if path),
    }


def bare_documents() -> tuple[list[str], str]:
    """The HTML of each issued certificate as a standalone document (same template, same
    data: what :mod:`lms.certificates.rendering` lays out), and the base URL."""
    from markupsafe import Markup

    from lms.certificates import rendering
    from lms.certificates.models import Certificate
    from lms.extensions import db

    certificates = db.session.scalars(
        sa.select(Certificate).where(Certificate.revoked_at.is_(None)).order_by(Certificate.id)
    ).all()
    template = rendering.current_template(certificates[0].type_id)
    documents = [
        str(
            Markup(
                '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8">'
                "<title>{}</title><style>{}</style></head><body>{}</body></html>"
            ).format(
                certificate.holder_name,
                Markup(template.css),  # noqa: S704 - the template's own CSS
                rendering.render_html(template, rendering.certificate_context(certificate)),
            )
        )
        for certificate in certificates
    ]
    return documents, rendering.links_base() + "/"


def measure_bare(documents: list[str], base_url: str, processes: int) -> tuple[float, float]:
    """(b): seconds (and CPU seconds) to render each certificate with its own
    ``HTML().write_pdf()``."""
    if processes == 1:
        from weasyprint import HTML

        start, cpu = time.perf_counter(), time.process_time()
        for html in documents:
            HTML(string=html, base_url=base_url).write_pdf()
        return time.perf_counter() - start, time.process_time() - cpu
    shares = [(documents[part::processes], base_url) for part in range(processes)]
    return in_processes(render_bare, shares)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="eligible trainees (default 1000)")
    parser.add_argument("--scale", type=int, help="the same as --n (the runner's name)")
    parser.add_argument("--processes", type=int, default=1, help="workers for (a) and (b)")
    parser.add_argument("--database-url", help="PostgreSQL to use (emptied!); default SQLite")
    parser.add_argument("--redis-url", help="run (a) with `lms worker` processes on this Redis")
    parser.add_argument("--batch-size", type=int, help="certificates per WeasyPrint document")
    parser.add_argument("--reuse", action="store_true", help="keep the trainees of a last run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    n = args.scale or args.n
    if n < args.processes or args.processes < 1:
        parser.error("--n must be at least --processes, which must be at least 1")
    if args.processes > 1 and not (args.database_url or "").startswith("postgres"):
        parser.error(
            "--processes above 1 needs --database-url postgresql://...: SQLite takes one "
            "writer at a time (in the embedded mode jobs run inside the web process)"
        )

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        from lms.config import Defaults, normalise_database_url

        url = normalise_database_url(args.database_url or f"sqlite:///{tmp}/bench.sqlite3")
        settings = Settings(
            database_url=url,
            files_dir=str(Path(tmp) / "files"),
            redis_url=args.redis_url,
            queue_prefix=f"lms-bench-{os.getpid()}",
            batch_size=args.batch_size or Defaults.CERTIFICATE_BATCH_SIZE,
        )
        world = None
        if args.reuse and url.startswith("postgresql"):
            with make_app(settings).app_context():
                world = reuse(n, args.processes)
        if world is None:
            empty_database(url)
        app = make_app(settings)
        with app.app_context():
            from flask_migrate import upgrade

            from lms import jobs
            from lms.extensions import db

            if world is None:
                upgrade()
                log(f"seeding {n} trainees")
                world = seed(n, args.processes)
            else:
                log(f"reusing {n} trainees")
            earlier = set(db.session.scalars(sa.select(jobs.Job.id)))
            db.session.remove()
            warm_up()
            log(f"(a) bulk issue, {args.processes} worker(s)")
            bulk_seconds, bulk_cpu = measure_bulk(settings, world, args.processes)
            checked = check_bulk(n, earlier)
            documents, base_url = bare_documents()
            db.session.remove()
        log(f"(b) bare WeasyPrint, {args.processes} process(es)")
        bare_seconds, bare_cpu = measure_bare(documents, base_url, args.processes)

    import weasyprint

    bulk_rate, bare_rate = n / bulk_seconds, n / bare_seconds
    ratio, cpu_ratio = bulk_rate / bare_rate, bare_cpu / bulk_cpu
    bare_name = f"bare WeasyPrint, {args.processes} process(es)"
    goal = f">= {GOAL_RATIO}x bare"
    figures = [
        figure(f"bulk issue, {args.processes} worker(s)", bulk_rate, "certs/s", bare_name, ratio),
        figure(bare_name, bare_rate, "certs/s"),
        figure("bulk issue, CPU per certificate", 1000 * bulk_cpu / n, "ms"),
        figure("bare WeasyPrint, CPU per certificate", 1000 * bare_cpu / n, "ms"),
        figure("bulk issue vs bare, by CPU time", cpu_ratio, "x", bare_name, cpu_ratio),
    ]
    figures[0].update(goal=goal, met=ratio >= GOAL_RATIO)
    answer = {
        "benchmark": "certificates",
        "data": {
            "people": n,
            "certificates": n,
            "processes": args.processes,
            "database": sa.make_url(url).get_backend_name(),
            "jobs_via": "lms worker (RQ)" if args.redis_url else "in-process",
            "batch_size": settings.batch_size,
            "bulk_seconds": round(bulk_seconds, 2),
            "bare_seconds": round(bare_seconds, 2),
            **checked,
            "weasyprint": weasyprint.__version__,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        },
        "figures": figures,
    }
    print(f"certificates: {n} ({args.processes} process(es), {answer['data']['database']})")
    print(f"{'figure':44} {'value':>9} {'unit':8} {'ratio':>6}  goal")
    for row in figures:
        shown_ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else ""
        met = {True: "met", False: "NOT met", None: ""}[row["met"]]
        print(
            f"{row['name']:44} {row['value']:9.2f} {row['unit']:8} {shown_ratio:>6}  "
            f"{row['goal'] or ''} {met}"
        )
    print(
        "(CPU time: of the worker processes and their work horses, steadier on a busy "
        "machine; the database server is not counted)"
    )
    if args.json:
        write_result(args.json, "certificates", answer["data"], figures)
    return answer


def figure(
    name: str,
    value: float,
    unit: str,
    baseline: str | None = None,
    ratio: float | None = None,
) -> dict[str, Any]:
    """One row of the JSON contract of the benchmarks (``goal`` and ``met`` set by caller)."""
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "ratio": round(ratio, 2) if ratio is not None else None,
        "goal": None,
        "met": None,
    }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
