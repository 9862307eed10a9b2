"""Programme services: validation per field, what is saved, the audit trail, and the queries
behind the programme and competency pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.assessments.models import Practical
from lms.audit.models import AuditEntry
from lms.catalog.models import Course
from lms.extensions import db
from lms.learning import programmes
from lms.learning.models import Competency, Programme, ProgrammeCourse
from lms.learning.programmes import ProgrammeData
from lms.validation import ValidationError


def add_course(code: str, status: str = "published", hours: int = 4) -> Course:
    course = Course(
        code=code,
        title=f"课程 {code}",
        title_en=f"Course {code}",
        track="in_service",
        level="foundation",
        ce_hours=Decimal(hours),
        status=status,
    )
    db.session.add(course)
    db.session.flush()
    return course


def programme_data(world: Any, **changes: Any) -> ProgrammeData:
    """A valid programme over the world's course and practical, with ``changes``."""
    elective = db.session.scalar(sa.select(Course).where(Course.code == "ELECT-201"))
    elective = elective or add_course("ELECT-201")
    values: dict[str, Any] = {
        "code": "CE-2026",
        "title": "年度继续教育",
        "title_en": "Annual continuing education",
        "summary": "每年完成12学时。",
        "track": "in_service",
        "tier": None,
        "requires_tier": "talent_pool",
        "cycle": "annual",
        "min_ce_hours": Decimal("12.5"),
        "min_electives": 1,
        "required_course_ids": [world.course.id],
        "elective_course_ids": [elective.id],
        "practical_ids": [world.practical.id],
        "required_dimensions": ["skills", "ethics"],
        "certificate_title": "继续教育证明",
        "certificate_title_en": "CE statement",
    }
    values.update(changes)
    return ProgrammeData(**values)


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def test_create_saves_the_programme_its_courses_and_an_audit_entry(
    learning_world: Any, make_user: Any
) -> None:
    admin = make_user("admin")
    programme = programmes.create_programme(admin.id, programme_data(learning_world))
    db.session.expire_all()
    saved = db.session.get(Programme, programme.id)
    assert saved is not None
    assert (saved.code, saved.origin, saved.archived) == ("CE-2026", "browser", False)
    assert (saved.cycle, saved.tier, saved.requires_tier) == ("annual", None, "talent_pool")
    assert saved.min_ce_hours == Decimal("12.5")
    assert saved.required_dimensions == ["ethics", "skills"]  # in the standard's order
    assert [(c.course.code, c.required, c.position) for c in saved.courses] == [
        ("WORLD-101", True, 1),
        ("ELECT-201", False, 2),
    ]
    assert [p.key for p in saved.practicals] == ["handwashing"]
    (entry,) = audit_entries("programme.created")
    assert (entry.actor_id, entry.entity_type, entry.entity_id) == (admin.id, "programme", saved.id)
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["required_courses"] == ["WORLD-101"]
    assert entry.after["elective_courses"] == ["ELECT-201"]
    assert entry.after["practicals"] == ["WORLD-101:handwashing"]
    assert entry.after["min_ce_hours"] == "12.5"


def test_the_code_is_stored_in_capitals(learning_world: Any) -> None:
    programme = programmes.create_programme(None, programme_data(learning_world, code=" ce-x "))
    assert programme.code == "CE-X"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"code": ""}, "code", "capital letters"),
        ({"code": "CE 2026"}, "code", "capital letters"),
        ({"code": "-CE"}, "code", "capital letters"),
        ({"code": "C" * 33}, "code", "capital letters"),
        ({"code": "WORLD-QUAL"}, "code", "Another programme already has this code"),
        ({"title": "  "}, "title", "required"),
        ({"title": "长" * 201}, "title", "At most 200"),
        ({"title_en": "x" * 201}, "title_en", "At most 200"),
        ({"certificate_title": "x" * 201}, "certificate_title", "At most 200"),
        ({"summary": "x" * 5001}, "summary", "At most 5000"),
        ({"track": "weekend"}, "track", "Not a valid choice"),
        ({"tier": "gold"}, "tier", "Not a valid choice"),
        ({"requires_tier": "gold"}, "requires_tier", "Not a valid choice"),
        (
            {"tier": "talent_pool", "requires_tier": "talent_pool"},
            "requires_tier",
            "cannot require the tier it leads to",
        ),
        ({"cycle": "weekly"}, "cycle", "Not a valid choice"),
        ({"min_ce_hours": None}, "min_ce_hours", "Enter a number of hours"),
        ({"min_ce_hours": Decimal("-1")}, "min_ce_hours", "Between 0 and 999"),
        ({"min_ce_hours": Decimal("999.5")}, "min_ce_hours", "Between 0 and 999"),
        ({"min_ce_hours": Decimal("NaN")}, "min_ce_hours", "Between 0 and 999"),
        ({"min_ce_hours": Decimal("2.25")}, "min_ce_hours", "one decimal"),
        ({"min_electives": -1}, "min_electives", "whole number"),
        ({"min_electives": None}, "min_electives", "whole number"),
        ({"min_electives": 2}, "min_electives", "At most the number of elective courses (1)"),
        (
            {"required_course_ids": [], "elective_course_ids": [], "min_electives": 0},
            "required_courses",
            "at least one",
        ),
        ({"required_course_ids": [999999]}, "required_courses", "published courses only"),
        ({"practical_ids": [999999]}, "practicals", "the programme's courses only"),
        ({"required_dimensions": ["hygiene"]}, "required_dimensions", "Not a valid choice"),
    ],
)
def test_each_field_is_checked_and_nothing_is_saved(
    learning_world: Any, changes: dict[str, Any], field: str, words: str, english: None
) -> None:
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Programme))
    with pytest.raises(ValidationError) as caught:
        programmes.create_programme(None, programme_data(learning_world, **changes))
    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == before
    assert audit_entries("programme.created") == []


