"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

The database is SQLite in a temporary folder, or the PostgreSQL database named by
``LMS_DATABASE_URL`` (emptied first: its name must contain "test"). Redis is the server at
``LMS_REDIS_URL`` when set, else jobs run in-process as in the embedded mode.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer
from rq import SimpleWorker

from lms import create_app, jobs
from lms.config import normalise_database_url
from lms.extensions import db
from tests import factories
from tests.factories import TEST_PASSWORD


def database_url(tmp: Path) -> str:
    url = os.environ.get("LMS_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / 'test.sqlite3'}"
    url = normalise_database_url(url)
    if "test" not in sa.make_url(url).database:
        raise pytest.UsageError(f"refusing to empty {url}: use a database named *test*")
    return url


def reset_database(url: str) -> None:
    """Drop everything in a PostgreSQL test database (SQLite starts from a new file)."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


class Client(FlaskClient):
    """A test client whose POSTs carry a valid CSRF token unless ``csrf=False``."""

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())  # noqa: S324
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            kwargs["data"] = {"csrf_token": self.csrf_token(), **(data or {})}
        return super().post(*args, **kwargs)

    def use_language(self, locale: str) -> None:
        """Pick the page language for this browser (a signed-in person's choice wins)."""
        with self.session_transaction() as sess:
            sess["locale"] = locale

    def login(self, user: Any, password: str = TEST_PASSWORD) -> Any:
        """Sign in through the real form."""
        return self.post("/login", data={"email": user.email, "password": password})


def _fresh_globals(sender: Flask, **extra: Any) -> None:
    vars(g._get_current_object()).clear()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("lms")
    url = database_url(tmp)
    reset_database(url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "FILES_DIR": str(tmp / "files"),
            "REDIS_URL": os.environ.get("LMS_REDIS_URL") or None,
            "JOB_QUEUE_PREFIX": f"lms-test-{os.getpid()}",
            "SERVER_NAME": "localhost",
            # Tests look certificates up far more often than a person would; the rate-limit
            # tests set their own small limit.
            "VERIFY_RATE_LIMIT": "10000 per minute",
            "LOGIN_RATE_LIMIT": "10000 per minute",
        }
    )
    app.test_client_class = Client
    # The test keeps an app context open (for db.session), which requests would reuse along
    # with its ``g``: start every request with an empty ``g`` as a real server does.
    request_started.connect(_fresh_globals, app, weak=False)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield app


@pytest.fixture(autouse=True)
def transaction(app: Flask) -> Iterator[sa.Connection]:
    """Run the test inside a transaction that is rolled back afterwards.

    Every session (requests, jobs, the CLI) uses the same connection; their commits only
    release savepoints. ``db.engines`` is pointed at the connection for the test's duration.
    """
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection  # type: ignore[assignment]
        factory = db.session.session_factory
        saved = dict(factory.kw)
        factory.configure(join_transaction_mode="create_savepoint")
        db.session.remove()
        try:
            yield connection
        finally:
            db.session.remove()
            factory.kw.clear()
            factory.kw.update(saved)
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def english(app: Flask) -> Iterator[None]:
    """Messages from services, jobs and commands in English (they default to Chinese)."""
    with force_locale("en"):
        yield


@pytest.fixture
def client(app: Flask) -> Client:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Any:
    """Create a person with roles (and a known password) and commit them."""

    def make(*roles: str, **kwargs: Any) -> Any:
        user = factories.UserFactory(roles=list(roles) or ["trainee"], **kwargs)
        db.session.commit()
        return user

    return make


class QueryLog:
    """The SQL statements one ``with count_queries as q:`` block ran."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


class QueryCounter:
    """Counts the SQL statements run on the test connection, per block: each ``with`` gives
    its own :class:`QueryLog`, so two blocks of one test can be compared."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.log = QueryLog()

    def __enter__(self) -> QueryLog:
        self.log = QueryLog()
        sa.event.listen(self.connection, "before_cursor_execute", self.log.record)
        return self.log

    def __exit__(self, *exc: Any) -> None:
        sa.event.remove(self.connection, "before_cursor_execute", self.log.record)


@pytest.fixture
def count_queries(transaction: sa.Connection) -> QueryCounter:
    """``with count_queries as q: client.get(...)``, then ``q.count``."""
    return QueryCounter(transaction)


def run_queued_jobs(app: Flask) -> None:
    """With Redis (CI), work the queue in this process as `lms worker` would.

    Without Redis the jobs have already run, in-process, when ``enqueue`` returned.
    """
    if app.config.get("REDIS_URL"):
        queues = [jobs.get_queue(name) for name in app.config["JOB_QUEUES"]]
        SimpleWorker(queues, connection=jobs.redis_connection()).work(burst=True)


def form_errors(html: str) -> list[str]:
    """The field error messages shown on a page."""
    return re.findall(r'class="field-error">([^<]*)<', html)


@pytest.fixture
def learning_world(app: Flask) -> Any:
    """A course, quiz, practical, programme and cohort with one enrolled trainee
    (see :mod:`tests.builders`)."""
    from tests.builders import build_learning_world

    return build_learning_world()
