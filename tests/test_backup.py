"""``lms backup`` and ``lms restore``: a backup restored into an empty database and an empty
file store brings back every person, completion and certificate, with PDFs matching their
hashes; bad archives and occupied targets are refused with nothing restored.

Backups read committed data through other connections (``pg_dump``, SQLite's backup API), so
these tests do not use the suite's rolled-back transaction: the world is built, committed and
backed up in a database of its own (a new SQLite file, or ``<suite db>_backup_src`` on
PostgreSQL), and each restore goes into a new empty database (``<suite db>_restore``) that is
dropped afterwards. Each app's commands run inside that app's context.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from lms import create_app
from lms.auth.models import User
from lms.certificates import issuing
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CourseCompletion, ProgrammeCompletion
from tests.builders import build_learning_world
from tests.factories import UserFactory

TRAINEES = 3


def make_app(url: str, files_dir: Path) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "FILES_DIR": str(files_dir),
            "REDIS_URL": None,
            "SERVER_NAME": "localhost",
        }
    )


def invoke(app: Flask, *args: str, english: bool = True) -> Any:
    """Run an ``lms`` command against ``app`` (its own context: the suite's is open too)."""
    with app.app_context():
        if not english:
            return app.test_cli_runner().invoke(args=list(args))
        with force_locale("en"):
            return app.test_cli_runner().invoke(args=list(args))


class Databases:
    """New databases of the suite's kind, dropped again at the end."""

    def __init__(self, suite_url: str, folder: Path) -> None:
        self.url = sa.make_url(suite_url)
        self.folder = folder
        self.made: list[str] = []

    @property
    def postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def new(self, suffix: str) -> str:
        if not self.postgresql:
            (self.folder / f"{suffix}.sqlite3").unlink(missing_ok=True)
            return f"sqlite:///{self.folder / f'{suffix}.sqlite3'}"
        name = f"{self.url.database}_{suffix}"
        with self._admin() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if not self.postgresql:
            Path(sa.make_url(url).database or "").unlink(missing_ok=True)
            return
        name = sa.make_url(url).database
        with self._admin() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @contextmanager
    def _admin(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()


@dataclass
class Contents:
    """What a database and file store hold, as comparable sets."""

    people: set[tuple[int, str]]
    course_completions: set[tuple[int, int, int]]
    programme_completions: set[tuple[int, int, int]]
    certificates: set[tuple[str, str, int, str | None]]
    files: dict[str, str]


def read_contents(url: str, files_dir: Path) -> Contents:
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            return Contents(
                people=set(session.execute(sa.select(User.id, User.email)).tuples()),
                course_completions=set(
                    session.execute(
                        sa.select(
                            CourseCompletion.id,
                            CourseCompletion.user_id,
                            CourseCompletion.course_id,
                        )
                    ).tuples()
                ),
                programme_completions=set(
                    session.execute(
                        sa.select(
                            ProgrammeCompletion.id,
                            ProgrammeCompletion.user_id,
                            ProgrammeCompletion.programme_id,
                        )
                    ).tuples()
                ),
                certificates=set(
                    session.execute(
                        sa.select(
                            Certificate.serial,
                            Certificate.code,
                            Certificate.holder_id,
                            Certificate.pdf_sha256,
                        )
                    ).tuples()
                ),
                files={
                    path.relative_to(files_dir).as_posix(): sha256(path)
                    for path in sorted(files_dir.rglob("*"))
                    if path.is_file()
                },
            )
    finally:
        engine.dispose()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class World:
    databases: Databases
    archive: Path
    contents: Contents
    output: str


def build_and_commit() -> None:
    """The learning world, two more trainees, course and programme completions for all three,
    and their certificates issued with PDFs by the issuing service; committed."""
    world = build_learning_world()
    trainees = [world.trainee, *(UserFactory(roles=["trainee"]) for _ in range(TRAINEES - 1))]
    for trainee in trainees:
        db.session.add(
            CourseCompletion(user_id=trainee.id, course_id=world.course.id, completed_at=utcnow())
        )
        db.session.add(
            ProgrammeCompletion(
                user_id=trainee.id, programme_id=world.programme.id, cycle=0, completed_at=utcnow()
            )
        )
    db.session.flush()
    certificates = [
        issuing.create_certificate(None, trainee.id, world.certificate_type.id)
        for trainee in trainees
    ]
    issuing.render_and_store(certificates)
    db.session.commit()


@pytest.fixture(scope="module")
def backed_up(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("backup")
    databases = Databases(app.config["SQLALCHEMY_DATABASE_URI"], folder)
    source_url = databases.new("backup_src")
    files_dir = folder / "source-files"
    source = make_app(source_url, files_dir)
    try:
        with source.app_context():
            upgrade()
            build_and_commit()
            db.session.remove()
            (files_dir / "uploads").mkdir(parents=True)
            (files_dir / "uploads" / "roster.csv").write_text("姓名,邮箱\n")
            (files_dir / "uploads" / "half-written.csv.123.part").write_text("x")
        archive = folder / "lms-backup.tar.gz"
        result = invoke(source, "backup", str(archive))
        assert result.exit_code == 0, result.output
        contents = read_contents(source_url, files_dir)
        del contents.files["uploads/half-written.csv.123.part"]
        yield World(databases, archive, contents, result.output)
    finally:
        with source.app_context():
            db.engine.dispose()
        databases.drop(source_url)


@pytest.fixture
def target(backed_up: World, tmp_path: Path) -> Iterator[tuple[Flask, str, Path]]:
    """An app on a new, empty database (no tables at all) and a new, empty file store."""
    url = backed_up.databases.new("restore")
    files_dir = tmp_path / "files"
    restored = make_app(url, files_dir)
    try:
        yield restored, url, files_dir
    finally:
        with restored.app_context():
            db.engine.dispose()
        backed_up.databases.drop(url)


def test_the_backup_holds_a_manifest_the_database_and_the_files(backed_up: World) -> None:
    assert backed_up.output.startswith(f"Backed up to {backed_up.archive}: {1 + TRAINEES} people, ")
    with tarfile.open(backed_up.archive) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    dump = "database.pgdump" if backed_up.databases.postgresql else "database.sqlite3"
    assert names[:2] == ["manifest.json", dump]
    assert set(names[2:]) == {f"files/{f}" for f in backed_up.contents.files}
    assert manifest["dialect"] == ("postgresql" if backed_up.databases.postgresql else "sqlite")
    assert manifest["alembic_revision"] and len(manifest["database_sha256"]) == 64
    counts = manifest["counts"]
    assert counts["users"] == len(backed_up.contents.people) == 1 + TRAINEES
    assert counts["course_completions"] == counts["programme_completions"] == TRAINEES
    assert counts["certificates"] == TRAINEES


def test_restore_into_an_empty_database_brings_back_everything(
    backed_up: World, target: tuple[Flask, str, Path]
) -> None:
    restored, url, files_dir = target
    result = invoke(restored, "restore", str(backed_up.archive))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Restored from {backed_up.archive} (made ")
    assert f"{1 + TRAINEES} people, {TRAINEES} course completions" in result.output
    assert "lms db upgrade" not in result.output  # the backup is at the code's revision

    contents = read_contents(url, files_dir)
    expected = backed_up.contents
    assert contents.people == expected.people
    assert contents.course_completions == expected.course_completions
    assert contents.programme_completions == expected.programme_completions
    assert contents.certificates == expected.certificates
    assert len(contents.certificates) == TRAINEES
    assert contents.files == expected.files
    with restored.app_context():
        for certificate in db.session.scalars(sa.select(Certificate)):
            assert certificate.pdf_sha256
            assert sha256(issuing.pdf_path(certificate)) == certificate.pdf_sha256
        db.session.remove()


def test_the_summary_is_in_chinese_by_default(
    backed_up: World, target: tuple[Flask, str, Path]
) -> None:
    restored, _url, _files = target
    result = invoke(restored, "restore", str(backed_up.archive), english=False)
    assert result.exit_code == 0, result.output
    # The date as Chinese writes it ("2026/11/30 09:00", English: "11/30/26, 9:00 AM"): the
    # messages themselves read in Chinese once the catalogue has them.
    assert re.search(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}", result.output), result.output


def test_a_database_or_file_store_holding_data_is_replaced_only_with_force(
    backed_up: World, target: tuple[Flask, str, Path]
) -> None:
    restored, url, files_dir = target
    assert invoke(restored, "restore", str(backed_up.archive)).exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a change made after the backup
        conn.execute(sa.update(User).values(name="改过的名字"))
    engine.dispose()

    refused = invoke(restored, "restore", str(backed_up.archive))
    assert refused.exit_code == 1
    assert "already holds data" in refused.output and "--force" in refused.output
    assert _names(url) == {"改过的名字"}

    forced = invoke(restored, "restore", "--force", str(backed_up.archive))
    assert forced.exit_code == 0, forced.output
    assert "改过的名字" not in _names(url)
    contents = read_contents(url, files_dir)
    assert contents.people == backed_up.contents.people
    assert contents.certificates == backed_up.contents.certificates


def test_a_file_store_holding_files_is_refused_without_force(
    backed_up: World, target: tuple[Flask, str, Path]
) -> None:
    restored, url, files_dir = target
    files_dir.mkdir()
    (files_dir / "someone-elses.pdf").write_bytes(b"%PDF")
    refused = invoke(restored, "restore", str(backed_up.archive))
    assert refused.exit_code == 1 and "is not empty" in refused.output
    assert _tables(url) == set()


def _names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(sa.select(User.name)))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _rewrite(source: Path, out: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Copy an archive, changing its manifest."""
    with tarfile.open(source) as archive, tarfile.open(out, "w:gz") as copy:
        for member in archive:
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))


def _add_member(source: Path, out: Path, name: str, link_to: str | None = None) -> None:
    """Copy an archive and add a file (or a symbolic link) named ``name`` at its end."""
    with tarfile.open(source) as archive:
        members = [(m, archive.extractfile(m).read()) for m in archive]  # type: ignore[union-attr]
    with tarfile.open(out, "w:gz") as archive:
        for member, data in members:
            archive.addfile(member, io.BytesIO(data))
        evil = tarfile.TarInfo(name)
        if link_to:
            evil.type, evil.linkname = tarfile.SYMTYPE, link_to
            archive.addfile(evil)
        else:
            evil.size = 4
            archive.addfile(evil, io.BytesIO(b"evil"))


def _other_dialect(manifest: dict[str, Any]) -> None:
    if manifest["dialect"] == "sqlite":
        manifest.update(dialect="postgresql", database="database.pgdump")
    else:
        manifest.update(dialect="sqlite", database="database.sqlite3")


BAD_ARCHIVES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "not an archive": (
        lambda source, out: out.write_bytes(b"\x00" * 10 + "不是备份".encode()),
        "is not an lms backup",
    ),
    "cut short": (
        lambda source, out: out.write_bytes(source.read_bytes()[: source.stat().st_size // 2]),
        "is damaged or incomplete",
    ),
    "dump changed": (
        lambda source, out: _rewrite(source, out, lambda m: m.update(database_sha256="0" * 64)),
        "does not match its checksum",
    ),
    "no manifest": (
        lambda source, out: tarfile.open(out, "w:gz").close(),
        "has no valid manifest.json",
    ),
    "other database kind": (
        lambda source, out: _rewrite(source, out, _other_dialect),
        "Restore it into a",
    ),
    "newer schema": (
        lambda source, out: _rewrite(source, out, lambda m: m.update(alembic_revision="f" * 12)),
        "is newer than this version of lms",
    ),
    "path outside the store": (
        lambda source, out: _add_member(source, out, "files/../../escape.txt"),
        "outside the destination",
    ),
    "link in the store": (
        lambda source, out: _add_member(source, out, "files/passwd", link_to="/etc/passwd"),
        "files/passwd is not a regular file",
    ),
    "unexpected member": (
        lambda source, out: _add_member(source, out, "run-me.sh"),
        "unexpected member run-me.sh",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_a_bad_archive_is_refused_and_nothing_is_restored(
    backed_up: World, target: tuple[Flask, str, Path], tmp_path: Path, case: str
) -> None:
    restored, url, files_dir = target
    make, message = BAD_ARCHIVES[case]
    bad = tmp_path / "bad.tar.gz"
    make(backed_up.archive, bad)
    result = invoke(restored, "restore", str(bad))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert _tables(url) == set()
    assert not [p for p in files_dir.rglob("*") if p.is_file()]
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_backup_never_overwrites_a_file(backed_up: World) -> None:
    source = make_app("sqlite:///unused.sqlite3", backed_up.archive.parent / "unused")
    before = backed_up.archive.read_bytes()
    result = invoke(source, "backup", str(backed_up.archive))
    assert result.exit_code == 1 and "already exists" in result.output
    assert backed_up.archive.read_bytes() == before


def test_without_the_postgresql_client_programs_the_commands_say_so(
    backed_up: World, target: tuple[Flask, str, Path], tmp_path: Path, monkeypatch: Any
) -> None:
    if not backed_up.databases.postgresql:
        pytest.skip("pg_dump and pg_restore serve PostgreSQL only")
    restored, url, _files = target
    monkeypatch.setenv("PATH", str(tmp_path))
    result = invoke(restored, "backup", str(tmp_path / "new.tar.gz"))
    assert result.exit_code == 1 and "pg_dump was not found" in result.output
    assert not (tmp_path / "new.tar.gz").exists()
    result = invoke(restored, "restore", str(backed_up.archive))
    assert result.exit_code == 1 and "pg_restore was not found" in result.output
    assert _tables(url) == set()