def test_course_rules(learning_world: Any, english: None) -> None:
    world = learning_world
    draft = add_course("DRAFT-1", status="draft")
    other = add_course("OTHER-1")
    other_practical = Practical(course=other, key="other", title="其他", levels=[], criteria=[])
    db.session.add(other_practical)
    db.session.flush()
    cases = [
        ({"required_course_ids": [draft.id]}, "required_courses", "published courses only"),
        ({"elective_course_ids": [draft.id]}, "elective_courses", "published courses only"),
        (
            {"elective_course_ids": [world.course.id], "min_electives": 0},
            "elective_courses",
            "either required or elective, not both: WORLD-101",
        ),
        # A practical of a course that is not in the programme.
        ({"practical_ids": [other_practical.id]}, "practicals", "the programme's courses only"),
    ]
    for changes, field, words in cases:
        with pytest.raises(ValidationError) as caught:
            programmes.validate_programme(programme_data(world, **changes))
        assert words in caught.value.errors[field], (changes, caught.value.errors)


def test_only_electives_and_no_practical_is_fine(learning_world: Any) -> None:
    data = programme_data(
        learning_world,
        required_course_ids=[],
        min_electives=0,
        practical_ids=[],
        required_dimensions=[],
    )
    programme = programmes.create_programme(None, data)
    assert [c.required for c in programme.courses] == [False]


def test_update_changes_everything_but_the_code_and_audits_the_difference(
    learning_world: Any, make_user: Any
) -> None:
    admin = make_user("admin")
    programme = learning_world.programme
    extra = add_course("EXTRA-301")
    data = ProgrammeData(
        code="IGNORED",
        title=programme.title,
        title_en=programme.title_en,
        summary=programme.summary,
        track="pre_service",
        tier="talent_pool",
        cycle="once",
        min_ce_hours=Decimal("10"),
        min_electives=1,
        required_course_ids=[learning_world.course.id],
        elective_course_ids=[extra.id],
        practical_ids=[],
        required_dimensions=["skills"],
        certificate_title=programme.certificate_title,
        certificate_title_en=programme.certificate_title_en,
    )
    programmes.update_programme(admin.id, programme, data)
    db.session.expire_all()
    saved = db.session.get(Programme, programme.id)
    assert saved is not None
    assert saved.code == "WORLD-QUAL"
    assert saved.origin == "files"  # still the file's programme, edited in the browser
    assert [(c.course.code, c.required) for c in saved.courses] == [
        ("WORLD-101", True),
        ("EXTRA-301", False),
    ]
    assert saved.practicals == []
    (entry,) = audit_entries("programme.updated")
    assert entry.before == {
        "elective_courses": [],
        "min_ce_hours": "8.0",
        "min_electives": 0,
        "practicals": ["WORLD-101:handwashing"],
    }
    assert entry.after == {
        "elective_courses": ["EXTRA-301"],
        "min_ce_hours": "10.0",
        "min_electives": 1,
        "practicals": [],
    }


def test_a_course_archived_since_may_stay_in_the_programme(learning_world: Any) -> None:
    programme = learning_world.programme
    learning_world.course.status = "archived"
    db.session.flush()
    data = ProgrammeData(
        title="改名",
        track=programme.track,
        tier=programme.tier,
        cycle=programme.cycle,
        min_ce_hours=programme.min_ce_hours,
        min_electives=0,
        required_course_ids=[learning_world.course.id],
        practical_ids=[learning_world.practical.id],
        required_dimensions=["skills"],
    )
    programmes.update_programme(None, programme, data)
    assert programme.title == "改名"
    # A new programme cannot take it.
    with pytest.raises(ValidationError):
        programmes.create_programme(None, ProgrammeData(**{**vars(data), "code": "NEW"}))


