"""Writing a checked ``programmes.toml`` into the database (flushes; the caller commits).

- Competencies are matched by code; those no longer in the file are archived (evidence
  recorded against them stays readable) and come back when the file names them again.
- A programme from the file keeps the hash of its entry (``Programme.source_hash``). While
  the entry is unchanged the row is left alone, so what an administrator changed in the
  browser stays until someone changes the entry in the file, which then replaces the row's
  fields, courses and practicals. Programmes from the file no longer in it are archived.
- The certificate type of a programme (``[programmes.certificate_type]``) is part of its
  entry: it is created or updated with the programme (title and tier from the programme), and
  deactivated when the entry no longer has one (its certificates stay).

Competencies are applied before the courses (their lessons, quizzes and rubrics name them),
programmes after them (they name the courses and their practicals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.assessments.models import Practical
from lms.audit import services as audit
from lms.catalog.models import Course
from lms.certificates.types import sync_from_file
from lms.extensions import db
from lms.learning.models import Competency, Programme, ProgrammeCourse
from lms.learning.programme_files import ProgrammeSpec, ProgrammesSpec

ORIGIN = "files"


@dataclass
class CompetencyOutcome:
    """What an import did to the competencies (codes)."""

    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)


@dataclass
class ProgrammeOutcome:
    """What an import did to one programme: created, updated, unchanged or archived."""

    code: str
    state: str


def apply_competencies(spec: ProgrammesSpec, actor_id: int | None = None) -> CompetencyOutcome:
    """Bring the competencies in line with the file."""
    outcome = CompetencyOutcome(total=len(spec.competencies))
    existing = {c.code: c for c in db.session.scalars(sa.select(Competency))}
    for position, item in enumerate(spec.competencies):
        row = existing.get(item.code)
        wanted = {
            "dimension": item.dimension,
            "title": item.title,
            "title_en": item.title_en,
            "position": position,
            "archived": False,
        }
        if row is None:
            db.session.add(Competency(code=item.code, **wanted))
            outcome.created.append(item.code)
            continue
        if _set_all(row, wanted):
            outcome.updated.append(item.code)
    for code, row in sorted(existing.items()):
        if code not in spec.competency_codes and not row.archived:
            row.archived = True
            outcome.archived.append(code)
    if outcome.changed:
        audit.record(
            actor_id,
            "competencies.imported",
            "competency",
            None,
            after={
                "created": outcome.created,
                "updated": outcome.updated,
                "archived": outcome.archived,
            },
        )
    db.session.flush()
    return outcome


def _set_all(row: Any, wanted: dict[str, Any]) -> list[str]:
    """Set the attributes that differ; the names of those changed."""
    changed = [name for name, value in wanted.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, wanted[name])
    return changed


def apply_programmes(spec: ProgrammesSpec, actor_id: int | None = None) -> list[ProgrammeOutcome]:
    """Bring the programmes in line with the file (after the courses were imported)."""
    existing = {
        p.code: p
        for p in db.session.scalars(
            sa.select(Programme).options(
                selectinload(Programme.courses), selectinload(Programme.practicals)
            )
        )
    }
    changed = [item for item in spec.programmes if not _unchanged(existing.get(item.code), item)]
    courses, practicals = _targets(changed)
    outcomes = []
    for item in spec.programmes:
        row = existing.get(item.code)
        if _unchanged(row, item):
            outcomes.append(ProgrammeOutcome(item.code, "unchanged"))
            continue
        state = "updated"
        if row is None:
            row = Programme(code=item.code, courses=[], practicals=[])
            db.session.add(row)
            state = "created"
        _replace(row, item, courses, practicals)
        db.session.flush()
        audit.record(actor_id, "programme.imported", "programme", row.id, after=_summary(item))
        sync_from_file(row, item.certificate_type, actor_id)
        outcomes.append(ProgrammeOutcome(item.code, state))
    wanted = {p.code for p in spec.programmes}
    for code, row in sorted(existing.items()):
        if code not in wanted and row.origin == ORIGIN and not row.archived:
            row.archived = True
            audit.record(
                actor_id,
                "programme.archived",
                "programme",
                row.id,
                before={"archived": False},
                after={"archived": True},
            )
            outcomes.append(ProgrammeOutcome(code, "archived"))
    db.session.flush()
    return outcomes


def _unchanged(row: Programme | None, item: ProgrammeSpec) -> bool:
    """Whether the row came from this very entry of the file (browser edits stay then)."""
    return row is not None and row.origin == ORIGIN and row.source_hash == item.source_hash


def _targets(
    items: list[ProgrammeSpec],
) -> tuple[dict[str, Course], dict[tuple[str, str], Practical]]:
    """The courses and practicals (by course code and key) that ``items`` name."""
    codes = {code for p in items for code in p.required_courses + p.elective_courses}
    codes |= {code for p in items for code, _key in p.practicals}
    if not codes:
        return {}, {}
    courses = {
        c.code: c for c in db.session.scalars(sa.select(Course).where(Course.code.in_(codes)))
    }
    practicals = {
        (course_code, practical.key): practical
        for practical, course_code in db.session.execute(
            sa.select(Practical, Course.code)
            .join(Course, Practical.course_id == Course.id)
            .where(Course.code.in_(codes))
        ).tuples()
    }
    return courses, practicals


def _replace(
    row: Programme,
    item: ProgrammeSpec,
    courses: dict[str, Course],
    practicals: dict[tuple[str, str], Practical],
) -> None:
    """Every field of ``row`` from the file's entry."""
    _set_all(
        row,
        {
            "title": item.title,
            "title_en": item.title_en,
            "summary": item.summary,
            "summary_en": item.summary_en,
            "track": item.track,
            "tier": item.tier,
            "requires_tier": item.requires_tier,
            "cycle": item.cycle,
            "min_ce_hours": item.min_ce_hours,
            "min_electives": item.min_electives,
            "required_dimensions": list(item.required_dimensions),
            "certificate_title": item.certificate_title,
            "certificate_title_en": item.certificate_title_en,
            "archived": False,
            "origin": ORIGIN,
            "source_hash": item.source_hash,
        },
    )
    # Update the course rows in place: a removed and re-added row with the same key would
    # be inserted before the old one is deleted.
    listed = [(code, True) for code in item.required_courses]
    listed += [(code, False) for code in item.elective_courses]
    by_course = {link.course_id: link for link in row.courses}
    kept = []
    for position, (code, required) in enumerate(listed):
        course = courses[code]
        link = by_course.get(course.id)
        if link is None:
            link = ProgrammeCourse(course=course, required=required, position=position)
        else:
            _set_all(link, {"required": required, "position": position})
        kept.append(link)
    row.courses = kept
    row.practicals = [practicals[key] for key in item.practicals]


def _summary(item: ProgrammeSpec) -> dict[str, Any]:
    return {
        "title": item.title,
        "track": item.track,
        "tier": item.tier,
        "requires_tier": item.requires_tier,
        "cycle": item.cycle,
        "min_ce_hours": str(item.min_ce_hours),
        "required_courses": item.required_courses,
        "elective_courses": item.elective_courses,
        "min_electives": item.min_electives,
        "practicals": [f"{code}:{key}" for code, key in item.practicals],
        "required_dimensions": item.required_dimensions,
        "certificate_type": item.certificate_type.serial_code if item.certificate_type else None,
    }
