"""``courses/programmes.toml``: the professional standard's competencies and the programmes.

The file sits beside the course folders and is read by ``lms courses check|import`` when
they are given the whole folder (see courses/README.md for its format). Reading collects
every problem as ``path:line: message`` like the course files' reader
(:mod:`lms.catalog.importer.reader`); :func:`reference_problems` then checks what the file
and the courses name against each other and the database: course codes and practicals of
the programmes, competency codes of lessons, quiz categories and rubric criteria.
:mod:`lms.learning.programme_files_apply` writes a checked file into the database.

A courses folder without ``programmes.toml`` is valid: the competencies its courses name
must then be in the database already.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.assessments.models import Practical
from lms.catalog.importer import toml_text
from lms.catalog.importer.fields import Fields
from lms.catalog.importer.lesson_source import COMPETENCY_CODE
from lms.catalog.importer.problems import Problems, Reference
from lms.catalog.importer.reader import CourseSpec, read_text
from lms.catalog.models import Course
from lms.catalog.models.course import Track
from lms.catalog.services import COURSE_CODE, KEY
from lms.certificates.models import Certificate, CertificateType
from lms.certificates.types import (
    MAX_VALIDITY_YEARS,
    SERIAL_CODE,
    TypeData,
    check_values,
    fixed_message,
    taken_message,
)
from lms.extensions import db
from lms.learning.models import Competency, Cycle, Dimension, Programme, Tier

PROGRAMMES_FILE = "programmes.toml"
TOP_KEYS = ("competencies", "programmes")
COMPETENCY_KEYS = ("code", "dimension", "title", "title_en")
PROGRAMME_KEYS = (
    "code",
    "title",
    "title_en",
    "summary",
    "summary_en",
    "track",
    "tier",
    "requires_tier",
    "cycle",
    "min_ce_hours",
    "required_courses",
    "elective_courses",
    "min_electives",
    "practicals",
    "required_dimensions",
    "certificate",
    "certificate_en",
    "certificate_type",
)
# ``[programmes.certificate_type]``: the file's names of :class:`TypeData`'s fields.
CERTIFICATE_TYPE_KEYS = {
    "serial_code": "serial_code",
    "validity_years": "validity_years",
    "renew_ce_hours": "renew_ce_hours",
    "issuer": "issuer_name",
    "issuer_en": "issuer_name_en",
    "signatory": "signatory_name",
    "signatory_title": "signatory_title",
}
MAX_PROGRAMME_HOURS = 1000


@dataclass
class CompetencySpec:
    code: str
    dimension: str
    title: str
    title_en: str
    line: int = field(default=1, compare=False)


@dataclass
class ProgrammeSpec:
    """One ``[[programmes]]`` entry as read; ``source_hash`` identifies its content."""

    code: str
    title: str
    title_en: str
    summary: str
    summary_en: str
    track: str
    tier: str | None
    requires_tier: str | None
    cycle: str
    min_ce_hours: Decimal
    required_courses: list[str]
    elective_courses: list[str]
    min_electives: int
    practicals: list[tuple[str, str]]  # (course code, practical key)
    required_dimensions: list[str]
    certificate_title: str
    certificate_title_en: str
    source_hash: str
    line: int = 1
    certificate_type: TypeData | None = None
    serial_code_line: int = field(default=1, repr=False)
    course_refs: list[Reference] = field(default_factory=list, repr=False)
    dimension_lines: dict[str, int] = field(default_factory=dict, repr=False)
    practical_refs: list[Reference] = field(default_factory=list, repr=False)  # "CODE:key"


@dataclass
class ProgrammesSpec:
    """``programmes.toml`` as read. ``readable`` is False when it is not valid TOML (its
    competencies are then unknown, and the codes that courses name are not checked)."""

    path: Path
    readable: bool = True
    competencies: list[CompetencySpec] = field(default_factory=list)
    programmes: list[ProgrammeSpec] = field(default_factory=list)

    @property
    def competency_codes(self) -> set[str]:
        return {c.code for c in self.competencies}


def entry_hash(entry: dict[str, Any]) -> str:
    """The hash of a ``[[programmes]]`` table as parsed (layout and comments do not count)."""
    text = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_programmes(root: Path, problems: Problems) -> ProgrammesSpec | None:
    """Read ``root/programmes.toml``; None when there is no such file."""
    file = root / PROGRAMMES_FILE
    if not file.is_file():
        return None
    spec = ProgrammesSpec(path=file, readable=False)
    text = read_text(file, problems)
    if text is None:
        return spec
    data, error_line, error = toml_text.parse(text)
    if data is None:
        problems.add(file, error_line, _("invalid TOML: %(error)s", error=error))
        return spec
    spec.readable = True
    where = toml_text.TomlLines(text)
    top = Fields(data, lambda key, message: problems.add(file, where.key(key), message))
    top.unknown(TOP_KEYS)
    for index, table in enumerate(top.tables("competencies")):
        competency = _read_competency(table, index, file, where, problems)
        if competency is None:
            continue
        if competency.code in spec.competency_codes:
            problems.add(
                file,
                competency.line,
                _("competency %(code)s is defined twice", code=competency.code),
            )
            continue
        spec.competencies.append(competency)
    codes: set[str] = set()
    serial_codes: dict[str, str] = {}
    for index, table in enumerate(top.tables("programmes")):
        programme = _read_programme(table, index, file, where, problems)
        if programme is None:
            continue
        if programme.code in codes:
            problems.add(
                file,
                programme.line,
                _("programme %(code)s is defined twice", code=programme.code),
            )
            continue
        codes.add(programme.code)
        spec.programmes.append(programme)
        ctype = programme.certificate_type
        if ctype is None:
            continue
        if ctype.serial_code in serial_codes:
            problems.add(
                file,
                programme.serial_code_line,
                _(
                    "serial_code %(code)s is already the serial code of programme %(other)s",
                    code=ctype.serial_code,
                    other=serial_codes[ctype.serial_code],
                ),
            )
        serial_codes.setdefault(ctype.serial_code, programme.code)
    return spec


_CODE_HINT = "use capitals, digits and dashes (A-Z 0-9 -), at most 32"


def _read_competency(
    table: dict[str, Any],
    index: int,
    file: Path,
    where: toml_text.TomlLines,
    problems: Problems,
) -> CompetencySpec | None:
    fields = Fields(
        table,
        lambda key, message: problems.add(file, where.key(key, "competencies", index), message),
    )
    fields.unknown(COMPETENCY_KEYS)
    code = fields.text("code", max_length=32, pattern=COMPETENCY_CODE, pattern_hint=_(_CODE_HINT))
    dimension = fields.choice("dimension", [d.value for d in Dimension])
    title = fields.text("title")
    title_en = fields.text("title_en")
    if not code or not COMPETENCY_CODE.fullmatch(code):
        return None
    return CompetencySpec(
        code=code,
        dimension=dimension or "",
        title=title,
        title_en=title_en,
        line=where.key("code", "competencies", index),
    )


def _read_programme(
    table: dict[str, Any],
    index: int,
    file: Path,
    where: toml_text.TomlLines,
    problems: Problems,
) -> ProgrammeSpec | None:
    def line(key: str) -> int:
        return where.key(key, "programmes", index)

    def value_line(key: str, text: str) -> int:
        return where.value(key, text, "programmes", index)

    def report(key: str, message: str) -> None:
        problems.add(file, line(key), message)

    fields = Fields(table, report)
    fields.unknown(PROGRAMME_KEYS)
    code = fields.text("code", max_length=32, pattern=COURSE_CODE, pattern_hint=_(_CODE_HINT))
    title = fields.text("title")
    title_en = fields.text("title_en")
    summary = fields.text("summary", required=False, max_length=5000)
    summary_en = fields.text("summary_en", required=False, max_length=5000)
    track = fields.choice("track", [t.value for t in Track])
    tiers = [t.value for t in Tier]
    tier = fields.choice("tier", tiers, required=False)
    requires_tier = fields.choice("requires_tier", tiers, required=False)
    if tier and tier == requires_tier:
        report("requires_tier", _("a programme cannot require the tier it leads to"))
    cycle = fields.choice("cycle", [c.value for c in Cycle], required=False) or Cycle.ONCE.value
    min_ce_hours = _hours(table, report)
    certificate = fields.text("certificate", required=False)
    certificate_en = fields.text("certificate_en", required=False)
    certificate_type, serial_code_line = None, line("code")
    if "certificate_type" in table:
        certificate_type, serial_code_line = _read_certificate_type(
            fields.table("certificate_type"), index, file, where, problems
        )
        for key, value in (("certificate", certificate), ("certificate_en", certificate_en)):
            if not value.strip():
                report(key, _("%(key)s is required with a certificate_type", key=key))

    course_refs: list[Reference] = []
    courses: dict[str, list[str]] = {}
    for key in ("required_courses", "elective_courses"):
        courses[key] = []
        for course_code in fields.text_list(key, required=False):
            at = value_line(key, course_code)
            if not COURSE_CODE.fullmatch(course_code):
                problems.add(file, at, _("%(code)s is not a course code", code=course_code))
            elif course_code in courses[key]:
                problems.add(file, at, _("course %(code)s is listed twice", code=course_code))
            elif any(course_code in listed for listed in courses.values()):
                problems.add(
                    file,
                    at,
                    _("course %(code)s cannot be both required and elective", code=course_code),
                )
            else:
                courses[key].append(course_code)
                course_refs.append(Reference(course_code, str(file), at))
    electives = courses["elective_courses"]
    min_electives = fields.integer("min_electives", 0, 100, required=False) or 0
    if min_electives > len(electives):
        report(
            "min_electives",
            _(
                "min_electives %(n)d is more than the %(count)d elective course(s)",
                n=min_electives,
                count=len(electives),
            ),
        )

    practicals: list[tuple[str, str]] = []
    practical_refs: list[Reference] = []
    for name in dict.fromkeys(fields.text_list("practicals", required=False)):
        course_code, _colon, key = name.partition(":")
        at = value_line("practicals", name)
        if not COURSE_CODE.fullmatch(course_code) or not KEY.fullmatch(key):
            problems.add(
                file,
                at,
                _(
                    "practical %(name)s: write the course code and the practical's key, "
                    "e.g. PRE-SAFE-102:handwashing",
                    name=name,
                ),
            )
            continue
        practicals.append((course_code, key))
        practical_refs.append(Reference(name, str(file), at))

    dimensions: dict[str, int] = {}
    choices = [d.value for d in Dimension]
    for dimension in dict.fromkeys(fields.text_list("required_dimensions", required=False)):
        at = value_line("required_dimensions", dimension)
        if dimension in choices:
            dimensions[dimension] = at
        else:
            problems.add(
                file,
                at,
                _(
                    "unknown dimension %(value)s (use %(choices)s)",
                    value=dimension,
                    choices=", ".join(choices),
                ),
            )
    if not code or not COURSE_CODE.fullmatch(code):
        return None
    return ProgrammeSpec(
        code=code,
        title=title,
        title_en=title_en,
        summary=summary,
        summary_en=summary_en,
        track=track or "",
        tier=tier,
        requires_tier=requires_tier,
        cycle=cycle,
        min_ce_hours=min_ce_hours,
        required_courses=courses["required_courses"],
        elective_courses=electives,
        min_electives=min_electives,
        practicals=practicals,
        required_dimensions=list(dimensions),
        certificate_title=certificate,
        certificate_title_en=certificate_en,
        source_hash=entry_hash(table),
        line=line("code"),
        certificate_type=certificate_type,
        serial_code_line=serial_code_line,
        course_refs=course_refs,
        dimension_lines=dimensions,
        practical_refs=practical_refs,
    )


def _read_certificate_type(
    table: dict[str, Any],
    index: int,
    file: Path,
    where: toml_text.TomlLines,
    problems: Problems,
) -> tuple[TypeData | None, int]:
    """``[programmes.certificate_type]`` of the ``index``-th programme (or an inline table):
    the type's data (None when it has problems) and the line of its ``serial_code``."""
    name = "programmes.certificate_type"
    child = where.child("programmes", index, name)

    def line(key: str) -> int:
        if child is None:
            return where.key("certificate_type", "programmes", index)
        return where.key(key, name, child)

    found: list[str] = []

    def report(key: str, message: str) -> None:
        found.append(key)
        problems.add(file, line(key), message)

    fields = Fields(table, report)
    fields.unknown(CERTIFICATE_TYPE_KEYS)
    serial_code = fields.text(
        "serial_code",
        max_length=8,
        pattern=SERIAL_CODE,
        pattern_hint=_("use 2 to 8 capital letters (A-Z)"),
    )
    validity_years = fields.integer("validity_years", 1, MAX_VALIDITY_YEARS, required=False)
    renew = table.get("renew_ce_hours")
    renew_ce_hours = None
    if renew is not None:
        if isinstance(renew, bool) or not isinstance(renew, int | float):
            report("renew_ce_hours", _("renew_ce_hours must be a number"))
        else:
            renew_ce_hours = Decimal(str(renew)).quantize(Decimal("0.1"))
    data = TypeData(
        serial_code=serial_code,
        validity_years=validity_years,
        renew_ce_hours=renew_ce_hours,
        issuer_name=fields.text("issuer"),
        issuer_name_en=fields.text("issuer_en"),
        signatory_name=fields.text("signatory", max_length=100),
        signatory_title=fields.text("signatory_title"),
    )
    keys = {field_name: key for key, field_name in CERTIFICATE_TYPE_KEYS.items()}
    for field_name, message in check_values(data).items():
        key = keys[field_name]
        if key not in found:  # one message per key
            report(key, _("%(key)s: %(message)s", key=key, message=message))
    return (None if found else data), line("serial_code")


