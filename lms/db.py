"""Declarative base with a constraint naming convention, column types and mixins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Alembic and both databases get the same, predictable constraint names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware.

    SQLite keeps no time zone and PostgreSQL would convert to the session's zone; storing UTC
    without a zone behaves the same on both.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class TimestampMixin:
    """``created_at`` and ``updated_at``, kept by the database session."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Make SQLite behave: foreign keys on, WAL for concurrent readers, real transactions.

    pysqlite begins transactions lazily and breaks SAVEPOINT; taking over BEGIN (the recipe
    from SQLAlchemy's SQLite documentation) makes nested transactions work as on PostgreSQL.
    """
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: sa.Connection) -> None:
    """SQLite: a transaction that may write takes the write lock when it begins.

    A deferred transaction that reads, then writes while another connection writes, fails at
    once with "database is locked" (it cannot wait: waiting could deadlock); one begun with
    ``BEGIN IMMEDIATE`` waits its turn (``busy_timeout``) instead. Reading pages (GET) keep
    deferred transactions so that they never wait for writers (WAL).
    """
    if conn.dialect.name != "sqlite":
        return
    reading = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# Read-only requests end with COMMIT -----------------------------------------------------------


_NOT_WRITES = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(
    conn: sa.Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    """Remember, for the request, that a statement that may write ran: anything but a
    SELECT and transaction control (see :func:`end_read_only_requests`)."""
    if has_request_context() and not statement.lstrip()[:9].upper().startswith(_NOT_WRITES):
        g._lms_wrote = True


def end_read_only_requests(app: Flask) -> None:
    """End the transaction of a request that wrote nothing with COMMIT instead of ROLLBACK.

    Both are the same for a transaction that only read. The difference is psycopg's: a
    ROLLBACK also deallocates every prepared statement of the connection, so pages that only
    read never reused a prepared statement and PostgreSQL planned each of their queries again
    on every request (most of a lesson page's database time: 9.1 ms per page in-process
    became 5.9 ms). A request that failed, ran any other statement than a read, or holds
    unsaved changes in its session is left to the usual ROLLBACK, so nothing is saved that
    the request did not save itself.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from lms.extensions import db

    @app.teardown_request  # before Flask-SQLAlchemy removes the session (app teardown)
    def _commit_if_read_only(error: BaseException | None) -> None:
        session = db.session()
        if error is not None or g.get("_lms_wrote") or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        try:
            session.commit()
        except SQLAlchemyError:  # a connection lost at the end: the rollback that follows
            session.rollback()
