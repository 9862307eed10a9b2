"""Run every benchmark with its baseline, print one table of figures and ratios, and write it
as JSON (``make bench``). Never part of the tests.

Usage::

    python benchmarks/run.py [--quick] [--scales 10000,100000]
        [--only pages,certificates,reports,journey] [--json benchmarks/results/bench.json]
        [--reuse] [--postgres-url URL] [--redis-url URL] [--db-prefix NAME]

It starts PostgreSQL and Redis on loopback when they are not answering (as ``.ci/run`` does),
installs ``wrk`` with apt when it is missing and apt is there (else skips the page benchmark
with a note), creates its benchmark databases (``<db-prefix>_<what>``, emptied first unless
``--reuse``), loads ``lms demo --scale N`` into each once, then runs each benchmark script as
a subprocess with ``--database-url``, ``--redis-url``, ``--scale``, ``--reuse`` and
``--json``:

- ``reports.py`` at every scale, on PostgreSQL and on SQLite;
- ``pages.py`` at every scale, on PostgreSQL (the same database as the reports);
- ``certificates.py`` once, on PostgreSQL with Redis (it builds its own data);
- ``journey.py`` once, on PostgreSQL with Redis, at the smallest scale.

A script that is missing, fails or writes no JSON is reported as failed, with its error, and
the run goes on. The table has one row per figure (benchmark, figure, value, unit, baseline,
ratio, goal, met); the growth table gives, for every figure measured at the smallest and the
largest scale, how much it costs at the largest scale compared with the smallest and the
exponent ``k`` of ``cost ~ size^k`` (0: flat, 1: linear in the data). Everything, with the
machine's load, is written to the JSON file; each script's own output is kept beside it in
``logs/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
BENCHMARKS = ("reports", "pages", "certificates", "journey")
FULL_SCALES = (10_000, 100_000)
QUICK_SCALES = (1_000, 10_000)
#: Options each script gets beyond the common ones, full and ``--quick`` (passed only when
#: the script's ``--help`` lists them).
EXTRA: dict[str, dict[str, list[tuple[str, str | None]]]] = {
    "reports": {"full": [], "quick": [("--runs", "3")]},
    "pages": {"full": [], "quick": [("--quick", None), ("--duration", "5"), ("--warmup", "1")]},
    "certificates": {
        "full": [("--n", "1000"), ("--processes", "2")],
        "quick": [("--n", "200"), ("--processes", "2")],
    },
    "journey": {"full": [], "quick": [("--quick", None)]},
}
#: A script that runs longer than this is stopped and reported as failed.
TIMEOUT_SECONDS = {"full": 3 * 3600, "quick": 1800}


@dataclass
class Step:
    """One run of one benchmark script, and what came of it."""

    benchmark: str
    database: str
    scale: int | None
    status: str = "pending"  # ok, failed, skipped
    note: str | None = None
    seconds: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    command: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        scale = f" {_short(self.scale)}" if self.scale else ""
        return f"{self.benchmark} ({self.database}{scale})"


def _short(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def say(text: str) -> None:
    print(text, flush=True)


# Services ----------------------------------------------------------------------------------------


def _run_quiet(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, check=False).returncode == 0  # noqa: S603
    except FileNotFoundError:
        return False


def _wait_for(check: list[str], seconds: int = 30) -> bool:
    for _ in range(seconds):
        if _run_quiet(check):
            return True
        time.sleep(1)
    return False


def ensure_postgres(host: str, port: int) -> str | None:
    """Start the machine's PostgreSQL cluster if it does not answer; None when it answers,
    else what went wrong."""
    ready = ["pg_isready", "-h", host, "-p", str(port), "-q"]
    if _run_quiet(ready):
        return None
    clusters = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if not clusters or shutil.which("pg_ctlcluster") is None:
        return "PostgreSQL does not answer and no local cluster was found to start"
    say(f"starting PostgreSQL {clusters[-1].name}")
    _run_quiet(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1].name, "main", "start"])
    return None if _wait_for(ready) else "PostgreSQL did not start"


def ensure_redis(host: str, port: int) -> str | None:
    """Start a Redis server on loopback if none answers (no persistence)."""
    ping = ["redis-cli", "-h", host, "-p", str(port), "ping"]
    if _run_quiet(ping):
        return None
    if shutil.which("redis-server") is None:
        return "Redis does not answer and redis-server is not installed"
    say("starting Redis")
    _run_quiet(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
    )
    return None if _wait_for(ping) else "Redis did not start"


def ensure_wrk() -> str | None:
    """Install wrk with apt when missing and possible; None when it is there."""
    if shutil.which("wrk"):
        return None
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "wrk is not installed and cannot be installed here (apt-get as root)"
    say("installing wrk with apt-get")
    _run_quiet(["apt-get", "update", "-q"])
    _run_quiet(["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"])
    return None if shutil.which("wrk") else "apt-get could not install wrk"


# Databases and data ------------------------------------------------------------------------------


def fresh_postgres_database(server: str, name: str, reuse: bool) -> None:
    """Create database ``name`` (dropped first unless ``reuse``); it must be a *bench* one."""
    import sqlalchemy as sa

    if "bench" not in name:
        sys.exit(f"refusing to use {name!r}: benchmark database names contain 'bench'")
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not reuse:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def load_data(url: str, scale: int, log: Path) -> float:
    """Migrate, import ``courses/`` and run ``lms demo --scale`` (adds only what is missing);
    the seconds it took. Raises ``RuntimeError`` with the output when a step fails."""
    env = {k: v for k, v in os.environ.items() if k != "LMS_REDIS_URL"}
    env["LMS_DATABASE_URL"] = url
    lms = str(Path(sys.executable).with_name("lms"))
    start = time.perf_counter()
    with log.open("a") as out:
        for command in (
            [lms, "db", "upgrade"],
            [lms, "courses", "import", str(ROOT / "courses")],
            [lms, "demo", "--scale", str(scale)],
        ):
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            done = subprocess.run(  # noqa: S603 (our own commands, no shell)
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            )
            if done.returncode:
                raise RuntimeError(f"{' '.join(command[1:])} failed (see {log})")
    return time.perf_counter() - start


# Running one script ------------------------------------------------------------------------------


def accepted_options(script: Path) -> set[str]:
    """The long options a script's ``--help`` lists."""
    done = subprocess.run(  # noqa: S603 (our own scripts, no shell)
        [sys.executable, str(script), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", done.stdout))


def _with_options(accepted: set[str], wanted: list[tuple[str, str | None]]) -> list[str]:
    args: list[str] = []
    for option, value in wanted:
        if option in accepted:
            args += [option] if value is None else [option, value]
    return args


def _last_lines(path: Path, n: int = 12) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-n:])