def _hours(table: dict[str, Any], report: Any) -> Decimal:
    value = table.get("min_ce_hours", 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        report("min_ce_hours", _("min_ce_hours must be a number"))
        return Decimal(0)
    if not 0 <= value <= MAX_PROGRAMME_HOURS or not float(value * 2).is_integer():
        report(
            "min_ce_hours",
            _(
                "min_ce_hours must be between 0 and %(max)d, in steps of 0.5",
                max=MAX_PROGRAMME_HOURS,
            ),
        )
        return Decimal(0)
    return Decimal(str(value)).quantize(Decimal("0.1"))


# Checks across files and the database ------------------------------------------------------


def _has_table(table: str) -> bool:
    """``lms courses check`` also works before ``lms db upgrade``: the files alone count."""
    return sa.inspect(db.session.connection()).has_table(table)


def reference_problems(
    spec: ProgrammesSpec | None, courses: list[CourseSpec], problems: Problems
) -> None:
    """Codes that name nothing: competencies named by the courses (known from programmes.toml,
    else from the database), and the programmes' courses and practicals (in these files or
    in the database) and required dimensions (with at least one competency)."""
    if spec is None:
        known = set()
        wanted = {r.code for c in courses for r in c.competency_refs}
        if wanted and _has_table(Competency.__tablename__):
            known = set(
                db.session.scalars(
                    sa.select(Competency.code).where(
                        Competency.code.in_(wanted), Competency.archived.is_(False)
                    )
                )
            )
        message = _(
            "unknown competency %(code)s (there is no programmes.toml here and the "
            "database does not have it)"
        )
    elif not spec.readable:
        return
    else:
        known = spec.competency_codes
        message = _("unknown competency %(code)s (not in programmes.toml)")
    for course in courses:
        for ref in course.competency_refs:
            if ref.code not in known:
                problems.add(ref.path, ref.line, message % {"code": ref.code})
    if spec is not None:
        _programme_references(spec, courses, problems)
        _certificate_type_problems(spec, problems)


def _programme_references(
    spec: ProgrammesSpec, courses: list[CourseSpec], problems: Problems
) -> None:
    in_tree = {c.code: c for c in courses if c.code}
    wanted = {r.code for p in spec.programmes for r in p.course_refs} | {
        code for p in spec.programmes for code, _key in p.practicals
    }
    others = wanted - in_tree.keys()
    known_courses = set(in_tree)
    practicals = {(code, p.key) for code, c in in_tree.items() for p in c.practicals}
    if others and _has_table(Course.__tablename__):
        known_courses |= set(
            db.session.scalars(sa.select(Course.code).where(Course.code.in_(others)))
        )
        practicals |= set(
            db.session.execute(
                sa.select(Course.code, Practical.key)
                .join(Practical, Practical.course_id == Course.id)
                .where(Course.code.in_(others), Practical.archived.is_(False))
            ).tuples()
        )
    dimensions = {c.dimension for c in spec.competencies}
    path = str(spec.path)
    for programme in spec.programmes:
        for ref in programme.course_refs:
            if ref.code not in known_courses:
                problems.add(
                    path,
                    ref.line,
                    _(
                        "%(code)s is not a course (neither in these files nor in the database)",
                        code=ref.code,
                    ),
                )
        for ref, (code, key) in zip(programme.practical_refs, programme.practicals, strict=True):
            if code not in known_courses:
                problems.add(
                    path,
                    ref.line,
                    _(
                        "practical %(name)s: %(code)s is not a course (neither in these "
                        "files nor in the database)",
                        name=ref.code,
                        code=code,
                    ),
                )
            elif (code, key) not in practicals:
                problems.add(
                    path,
                    ref.line,
                    _("course %(code)s has no practical %(key)s", code=code, key=key),
                )
        for dimension in programme.required_dimensions:
            if dimension not in dimensions:
                problems.add(
                    path,
                    programme.dimension_lines[dimension],
                    _(
                        "required dimension %(value)s has no competency in this file",
                        value=dimension,
                    ),
                )


def _certificate_type_problems(spec: ProgrammesSpec, problems: Problems) -> None:
    """Serial codes against the database: taken by another programme's type, or changed on a
    type that has certificates; checked for the entries the import would apply (two queries,
    whatever the number of programmes)."""
    typed = [(p, p.certificate_type) for p in spec.programmes if p.certificate_type is not None]
    if not typed or not _has_table(CertificateType.__tablename__):
        return
    issued = (
        sa.select(sa.func.count(Certificate.id))
        .where(Certificate.type_id == CertificateType.id)
        .scalar_subquery()
        .label("issued")
    )
    rows = db.session.execute(
        sa.select(
            Programme.code,
            Programme.origin,
            Programme.source_hash,
            CertificateType.serial_code,
            issued,
        )
        .outerjoin(CertificateType, CertificateType.programme_id == Programme.id)
        .where(
            sa.or_(
                Programme.code.in_([p.code for p, _t in typed]),
                CertificateType.serial_code.in_([t.serial_code for _p, t in typed]),
            )
        )
    ).all()
    by_code = {row.code: row for row in rows}
    owners = {row.serial_code: row.code for row in rows if row.serial_code is not None}
    for item, data in typed:
        row = by_code.get(item.code)
        if row is not None and row.origin == "files" and row.source_hash == item.source_hash:
            continue  # an unchanged entry is not applied
        owner = owners.get(data.serial_code)
        if owner is not None and owner != item.code:
            problems.add(spec.path, item.serial_code_line, taken_message(data.serial_code, owner))
        elif row is not None and row.serial_code not in (None, data.serial_code) and row.issued:
            problems.add(
                spec.path, item.serial_code_line, fixed_message(row.serial_code, row.issued)
            )