def test_an_update_that_changes_nothing_writes_no_entry(learning_world: Any) -> None:
    programme = learning_world.programme
    data = ProgrammeData(
        title=programme.title,
        title_en=programme.title_en,
        summary=programme.summary,
        summary_en=programme.summary_en,
        track=programme.track,
        tier=programme.tier,
        requires_tier=programme.requires_tier,
        cycle=programme.cycle,
        min_ce_hours=programme.min_ce_hours,
        min_electives=programme.min_electives,
        required_course_ids=[learning_world.course.id],
        practical_ids=[learning_world.practical.id],
        required_dimensions=list(programme.required_dimensions),
        certificate_title=programme.certificate_title,
        certificate_title_en=programme.certificate_title_en,
    )
    programmes.update_programme(None, programme, data)
    assert audit_entries("programme.updated") == []


def test_archive_and_unarchive_are_audited_once(learning_world: Any, make_user: Any) -> None:
    admin = make_user("admin")
    programme = learning_world.programme
    programmes.set_archived(admin.id, programme, True)
    programmes.set_archived(admin.id, programme, True)
    assert programme.archived
    (entry,) = audit_entries("programme.archived")
    assert (entry.before, entry.after) == ({"archived": False}, {"archived": True})
    programmes.set_archived(admin.id, programme, False)
    (entry,) = audit_entries("programme.unarchived")
    assert (entry.before, entry.after) == ({"archived": True}, {"archived": False})


def test_programme_rows_count_courses_and_hide_archived(learning_world: Any) -> None:
    elective = add_course("ELECT-9")
    archived = Programme(code="OLD", title="旧项目", track="in_service", archived=True)
    archived.courses.append(ProgrammeCourse(course=elective, required=False))
    learning_world.programme.courses.append(ProgrammeCourse(course=elective, required=False))
    db.session.add(archived)
    db.session.flush()
    rows = programmes.programme_rows(include_archived=False)
    assert [(r.programme.code, r.required, r.electives) for r in rows] == [("WORLD-QUAL", 1, 1)]
    rows = programmes.programme_rows(include_archived=True)
    assert [(r.programme.code, r.required, r.electives) for r in rows] == [
        ("WORLD-QUAL", 1, 1),
        ("OLD", 0, 1),
    ]


def test_programme_by_code_refuses_impossible_codes(learning_world: Any) -> None:
    assert programmes.programme_by_code("WORLD-QUAL") is learning_world.programme
    assert programmes.programme_by_code("world-qual") is None
    assert programmes.programme_by_code("x" * 1000) is None


def test_competency_map_says_where_each_competency_is_evidenced(
    learning_world: Any, count_queries: Any
) -> None:
    with count_queries as counter:
        standard = programmes.competency_map()
    assert counter.count == 4
    assert list(standard) == ["ethics", "knowledge", "skills"]
    by_code = {e.competency.code: e for entries in standard.values() for e in entries}
    assert [lesson.title for lesson in by_code["K-DEV"].lessons] == ["导论"]
    assert [(q.quiz_title, q.category) for q in by_code["K-DEV"].quizzes] == [
        ("综合测验", "发展知识")
    ]
    assert [lesson.title for lesson in by_code["E-RESP"].lessons] == ["职业伦理"]
    assert [q.category for q in by_code["E-RESP"].quizzes] == ["职业道德"]
    assert [(c.practical.key, c.title) for c in by_code["S-HYG"].criteria] == [
        ("handwashing", "步骤完整")
    ]
    assert by_code["S-HYG"].lessons == [] and by_code["S-HYG"].quizzes == []
    assert all(e.evidenced for e in by_code.values())


def test_competency_map_leaves_out_drafts_archived_and_unknown_codes(learning_world: Any) -> None:
    db.session.add(Competency(code="S-OLD", dimension="skills", title="旧", archived=True))
    learning_world.quiz.category_competencies = {"发展知识": ["K-DEV", "NOPE"]}
    learning_world.lessons[0].archived = True
    db.session.flush()
    standard = programmes.competency_map()
    codes = [e.competency.code for e in standard["skills"]]
    assert codes == ["S-HYG"]
    k_dev = standard["knowledge"][0]
    assert k_dev.lessons == []
    assert [q.category for q in k_dev.quizzes] == ["发展知识"]
    learning_world.course.status = "draft"
    db.session.flush()
    assert not any(e.evidenced for entries in programmes.competency_map().values() for e in entries)
