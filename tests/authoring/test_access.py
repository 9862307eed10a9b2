"""Who may author what: owners and administrators; nobody else, and nothing changes."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module
from lms.extensions import db
from tests.authoring import build, png_bytes


@pytest.fixture
def owner(make_user):
    return make_user("instructor")


@pytest.fixture
def parts(owner):
    return build(owner)


def get_urls(course: Course, lesson: Lesson) -> list[str]:
    return [
        f"/author/courses/{course.code}",
        f"/author/courses/{course.code}/edit",
        f"/author/courses/{course.code}/owners",
        f"/author/lessons/{lesson.id}/edit",
        f"/author/lessons/{lesson.id}/history",
        f"/author/lessons/{lesson.id}/versions/1",
    ]


def post_urls(course: Course, module: Module, lesson: Lesson) -> list[str]:
    return [
        f"/author/courses/{course.code}/edit",
        f"/author/courses/{course.code}/publish",
        f"/author/courses/{course.code}/unpublish",
        f"/author/courses/{course.code}/owners",
        f"/author/courses/{course.code}/modules",
        f"/author/courses/{course.code}/modules/{module.id}/rename",
        f"/author/courses/{course.code}/modules/{module.id}/move",
        f"/author/courses/{course.code}/modules/{module.id}/lessons",
        f"/author/courses/{course.code}/modules/{module.id}/images",
        f"/author/lessons/{lesson.id}/move",
        f"/author/lessons/{lesson.id}/archive",
        f"/author/lessons/{lesson.id}/unarchive",
        f"/author/lessons/{lesson.id}/edit",
        f"/author/lessons/{lesson.id}/preview",
        f"/author/lessons/{lesson.id}/versions/1/restore",
        f"/author/lessons/{lesson.id}/versions/1/publish",
    ]


# Everything any of those forms could want: a change would show in the state below.
FORM = {
    "title": "改掉的标题",
    "title_en": "Changed",
    "key": "99-changed",
    "track": "in_service",
    "level": "advanced",
    "ce_hours": "5",
    "minutes": "12",
    "objectives": "目标",
    "markdown": "## 被改了\n",
    "save_publish": "y",
    "publish": "y",
    "direction": "down",
    "action": "remove",
    "user_id": "1",
}


def state(course_id: int) -> tuple:
    """Everything about a course the authoring pages could change."""
    db.session.expire_all()
    course = db.session.get(Course, course_id)
    lessons = db.session.scalars(
        sa.select(Lesson)
        .join(Module, Module.id == Lesson.module_id)
        .where(Module.course_id == course_id)
        .order_by(Lesson.id)
    ).all()
    return (
        course.title,
        course.status,
        str(course.ce_hours),
        sorted(o.id for o in course.owners),
        [(m.key, m.title, m.position) for m in course.modules],
        [(les.key, les.position, les.archived, les.published_version_id) for les in lessons],
        db.session.scalar(
            sa.select(sa.func.count(LessonVersion.id))
            .join(Lesson, Lesson.id == LessonVersion.lesson_id)
            .join(Module, Module.id == Lesson.module_id)
            .where(Module.course_id == course_id)
        ),
        db.session.scalar(
            sa.select(sa.func.count(CourseAsset.id)).where(CourseAsset.course_id == course_id)
        ),
    )


def try_everything(client, course: Course, module: Module, lesson: Lesson) -> list[int]:
    codes = [client.get(url).status_code for url in get_urls(course, lesson)]
    for url in post_urls(course, module, lesson):
        data = dict(FORM)
        if url.endswith("/images"):
            data["file"] = (io.BytesIO(png_bytes()), "a.png")
        codes.append(client.post(url, data=data, content_type="multipart/form-data").status_code)
    return codes


def test_another_instructor_cannot_touch_a_course_they_do_not_own(client, make_user, parts):
    course, module, lesson = parts
    other = make_user("instructor")
    before = state(course.id)
    client.login(other)
    codes = try_everything(client, course, module, lesson)
    assert set(codes) <= {403, 404}, codes
    # Codes are not probed: an instructor gets the same answer as for a missing course.
    assert client.get(f"/author/courses/{course.code}").status_code == 404
    assert client.get("/author/courses/NO-SUCH-CODE").status_code == 404
    assert state(course.id) == before
    # And their index does not list it.
    html = client.get("/author").get_data(as_text=True)
    assert course.code not in html


@pytest.mark.parametrize("role", ["trainee", "hr", "coordinator"])
def test_other_roles_are_refused_everywhere(client, make_user, parts, role):
    course, module, lesson = parts
    before = state(course.id)
    client.login(make_user(role))
    assert client.get("/author").status_code == 403
    assert client.get("/author/courses/new").status_code == 403
    assert client.post("/author/courses/new", data={**FORM, "code": "X-1"}).status_code == 403
    codes = try_everything(client, course, module, lesson)
    assert set(codes) == {403}, codes
    assert state(course.id) == before
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, parts):
    _, _, lesson = parts
    response = client.get(f"/author/lessons/{lesson.id}/edit")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_posts_without_a_csrf_token_are_refused(client, owner, parts):
    course, module, lesson = parts
    before = state(course.id)
    client.login(owner)
    for url in post_urls(course, module, lesson):
        assert client.post(url, data=FORM, csrf=False).status_code == 400, url
    assert state(course.id) == before


def test_owner_and_admin_may_use_every_page(client, make_user, owner, parts):
    course, _, lesson = parts
    for person in (owner, make_user("admin")):
        client.login(person)
        for url in get_urls(course, lesson):
            expected = 403 if url.endswith("/owners") and person is owner else 200
            assert client.get(url).status_code == expected, url
        client.post("/logout")


def test_unknown_ids_are_not_found(client, owner, parts):
    course, _, lesson = parts
    client.login(owner)
    assert client.get("/author/lessons/999999/edit").status_code == 404
    assert client.get(f"/author/lessons/{lesson.id}/versions/999").status_code == 404
    assert client.get(f"/author/lessons/{2**40}/edit").status_code == 404
    assert client.post(f"/author/courses/{course.code}/modules/999999/move").status_code == 404
    # A module of another course is not reachable through this course's code.
    _, other_module, _ = build(owner, code="OTHER-1")
    response = client.post(
        f"/author/courses/{course.code}/modules/{other_module.id}/rename",
        data={"title": "x"},
    )
    assert response.status_code == 404
