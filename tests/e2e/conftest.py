"""Browser tests: the app served by gunicorn on localhost, driven by Playwright in Chromium.

One server for the whole run, on a database of its own loaded the way ``make run`` loads it
(``lms db upgrade``, ``lms courses import courses``, ``lms demo``, see :mod:`tests.e2e.prepare`):
a new SQLite file, or, when ``LMS_DATABASE_URL`` names the suite's PostgreSQL database, a
database next to it named ``<name>_e2e``. With ``LMS_REDIS_URL`` set an ``lms worker`` runs the
jobs (on the next Redis database number, or ``LMS_E2E_REDIS_URL``), so progress bars move as
in production; without it jobs run inside the web process.

The browser is Debian's ``/usr/bin/chromium`` (``LMS_E2E_CHROMIUM`` to use another); Playwright
never downloads one. Without it every test here is skipped. Screenshots go to
``tests/e2e/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.config import normalise_database_url

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("LMS_E2E_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = HERE / "artifacts"
START_TIMEOUT = 60  # seconds for gunicorn to answer /healthz


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test in a real browser (tests/e2e)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here ``e2e``; skip them, saying why, when Chromium is not installed."""
    skip = None
    if not CHROMIUM.exists():
        skip = pytest.mark.skip(
            reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if skip is not None:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def transaction() -> None:
    """The browser tests talk to their own server and database: no rolled-back transaction
    on the suite's test database (this replaces the fixture of ``tests/conftest.py``)."""


@dataclass
class LiveServer:
    """The running app: its address, its environment and what the journeys share."""

    url: str
    env: dict[str, str]
    #: ``lms report targets --format json`` before any journey ran.
    baseline: dict[str, Any]
    #: What one journey leaves for another (e.g. the certificates the HR officer issued).
    shared: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """Run ``lms ARGS`` against the server's database and return its output."""
        return _run([str(BIN / "lms"), *args], self.env)

    def valid(self, tier: str) -> int:
        """Valid certificates of ``tier`` now, as the command line reports them."""
        report = json.loads(self.cli("report", "targets", "--format", "json"))
        return next(int(t["valid"]) for t in report["tiers"] if t["tier"] == tier)


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603  (our own commands, no shell)
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _next_redis_db(url: str) -> str:
    """The same Redis server, the next database number (the suite keeps to its own)."""
    base, _, number = url.rpartition("/")
    if base.endswith(":") or not number.isdigit():  # no database number given: db 0
        return f"{url.rstrip('/')}/1"
    return f"{base}/{(int(number) + 1) % 16}"


def _forget_redis_keys(url: str, tag: str) -> None:
    """Delete this run's queues and rate-limit counters (their names carry ``tag``); RQ's job
    records expire by themselves."""
    import redis

    connection = redis.Redis.from_url(url)
    try:
        keys = list(connection.scan_iter(match=f"*{tag}*", count=1000))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


class _Database:
    """A new, empty database for the server; dropped afterwards (PostgreSQL)."""

    def __init__(self, tmp: Path) -> None:
        suite_url = os.environ.get("LMS_DATABASE_URL")
        self.admin: sa.Engine | None = None
        # Two web processes on PostgreSQL, as in production. On SQLite one: two processes
        # writing at once can fail with "database is locked" (a transaction that read first
        # cannot take the write lock: SQLite answers at once instead of waiting), e.g. a quiz
        # submitted while its autosave is running. LMS_E2E_WORKERS=2 shows it.
        self.web_workers = "2"
        if not suite_url:
            self.url = f"sqlite:///{tmp / 'e2e.sqlite3'}"
            self.web_workers = "1"
            return
        url = sa.make_url(normalise_database_url(suite_url))
        if "test" not in (url.database or ""):
            raise pytest.UsageError(f"refusing to use {url!r}: use a database named *test*")
        self.name = f"{url.database}_e2e"
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self._drop()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def _drop(self) -> None:
        assert self.admin is not None
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.admin is not None:
            self._drop()
            self.admin.dispose()


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if json.load(response).get("status") == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz in {START_TIMEOUT}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[LiveServer]:
    """gunicorn serving the demo data, ready at ``live_server.url``."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database = _Database(tmp)
    tag = f"lms-e2e-{os.getpid()}"
    env = {
        **os.environ,
        "LMS_DATABASE_URL": database.url,
        "LMS_FILES_DIR": str(tmp / "files"),
        "LMS_SECRET_KEY": os.urandom(16).hex(),
        "LMS_SERVER_NAME_FOR_LINKS": url,  # what the QR codes on the PDFs open
        "LMS_JOB_QUEUE_PREFIX": tag,
        "LMS_RATELIMIT_KEY_PREFIX": tag,
        "LMS_CERTIFICATE_BATCH_SIZE": "1",  # progress after every certificate
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    redis_url = os.environ.get("LMS_REDIS_URL")
    if redis_url:
        env["LMS_REDIS_URL"] = os.environ.get("LMS_E2E_REDIS_URL") or _next_redis_db(redis_url)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        baseline = json.loads(_run([sys.executable, "-m", "tests.e2e.prepare"], env))
        lms = str(BIN / "lms")
        if redis_url:
            with (artifacts / "worker.log").open("wb") as out:
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        [lms, "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
                    )
                )
        log = artifacts / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(  # noqa: S603
                [
                    str(BIN / "gunicorn"),
                    *("-w", os.environ.get("LMS_E2E_WORKERS") or database.web_workers),
                    *("-b", f"127.0.0.1:{port}", "lms:create_app()"),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
            )
        processes.append(server)
        _wait_healthy(url, server, log)
        yield LiveServer(url=url, env=env, baseline=baseline)
    finally:
        for process in reversed(processes):
            _stop(process)
        database.close()
        if redis_url:
            _forget_redis_keys(env["LMS_REDIS_URL"], tag)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started once."""
    from playwright.sync_api import sync_playwright

    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """An empty ``tests/e2e/artifacts/`` for this run: screenshots, axe reports, the logs of
    the server and the worker."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
