"""Courses, owners, modules and lessons written in the browser."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.catalog.models import Course, Lesson, LessonVersion, Module
from lms.extensions import db
from tests import factories
from tests.authoring import build, make_course, make_lesson, make_module, versions_of
from tests.conftest import form_errors


@pytest.fixture
def instructor(make_user):
    return make_user("instructor")


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def course_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "pre-care-201",
        "title": "回应性照护实务",
        "title_en": "Responsive care in practice",
        "summary": "面向托育机构保育人员。",
        "summary_en": "For staff of childcare settings.",
        "track": "in_service",
        "level": "intermediate",
        "ce_hours": "7.5",
        "partner": "",
    }
    data.update(changes)
    return data


def audit_actions(entity_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.entity_type == "course", AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
    )


def by_code(code: str) -> Course | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Course).where(Course.code == code))


def test_an_instructor_creates_a_draft_course_they_own(client, instructor):
    partner = factories.OrganisationFactory(kind="university", code="NNU")
    required, _, _ = build(code="PRE-DEV-101")
    client.login(instructor)
    assert client.get("/author/courses/new").status_code == 200
    response = client.post(
        "/author/courses/new",
        data=course_form(partner="NNU", prerequisites=[str(required.id)]),
    )
    assert response.status_code == 302
    course = by_code("PRE-CARE-201")
    assert response.headers["Location"].endswith("/author/courses/PRE-CARE-201")
    assert course.status == "draft"
    assert course.origin == "browser"
    assert course.ce_hours == Decimal("7.5")
    assert course.partner_code == partner.code
    assert [c.code for c in course.prerequisites] == ["PRE-DEV-101"]
    assert [o.id for o in course.owners] == [instructor.id]
    assert "回应性照护实务" in course.search_text
    assert audit_actions(course.id) == ["course.created"]
    # It is listed on the instructor's authoring page.
    assert "PRE-CARE-201" in client.get("/author").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "有中文"}, "code"),
        ({"code": "A" * 33}, "code"),
        ({"title": ""}, "title"),
        ({"track": "nonsense"}, "track"),
        ({"level": ""}, "level"),
        ({"ce_hours": "7.3"}, "ce_hours"),
        ({"ce_hours": "-1"}, "ce_hours"),
        ({"ce_hours": "1e9"}, "ce_hours"),
        ({"ce_hours": "NaN"}, "ce_hours"),
        ({"ce_hours": "sNaN"}, "ce_hours"),
        ({"ce_hours": "Infinity"}, "ce_hours"),
        ({"ce_hours": "abc"}, "ce_hours"),
        ({"partner": "NOPE"}, "partner"),
        ({"prerequisites": ["999999"]}, "prerequisites"),
    ],
)
def test_bad_course_input_is_refused_and_nothing_saved(client, instructor, changes, field):
    factories.OrganisationFactory(kind="nursery", code="NURSERY1")
    client.login(instructor)
    client.use_language("en")
    response = client.post("/author/courses/new", data=course_form(**changes))
    assert response.status_code == 422
    assert form_errors(response.get_data(as_text=True)), field
    assert f'id="{field}"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0


def test_duplicate_codes_and_non_university_partners_are_refused(client, instructor):
    build(code="PRE-CARE-201")
    factories.OrganisationFactory(kind="nursery", code="NURSERY1")
    client.login(instructor)
    assert client.post("/author/courses/new", data=course_form()).status_code == 422
    response = client.post("/author/courses/new", data=course_form(code="X-2", partner="NURSERY1"))
    assert response.status_code == 422
    assert by_code("X-2") is None


def test_editing_a_course_keeps_its_code_and_is_audited(client, instructor):
    course, _, _ = build(instructor)
    client.login(instructor)
    page = client.get(f"/author/courses/{course.code}/edit").get_data(as_text=True)
    assert 'name="code"' not in page
    response = client.post(
        f"/author/courses/{course.code}/edit",
        data=course_form(code="HACKED", title="新标题", ce_hours="12"),
    )
    assert response.status_code == 302
    course = by_code("TEST-101")
    assert course.title == "新标题"
    assert course.ce_hours == Decimal("12")
    assert by_code("HACKED") is None
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "course.updated"))
    assert entry.before["title"] == "测试课程" and entry.after["title"] == "新标题"


def test_prerequisites_cannot_loop(client, instructor):
    first, _, _ = build(instructor, code="A-1")
    second = make_course("B-2", owners=(instructor,))
    second.prerequisites.append(first)
    db.session.commit()
    client.login(instructor)
    response = client.post(
        "/author/courses/A-1/edit", data=course_form(prerequisites=[str(second.id)])
    )
    assert response.status_code == 422
    response = client.post(
        "/author/courses/A-1/edit", data=course_form(prerequisites=[str(first.id)])
    )
    assert response.status_code == 422
    assert by_code("A-1").prerequisites == []


def test_a_course_needs_a_published_lesson_to_be_published(client, instructor):
    course = make_course("NEW-1", owners=(instructor,), status="draft")
    module = make_module(course)
    lesson = make_lesson(module, publish=False)
    db.session.commit()
    client.login(instructor)
    client.use_language("en")
    response = client.post("/author/courses/NEW-1/publish", follow_redirects=True)
    assert "Publish at least one lesson" in response.get_data(as_text=True)
    assert by_code("NEW-1").status == "draft"

    client.post(f"/author/lessons/{lesson.id}/versions/1/publish")
    client.post("/author/courses/NEW-1/publish")
    assert by_code("NEW-1").status == "published"
    client.post("/author/courses/NEW-1/unpublish")
    assert by_code("NEW-1").status == "draft"
    assert audit_actions(course.id) == ["course.published", "course.unpublished"]


def test_admin_manages_owners(client, admin, instructor, make_user):
    course, _, _ = build()
    trainee = make_user("trainee")
    client.login(admin)
    client.use_language("en")
    assert client.get(f"/author/courses/{course.code}/owners").status_code == 200

    response = client.post(
        f"/author/courses/{course.code}/owners",
        data={"action": "add", "user_id": str(instructor.id)},
    )
    assert response.status_code == 302
    assert [o.id for o in by_code(course.code).owners] == [instructor.id]

    # Only instructors can own a course.
    response = client.post(
        f"/author/courses/{course.code}/owners",
        data={"action": "add", "user_id": str(trainee.id)},
    )
    assert response.status_code == 422
    assert "Choose an active instructor" in response.get_data(as_text=True)
    assert [o.id for o in by_code(course.code).owners] == [instructor.id]

    response = client.post(
        f"/author/courses/{course.code}/owners",
        data={"action": "remove", "user_id": str(instructor.id)},
    )
    assert response.status_code == 302
    assert by_code(course.code).owners == []
    assert audit_actions(course.id) == ["course.owner_added", "course.owner_removed"]


def test_the_new_owner_can_then_edit(client, admin, instructor):
    course, _, lesson = build()
    client.login(instructor)
    assert client.get(f"/author/lessons/{lesson.id}/edit").status_code == 404
    client.post("/logout")
    client.login(admin)
    client.post(
        f"/author/courses/{course.code}/owners",
        data={"action": "add", "user_id": str(instructor.id)},
    )
    client.post("/logout")
    client.login(instructor)
    assert client.get(f"/author/lessons/{lesson.id}/edit").status_code == 200


def test_modules_are_added_renamed_and_reordered(client, instructor):
    course, first, _ = build(instructor)
    client.login(instructor)
    response = client.post(
        f"/author/courses/{course.code}/modules",
        data={"title": "家园共育", "title_en": "Working with families", "key": ""},
    )
    assert response.status_code == 302
    db.session.expire_all()
    second = db.session.scalar(sa.select(Module).where(Module.title == "家园共育"))
    assert second.key == "02-working-with-families"
    assert second.position == 2

    # A key must be free and well formed; a missing title is refused.
    for data in ({"title": "x", "key": "01-basics"}, {"title": "x", "key": "Bad Key"}):
        response = client.post(f"/author/courses/{course.code}/modules", data=data)
        assert response.status_code == 422
    assert (
        client.post(f"/author/courses/{course.code}/modules", data={"title": ""}).status_code == 422
    )
    assert len(by_code(course.code).modules) == 2

    client.post(
        f"/author/courses/{course.code}/modules/{second.id}/rename",
        data={"title": "家庭指导", "title_en": "Family guidance"},
    )
    client.post(f"/author/courses/{course.code}/modules/{second.id}/move", data={"direction": "up"})
    course = by_code(course.code)
    assert [(m.title, m.position) for m in course.modules] == [("家庭指导", 1), ("基础", 2)]
    assert [m.key for m in course.modules] == ["02-working-with-families", "01-basics"]
    # Moving the first one further up changes nothing.
    client.post(f"/author/courses/{course.code}/modules/{second.id}/move", data={"direction": "up"})
    assert [m.id for m in by_code(course.code).modules] == [second.id, first.id]


def test_lessons_are_added_reordered_and_archived_never_deleted(client, instructor):
    course, module, first = build(instructor)
    client.login(instructor)
    response = client.post(
        f"/author/courses/{course.code}/modules/{module.id}/lessons",
        data={"title": "洗手", "title_en": "Hand washing"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    second = db.session.scalar(
        sa.select(Lesson).where(Lesson.module_id == module.id, Lesson.id != first.id)
    )
    assert response.headers["Location"].endswith(f"/author/lessons/{second.id}/edit")
    assert second.key == "02-hand-washing"
    [draft] = versions_of(second.id)
    assert (draft.title, draft.title_en, draft.markdown) == ("洗手", "Hand washing", "")
    assert second.published_version_id is None

    client.post(f"/author/lessons/{second.id}/move", data={"direction": "up"})
    db.session.expire_all()
    assert [les.id for les in db.session.get(Module, module.id).lessons] == [second.id, first.id]

    client.post(f"/author/lessons/{first.id}/archive")
    db.session.expire_all()
    archived = db.session.get(Lesson, first.id)
    assert archived is not None and archived.archived
    assert versions_of(first.id)  # its history stays
    page = client.get(f"/author/courses/{course.code}").get_data(as_text=True)
    assert f'id="lesson-{first.id}" class="archived"' in page
    client.post(f"/author/lessons/{first.id}/unarchive")
    db.session.expire_all()
    assert not db.session.get(Lesson, first.id).archived


def test_the_course_page_shows_each_lessons_state(client, instructor):
    course, module, lesson = build(instructor)
    unpublished = make_lesson(module, "02-second", publish=False, position=2)
    db.session.commit()
    client.login(instructor)
    client.use_language("en")
    client.post(
        f"/author/lessons/{lesson.id}/edit",
        data={
            "title": "第一课",
            "minutes": "10",
            "objectives": "说出要点",
            "markdown": "改过的内容\n",
            "save_draft": "y",
        },
    )
    html = client.get(f"/author/courses/{course.code}").get_data(as_text=True)
    row = html[html.index(f'id="lesson-{lesson.id}"') : html.index(f'id="lesson-{unpublished.id}"')]
    assert "Published: version 1" in row
    assert "Newer draft: version 2" in row
    row = html[html.index(f'id="lesson-{unpublished.id}"') :]
    assert "Not published" in row[: row.index("</tr>")]


def test_a_published_course_links_to_the_catalogue(client, instructor):
    course, _, _ = build(instructor)
    client.login(instructor)
    html = client.get(f"/author/courses/{course.code}").get_data(as_text=True)
    assert f'href="/courses/{course.code}" id="catalog-link"' in html
    client.post(f"/author/courses/{course.code}/unpublish")
    html = client.get(f"/author/courses/{course.code}").get_data(as_text=True)
    assert 'id="catalog-link"' not in html


def test_list_pages_do_not_query_per_row(client, admin, instructor, count_queries):
    course, module, _ = build(instructor)
    client.login(admin)
    urls = ["/author", f"/author/courses/{course.code}"]
    counts = []
    for url in urls:
        db.session.expire_all()  # as after the commit below: the same loads each time
        with count_queries as q:
            assert client.get(url).status_code == 200
        counts.append(q.count)
    owner = factories.UserFactory(roles=["instructor"])
    for n in range(2, 8):
        make_lesson(module, f"{n:02d}-lesson", position=n)
        extra = make_module(course, key=f"{n:02d}-module", position=n)
        make_lesson(extra)
        other = make_course(f"C-{n}", owners=(owner,))
        make_lesson(make_module(other))
    db.session.commit()
    for url, before in zip(urls, counts, strict=True):
        db.session.expire_all()
        with count_queries as q:
            assert client.get(url).status_code == 200
        assert q.count == before, url


def test_the_index_shows_only_owned_courses_to_instructors(client, instructor, admin):
    build(instructor, code="MINE-1")
    build(code="THEIRS-1")
    client.login(instructor)
    html = client.get("/author").get_data(as_text=True)
    assert "MINE-1" in html and "THEIRS-1" not in html
    client.post("/logout")
    client.login(admin)
    html = client.get("/author").get_data(as_text=True)
    assert "MINE-1" in html and "THEIRS-1" in html


def test_lesson_versions_count_is_unchanged_by_course_edits(client, instructor):
    course, _, _ = build(instructor)
    client.login(instructor)
    client.post(f"/author/courses/{course.code}/edit", data=course_form(title="又一个标题"))
    assert db.session.scalar(sa.select(sa.func.count(LessonVersion.id))) == 1


def test_bad_lesson_and_module_posts_change_nothing_and_never_crash(client, instructor):
    course, module, lesson = build(instructor)
    client.login(instructor)
    base = f"/author/courses/{course.code}/modules/{module.id}"
    for data in ({"title": ""}, {"title": "x", "key": "k" * 65}, {"title": "x", "key": "Bad!"}):
        response = client.post(f"{base}/lessons", data=data)
        assert response.status_code == 302
    assert client.post(f"{base}/rename", data={"title": ""}).status_code == 302
    for direction in ("sideways", ""):
        assert client.post(f"{base}/move", data={"direction": direction}).status_code == 302
        assert (
            client.post(f"/author/lessons/{lesson.id}/move", data={"direction": direction})
        ).status_code == 302
    response = client.post(
        f"{base}/images", data={"lesson_id": str(10**30)}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    db.session.expire_all()
    module = db.session.get(Module, module.id)
    assert [les.id for les in module.lessons] == [lesson.id]
    assert module.title == "基础"