def run_step(
    step: Step,
    *,
    database_url: str | None,
    redis_url: str | None,
    reuse: bool,
    mode: str,
    results: Path,
) -> None:
    """Run ``benchmarks/<step.benchmark>.py`` and read its JSON into ``step``."""
    script = HERE / f"{step.benchmark}.py"
    if not script.exists():
        step.status, step.note = "failed", f"{script.relative_to(ROOT)} does not exist yet"
        return
    tag = "-".join(str(p) for p in (step.benchmark, step.database, step.scale) if p)
    out_json = results / f"{tag}.json"
    log = results / "logs" / f"{tag}.log"
    out_json.unlink(missing_ok=True)
    try:
        accepted = accepted_options(script)
    except subprocess.TimeoutExpired:
        step.status, step.note = "failed", "--help did not answer"
        return
    if not accepted:
        step.status, step.note = "failed", f"{script.name} --help failed"
        return
    wanted: list[tuple[str, str | None]] = [
        ("--database-url", database_url),
        ("--redis-url", redis_url),
        ("--scale", str(step.scale) if step.scale else None),
        ("--json", str(out_json)),
    ]
    wanted = [(option, value) for option, value in wanted if value is not None]
    if reuse:
        wanted.append(("--reuse", None))
    wanted += EXTRA[step.benchmark][mode]
    step.command = [sys.executable, str(script), *_with_options(accepted, wanted)]
    say(f"-- {step.label}: {' '.join(step.command[1:])}")
    start = time.perf_counter()
    try:
        with log.open("w") as out:
            done = subprocess.run(  # noqa: S603 (our own scripts, no shell)
                step.command,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT_SECONDS[mode],
                check=False,
            )
    except subprocess.TimeoutExpired:
        step.status, step.note = "failed", f"stopped after {TIMEOUT_SECONDS[mode]} s (see {log})"
        return
    finally:
        step.seconds = round(time.perf_counter() - start, 1)
    print(log.read_text(errors="replace"), end="", flush=True)
    if done.returncode:
        step.status = "failed"
        step.note = f"exit {done.returncode}: {_last_lines(log, 3)}"
        return
    try:
        answer = json.loads(out_json.read_text())
        step.data = dict(answer.get("data") or {})
        step.figures = [dict(f) for f in answer["figures"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        step.status, step.note = "failed", f"no usable JSON in {out_json.name}: {error}"
        return
    step.status = "ok"


# Tables ------------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def render(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_number(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    numeric = {"value", "ratio", "x", "k", "at small", "at large"}
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                (c.rjust(w) if h in numeric else c.ljust(w))
                for h, c, w in zip(headers, row, widths, strict=True)
            )
        )
    return "\n".join(lines)


