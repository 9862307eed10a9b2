"""``lms backup PATH`` and ``lms restore PATH``: the database and the file store in one file.

A backup is a gzipped tar archive holding, in this order:

- ``manifest.json``: when and by which version it was made, the database dialect and Alembic
  revision, the row count of every table, and the SHA-256 of the database dump;
- the database: ``database.sqlite3`` (SQLite's online backup API, a consistent copy while the
  app runs) or ``database.pgdump`` (``pg_dump --format=custom``, taken in the same snapshot
  the counts were read in);
- ``files/``: the file store (``FILES_DIR``: certificate PDFs, uploads, exports), without
  hidden and half-written (``*.part``) files.

The database is dumped before the files are read: the store only ever gains files, and a file
is written before the transaction that refers to it commits, so every file the dump refers
to is in the archive.

A restore refuses a target that already holds data unless ``--force``, checks the whole
archive (manifest, dialect, revision, checksum, safe member names) and unpacks it next to the
file store before it touches anything; then it replaces the database (SQLite: the backup API
again; PostgreSQL: ``pg_restore --single-transaction``, all or nothing) and moves the files
into the store. Files already in the store are kept; same-named files are replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import format_datetime
from flask_babel import gettext as _

from lms.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
FILES = "files"
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
DIALECT_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: The tables the summary names; every table is counted and checked.
KEY_TABLES = ("users", "course_completions", "programme_completions", "certificates")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the person at the console."""


@dataclass
class Summary:
    """What a backup holds, or what a restore brought back."""

    manifest: dict[str, Any]
    files: int


# --- the database -------------------------------------------------------------------------


def _url() -> sa.URL:
    return sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _dialect(url: sa.URL) -> str:
    name = url.get_backend_name()
    if name not in DUMP_NAMES:
        raise BackupError(_("Backups support SQLite and PostgreSQL, not %(name)s.", name=name))
    return name


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(_("An in-memory SQLite database cannot be backed up or restored."))
    return Path(url.database).resolve()


def _count_rows(conn: sa.Connection) -> dict[str, int]:
    """The number of rows of every table."""
    return {
        name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0
        for name in sorted(sa.inspect(conn).get_table_names())
    }