def figure_rows(steps: list[Step]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for step in steps:
        if step.status != "ok":
            rows.append([step.label, step.status.upper(), None, "", "", None, "", step.note])
            continue
        for f in step.figures:
            rows.append(
                [
                    step.label,
                    f.get("name"),
                    f.get("value"),
                    f.get("unit"),
                    f.get("baseline") or "",
                    f.get("ratio"),
                    f.get("goal") or "",
                    f.get("met"),
                ]
            )
    return rows


def _is_rate(unit: str) -> bool:
    return "/s" in unit


def growth(steps: list[Step]) -> list[dict[str, Any]]:
    """For each figure measured at the smallest and the largest scale of one benchmark and
    database: the cost at the largest over the cost at the smallest (for rates, the inverse),
    and ``k`` in ``cost ~ size^k``."""
    scaled = [s for s in steps if s.status == "ok" and s.scale]
    out = []
    for benchmark, database in sorted({(s.benchmark, s.database) for s in scaled}):
        mine = sorted(
            (s for s in scaled if (s.benchmark, s.database) == (benchmark, database)),
            key=lambda s: s.scale or 0,
        )
        if len(mine) < 2 or mine[0].scale == mine[-1].scale:
            continue
        small, large = mine[0], mine[-1]
        before = {f["name"]: f for f in small.figures}
        for f in large.figures:
            g = before.get(f["name"])
            if not g or not g.get("value") or not f.get("value") or g.get("unit") != f.get("unit"):
                continue
            unit = str(f.get("unit") or "")
            cost = g["value"] / f["value"] if _is_rate(unit) else f["value"] / g["value"]
            size = (large.scale or 1) / (small.scale or 1)
            k = math.log(cost) / math.log(size) if cost > 0 else None
            out.append(
                {
                    "benchmark": benchmark,
                    "database": database,
                    "figure": f["name"],
                    "unit": unit,
                    "small_scale": small.scale,
                    "large_scale": large.scale,
                    "at_small": g["value"],
                    "at_large": f["value"],
                    "cost_growth": round(cost, 2),
                    "size_growth": round(size, 2),
                    "k": None if k is None else round(k, 2),
                    "grows": None if k is None else _verdict(k),
                }
            )
    return out


def _verdict(k: float) -> str:
    if k < 0.25:
        return "flat"
    if k < 0.75:
        return "sub-linear"
    return "linear"


def growth_rows(found: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            f"{g['benchmark']} ({g['database']})",
            g["figure"],
            g["at_small"],
            g["at_large"],
            g["unit"],
            g["cost_growth"],
            g["k"],
            g["grows"],
        ]
        for g in found
    ]


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# Main --------------------------------------------------------------------------------------------


def _scales(text: str | None, quick: bool) -> list[int]:
    if not text:
        return list(QUICK_SCALES if quick else FULL_SCALES)
    try:
        scales = sorted({int(part.replace("_", "")) for part in text.split(",") if part})
    except ValueError:
        sys.exit(f"--scales: give numbers separated by commas, not {text!r}")
    if not scales or min(scales) < 1:
        sys.exit("--scales: give at least one positive number")
    return scales