def _revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _holds_data(conn: sa.Connection) -> bool:
    """Whether any table other than Alembic's has a row (a migrated, unused database does not)."""
    for name in sa.inspect(conn).get_table_names():
        if name == "alembic_version":
            continue
        if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first():
            return True
    return False


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "%(tool)s was not found: install the PostgreSQL client programs (the same "
                "major version as the server or newer) and put them on the PATH.",
                tool=name,
            )
        )
    return path


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection string, and an environment carrying its password
    (never on the command line, where other users could read it; never a prompt)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None)
    return conninfo.render_as_string(hide_password=False), env


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    """Run a PostgreSQL client program; its complaint becomes the error."""
    done = subprocess.run(  # noqa: S603 (our own argument list, no shell)
        [_tool(tool), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s", tool=tool, error=done.stderr.strip() or done.returncode)
        )


def _dump_sqlite(url: sa.URL, out: Path) -> tuple[dict[str, int], str | None]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(_("The database file %(path)s does not exist.", path=source_path))
    source = sqlite3.connect(f"{source_path.as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{out}")
    try:
        with engine.connect() as conn:
            return _count_rows(conn), _revision(conn)
    finally:
        engine.dispose()


def _dump_postgresql(url: sa.URL, out: Path) -> tuple[dict[str, int], str | None]:
    """``pg_dump`` in the snapshot the counts are read in, so they describe the same data."""
    _tool("pg_dump")
    conninfo, env = _libpq(url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            counts, revision = _count_rows(conn), _revision(conn)
            _run(
                "pg_dump",
                [
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot}",
                    f"--file={out}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
    return counts, revision


def _restore_sqlite(url: sa.URL, dump: Path) -> None:
    """Copy the dump into the configured file with the backup API: other connections wait on
    its lock and then see the whole restored database."""
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    db.engine.dispose()
    source = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _restore_postgresql(url: sa.URL, dump: Path) -> None:
    conninfo, env = _libpq(url)
    db.engine.dispose()
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
    )


def _check_sqlite_dump(dump: Path) -> None:
    connection = sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(
            _("The database in the backup is damaged: %(error)s", error=error)
        ) from None
    finally:
        connection.close()
    if not verdict or verdict[0] != "ok":
        raise BackupError(_("The database in the backup is damaged: %(error)s", error=verdict))


# --- the file store -----------------------------------------------------------------------


def _files_dir() -> Path:
    return Path(current_app.config["FILES_DIR"]).resolve()


def _store_files(root: Path) -> Iterator[Path]:
    """The files of the store, without hidden ones (restore staging) and ``*.part`` files
    still being written."""
    if not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and not name.endswith(".part"):
                yield Path(folder) / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _app_version() -> str:
    try:
        return metadata.version("lms")
    except metadata.PackageNotFoundError:
        return "unknown"


def _script() -> ScriptDirectory:
    return ScriptDirectory(current_app.extensions["migrate"].directory)


# --- backup -------------------------------------------------------------------------------


def backup(path: Path) -> Summary:
    """Write the database and the file store into a new archive at ``path``."""
    url = _url()
    dialect = _dialect(url)
    if path.exists():
        raise BackupError(_("%(path)s already exists: give a new file name.", path=path))
    if not path.parent.is_dir():
        raise BackupError(_("The folder %(path)s does not exist.", path=path.parent))
    files_dir = _files_dir()
    with tempfile.TemporaryDirectory(prefix=".lms-backup-", dir=path.parent) as staging:
        dump = Path(staging) / DUMP_NAMES[dialect]
        if dialect == "sqlite":
            counts, revision = _dump_sqlite(url, dump)
        else:
            counts, revision = _dump_postgresql(url, dump)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "app_version": _app_version(),
            "alembic_revision": revision,
            "dialect": dialect,
            "database": dump.name,
            "database_sha256": _sha256(dump),
            "counts": counts,
        }
        manifest_file = Path(staging) / MANIFEST
        manifest_file.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        partial = Path(staging) / "archive.tar.gz"
        files = 0
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(manifest_file, MANIFEST)
            archive.add(dump, dump.name)
            for file in _store_files(files_dir):
                try:
                    archive.add(file, f"{FILES}/{file.relative_to(files_dir).as_posix()}")
                except FileNotFoundError:  # removed while we walked (a temporary export)
                    continue
                files += 1
        partial.replace(path)
    return Summary(manifest, files)


# --- restore ------------------------------------------------------------------------------


def _open_archive(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(_("%(path)s is not a file.", path=path))
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(
            _("%(path)s is not an lms backup: %(error)s", path=path, error=error)
        ) from None


def _damaged(path: Path, error: Exception) -> BackupError:
    return BackupError(_("%(path)s is damaged or incomplete: %(error)s", path=path, error=error))


def _read_manifest(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    bad = _("%(path)s is not an lms backup: it has no valid manifest.json.", path=path)
    try:
        stream = archive.extractfile(MANIFEST)
        manifest = json.load(stream) if stream else None
    except (KeyError, ValueError):
        raise BackupError(bad) from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise _damaged(path, error) from None
    if not isinstance(manifest, dict):
        raise BackupError(bad)
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _(
                "%(path)s is a backup of format %(format)s, which this version cannot read.",
                path=path,
                format=manifest.get("format"),
            )
        )
    dialect = manifest.get("dialect")
    if dialect not in DUMP_NAMES or manifest.get("database") != DUMP_NAMES[dialect]:
        raise BackupError(bad)
    if not isinstance(manifest.get("counts"), dict):
        raise BackupError(bad)
    return manifest


def _check_revision(manifest: dict[str, Any]) -> None:
    """Refuse a backup made by a newer version: its schema is unknown to this code."""
    revision = manifest.get("alembic_revision")
    if revision is None:
        return
    try:
        known = _script().get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            _(
                "The backup's schema (revision %(revision)s, lms %(version)s) is newer than this "
                "version of lms: install that version to restore it.",
                revision=revision,
                version=manifest.get("app_version"),
            )
        )


def _extract(archive: tarfile.TarFile, staging: Path, manifest: dict[str, Any], path: Path) -> None:
    """Unpack every member (refusing unexpected or unsafe names) and check the dump's hash."""
    allowed = {MANIFEST, manifest["database"]}
    try:
        for member in archive:
            if member.name not in allowed and not member.name.startswith(f"{FILES}/"):
                raise BackupError(
                    _(
                        "%(path)s is not an lms backup: unexpected member %(name)s.",
                        path=path,
                        name=member.name,
                    )
                )
            if not member.isfile():
                raise BackupError(
                    _(
                        "%(path)s is not an lms backup: %(name)s is not a regular file.",
                        path=path,
                        name=member.name,
                    )
                )
            archive.extract(member, staging, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise _damaged(path, error) from None
    dump = staging / manifest["database"]
    if not dump.is_file() or _sha256(dump) != manifest.get("database_sha256"):
        raise BackupError(
            _(
                "%(path)s is damaged: the database dump does not match its checksum.",
                path=path,
            )
        )
    if manifest["dialect"] == "sqlite":
        _check_sqlite_dump(dump)


def _target_holds_data(url: sa.URL) -> bool:
    if url.get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return _holds_data(conn)
    except sa.exc.DBAPIError as error:
        raise BackupError(_("Cannot open the database: %(error)s", error=error.orig)) from None
    finally:
        engine.dispose()


def _move_files(source: Path, target: Path) -> int:
    moved = 0
    for file in _store_files(source):
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file, destination)
        moved += 1
    return moved


def _restored_counts(url: sa.URL) -> tuple[dict[str, int], str | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return _count_rows(conn), _revision(conn)
    finally:
        engine.dispose()


def restore(path: Path, *, force: bool = False) -> Summary:
    """Restore the archive at ``path`` into the configured database and file store."""
    url = _url()
    dialect = _dialect(url)
    files_dir = _files_dir()
    with _open_archive(path) as archive:
        manifest = _read_manifest(archive, path)
        if manifest["dialect"] != dialect:
            raise BackupError(
                _(
                    "%(path)s is a backup of a %(theirs)s database; the configured database is "
                    "%(ours)s. Restore it into a %(theirs)s database.",
                    path=path,
                    theirs=DIALECT_NAMES[manifest["dialect"]],
                    ours=DIALECT_NAMES[dialect],
                )
            )
        _check_revision(manifest)
        if dialect == "postgresql":
            _tool("pg_restore")
        if not force:
            if _target_holds_data(url):
                raise BackupError(
                    _(
                        "The configured database already holds data: restore into an empty "
                        "database, or add --force to replace it."
                    )
                )
            if next(_store_files(files_dir), None) is not None:
                raise BackupError(
                    _(
                        "The file store %(path)s is not empty: restore into an empty folder, or "
                        "add --force to add the backup's files to it.",
                        path=files_dir,
                    )
                )
        files_dir.mkdir(parents=True, exist_ok=True)
        # Staged inside the store (hidden, so never backed up): on the same file system, the
        # checked files move into place by renaming, not by a second copy.
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=files_dir) as staging:
            _extract(archive, Path(staging), manifest, path)
            dump = Path(staging) / manifest["database"]
            if dialect == "sqlite":
                _restore_sqlite(url, dump)
            else:
                _restore_postgresql(url, dump)
            files = _move_files(Path(staging) / FILES, files_dir)
    counts, revision = _restored_counts(url)
    if revision != manifest.get("alembic_revision"):
        raise BackupError(_("The restored database does not carry the backup's schema revision."))
    differences = [
        f"{table}: {expected} -> {counts.get(table)}"
        for table, expected in sorted(manifest["counts"].items())
        if counts.get(table) != expected
    ]
    if differences:
        raise BackupError(
            _(
                "The restored database does not match the backup's counts: %(tables)s",
                tables="; ".join(differences),
            )
        )
    return Summary(manifest, files)


# --- commands -----------------------------------------------------------------------------


def _fail(error: BackupError) -> NoReturn:
    click.echo(str(error), err=True)
    sys.exit(1)


def _describe(summary: Summary) -> str:
    counts = summary.manifest["counts"]
    return _(
        "%(people)s people, %(courses)s course completions, %(programmes)s programme "
        "completions, %(certificates)s certificates, %(files)s files",
        people=counts.get("users", 0),
        courses=counts.get("course_completions", 0),
        programmes=counts.get("programme_completions", 0),
        certificates=counts.get("certificates", 0),
        files=summary.files,
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write the database and the file store into one new archive (.tar.gz) at PATH; safe
    while the app runs."""
    try:
        summary = backup(path)
    except BackupError as error:
        _fail(error)
    click.echo(_("Backed up to %(path)s: %(what)s.", path=path, what=_describe(summary)))


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Restore an archive made by `lms backup` into the configured database and file store."""
    try:
        summary = restore(path, force=force)
    except BackupError as error:
        _fail(error)
    made = datetime.fromisoformat(summary.manifest["created_at"])
    click.echo(
        _(
            "Restored from %(path)s (made %(made)s by lms %(version)s): %(what)s.",
            path=path,
            made=format_datetime(made, "short"),
            version=summary.manifest.get("app_version"),
            what=_describe(summary),
        )
    )
    if summary.manifest.get("alembic_revision") != _script().get_current_head():
        click.echo(_("The backup's schema is older than this version: now run `lms db upgrade`."))