def _only(text: str | None) -> list[str]:
    if not text:
        return list(BENCHMARKS)
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        sys.exit(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return [b for b in BENCHMARKS if b in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small scales, short runs")
    parser.add_argument("--scales", help="people per data set, e.g. 10000,100000")
    parser.add_argument("--only", help=f"comma-separated, of {','.join(BENCHMARKS)}")
    parser.add_argument("--json", dest="json_path", default=str(HERE / "results" / "bench.json"))
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--db-prefix", default="lms_runner_bench")
    args = parser.parse_args()

    mode = "quick" if args.quick else "full"
    scales = _scales(args.scales, args.quick)
    chosen = _only(args.only)
    json_path = Path(args.json_path).resolve()
    results = json_path.parent
    (results / "logs").mkdir(parents=True, exist_ok=True)
    (results / "data").mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    load_before = load_average()
    say(f"benchmarks: {', '.join(chosen)}; scales {', '.join(map(str, scales))}; {mode}")
    say(f"load average {load_before}")

    from sqlalchemy.engine import make_url

    server = args.postgres_url.rstrip("/")
    pg = make_url(f"{server}/postgres")
    redis_host, redis_port = _redis_address(args.redis_url)
    problems = {
        "postgresql": ensure_postgres(pg.host or "127.0.0.1", pg.port or 5432),
        "redis": ensure_redis(redis_host, redis_port),
    }
    wrk_problem = ensure_wrk() if "pages" in chosen else None

    steps: list[Step] = []
    loads: list[dict[str, Any]] = []
    prepared: dict[str, str | None] = {}

    def database(name: str, scale: int, sqlite: bool = False) -> tuple[str, str | None]:
        """The URL of a data set with ``scale`` people, loaded once; and an error, if any."""
        if sqlite:
            path = results / "data" / f"{name}.sqlite3"
            if not args.reuse:
                path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            if problems["postgresql"]:
                return "", problems["postgresql"]
            url = f"{server}/{args.db_prefix}_{name}"
        if url in prepared:
            return url, prepared[url]
        say(f"== data: {scale:,} people in {url}")
        try:
            if not sqlite:
                fresh_postgres_database(server, f"{args.db_prefix}_{name}", args.reuse)
            seconds = load_data(url, scale, results / "logs" / f"data-{name}.log")
            loads.append({"database": url, "people": scale, "seconds": round(seconds, 1)})
            say(f"   loaded in {seconds:.1f} s")
            prepared[url] = None
        except (RuntimeError, OSError) as error:
            prepared[url] = str(error)
        return url, prepared[url]

    def run(step: Step, url: str | None, error: str | None, redis: bool, reuse: bool) -> None:
        steps.append(step)
        if error:
            step.status, step.note = "failed", error
            return
        if redis and problems["redis"]:
            step.status, step.note = "failed", problems["redis"]
            return
        run_step(
            step,
            database_url=url,
            redis_url=args.redis_url if redis else None,
            reuse=reuse,
            mode=mode,
            results=results,
        )

    for scale in scales:
        if "reports" in chosen:
            url, error = database(str(scale), scale)
            run(Step("reports", "postgresql", scale), url, error, False, True)
            url, error = database(f"reports-{scale}", scale, sqlite=True)
            run(Step("reports", "sqlite", scale), url, error, False, True)
        if "pages" in chosen:
            step = Step("pages", "postgresql", scale)
            if wrk_problem:
                steps.append(step)
                step.status, step.note = "skipped", wrk_problem
            else:
                url, error = database(str(scale), scale)
                run(step, url, error, True, True)
    if "certificates" in chosen:
        url = f"{server}/{args.db_prefix}_certificates"
        error = problems["postgresql"]
        if not error:
            fresh_postgres_database(server, f"{args.db_prefix}_certificates", True)
        run(Step("certificates", "postgresql", None), url, error, True, False)
    if "journey" in chosen:
        url, error = database("journey", scales[0])
        run(Step("journey", "postgresql", scales[0]), url, error, True, True)

    found = growth(steps)
    headers = ["benchmark", "figure", "value", "unit", "baseline", "ratio", "goal", "met"]
    say("")
    say(render(headers, figure_rows(steps)))
    if found:
        say("")
        say("growth: cost at the largest scale / cost at the smallest (k: cost ~ size^k)")
        say(
            render(
                ["benchmark", "figure", "at small", "at large", "unit", "x", "k", "grows"],
                growth_rows(found),
            )
        )
    load_after = load_average()
    say(f"\nload average {load_after}")
    summary = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "scales": scales,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": load_after,
        },
        "services": problems | {"wrk": wrk_problem},
        "data_loads": loads,
        "runs": [asdict(s) | {"label": s.label} for s in steps],
        "growth": found,
    }
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    say(f"written to {json_path}")
    failed = [s.label for s in steps if s.status == "failed"]
    if failed:
        say(f"failed: {', '.join(failed)}")
        sys.exit(1)


def _redis_address(url: str) -> tuple[str, int]:
    match = re.match(r"redis://(?:[^@/]*@)?([^:/]+)(?::(\d+))?", url)
    if not match:
        sys.exit(f"--redis-url: not a redis:// URL: {url!r}")
    return match.group(1), int(match.group(2) or 6379)


if __name__ == "__main__":
    main()
