"""The catalogue pages: course list, course page, lesson page and course files."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import markdown
import pytest
from flask import Flask

from lms.catalog.models import Course, CourseAsset
from lms.catalog.services import (
    LessonContent,
    asset_url,
    publish_version,
    refresh_search_text,
    save_version,
)
from lms.extensions import db
from tests.catalog.conftest import SAMPLE_SVG, SampleCourse, add_asset, new_course
from tests.factories import OrganisationFactory

CODE = "TEST-DEV-101"


def lesson_url(sample: SampleCourse, key: str, code: str = CODE) -> str:
    return f"/courses/{code}/lessons/{sample.lessons[key].id}"


def listed_codes(html: str, codes: list[str]) -> set[str]:
    return {code for code in codes if f'id="course-{code}"' in html}


@pytest.fixture
def trainee_client(client: Any, make_user: Any) -> Any:
    client.login(make_user("trainee"))
    client.use_language("en")
    return client


# Access -----------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Any, sample_course: SampleCourse) -> None:
    for url in (
        "/courses",
        f"/courses/{CODE}",
        lesson_url(sample_course, "what"),
        f"/courses/{CODE}/files/01-milestones/images/chart.svg",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_a_trainee_sees_the_pages(trainee_client: Any, sample_course: SampleCourse) -> None:
    assert trainee_client.get("/courses").status_code == 200
    assert trainee_client.get(f"/courses/{CODE}").status_code == 200
    assert trainee_client.get(lesson_url(sample_course, "what")).status_code == 200


# The course list --------------------------------------------------------------------------------


def test_list_shows_published_courses_with_their_facts(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    new_course("TEST-DRAFT-1", status="draft")
    new_course("TEST-OLD-1", status="archived")
    db.session.commit()
    html = trainee_client.get("/courses").get_data(as_text=True)
    codes = [CODE, "TEST-BASE-100", "TEST-DRAFT-1", "TEST-OLD-1"]
    assert listed_codes(html, codes) == {CODE, "TEST-BASE-100"}
    card = html[html.index(f'id="course-{CODE}"') :]
    card = card[: card.index("</article>")]
    assert "Foundations of Early Growth" in card  # English page: English title
    assert 'lang="zh-Hans-CN">婴幼儿成长基础' in card  # with the Chinese one under it
    assert "Pre-service" in card and "Foundation" in card
    assert "12.5 CE hours" in card
    assert "3 lessons" in card  # archived and unpublished lessons are not counted
    assert "60 minutes" in card  # 20 + 15 + 25
    assert "Nanjing Test University" in card
    assert "A foundation course for new care staff." in card


def test_chinese_page_shows_chinese_titles(client: Any, make_user: Any, sample_course: Any) -> None:
    client.login(make_user("trainee"))
    html = client.get("/courses").get_data(as_text=True)
    assert "婴幼儿成长基础</a>" in html
    assert 'lang="en">Foundations of Early Growth' in html


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("发育", {CODE}),  # only in a lesson's body
        ("成长基础", {CODE}),  # Chinese title
        ("early growth", {CODE}),  # English title, any case
        ("FOUNDATION course", {CODE}),  # every word, anywhere
        ("test-base", {"TEST-BASE-100"}),  # code
        ("入门", {"TEST-BASE-100"}),
        ("尚未发布", set()),  # an unpublished lesson's title is not searched
        ("旧内容", set()),  # nor an archived lesson's text
        ("%", set()),  # typed wildcards match themselves
        ("_", set()),
        ("不存在的词", set()),
    ],
)
def test_search(trainee_client: Any, sample_course: SampleCourse, q: str, found: set[str]) -> None:
    response = trainee_client.get("/courses", query_string={"q": q})
    assert response.status_code == 200
    assert listed_codes(response.get_data(as_text=True), [CODE, "TEST-BASE-100"]) == found


def test_search_finds_a_newly_published_version(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    lesson = sample_course.lessons["routines"]
    content = LessonContent(title="一日生活中的回应", markdown="午睡时观察孩子的睡眠信号。")
    save_version(lesson, content, author_id=None, publish=True)
    refresh_search_text(sample_course.course)
    db.session.commit()
    html = trainee_client.get("/courses?q=睡眠信号").get_data(as_text=True)
    assert listed_codes(html, [CODE]) == {CODE}


def test_filters_narrow_the_list(
    trainee_client: Any, sample_course: SampleCourse, make_catalog_course: Any
) -> None:
    OrganisationFactory(code="OTHERUNI", kind="university", name="另一所大学", name_en="")
    make_catalog_course(
        "TEST-INS-201",
        track="in_service",
        level="intermediate",
        ce_hours=Decimal(20),
        partner_code="OTHERUNI",
    )
    make_catalog_course(
        "TEST-LEAD-301",
        track="lead_trainer",
        level="advanced",
        ce_hours=Decimal(8),
        partner_code="UNREGISTERED",
    )
    codes = [CODE, "TEST-BASE-100", "TEST-INS-201", "TEST-LEAD-301"]

    def listed(**args: str) -> set[str]:
        response = trainee_client.get("/courses", query_string=args)
        assert response.status_code == 200
        return listed_codes(response.get_data(as_text=True), codes)

    assert listed() == set(codes)
    assert listed(track="in_service") == {"TEST-INS-201"}
    assert listed(track="pre_service") == {CODE, "TEST-BASE-100"}
    assert listed(level="advanced") == {"TEST-LEAD-301"}
    assert listed(partner="TESTUNI") == {CODE}
    assert listed(partner="UNREGISTERED") == {"TEST-LEAD-301"}
    assert listed(hours="short") == {"TEST-BASE-100", "TEST-LEAD-301"}  # 4 and 8 hours
    assert listed(hours="medium") == {CODE}  # 12.5 hours
    assert listed(hours="long") == {"TEST-INS-201"}  # 20 hours
    assert listed(track="pre_service", hours="medium", q="发育") == {CODE}
    assert listed(track="in_service", q="发育") == set()

    html = trainee_client.get("/courses").get_data(as_text=True)
    # Partners offered: those of published courses, by name when registered.
    assert '<option value="TESTUNI">Nanjing Test University</option>' in html
    assert '<option value="OTHERUNI">另一所大学</option>' in html
    assert '<option value="UNREGISTERED">UNREGISTERED</option>' in html


@pytest.mark.parametrize(
    "args",
    [
        {"track": "astronaut"},
        {"partner": "NOPE"},
        {"level": "x" * 500},
        {"hours": "-1"},
        {"q": "发" * 1000},
        {"page": "abc"},
        {"page": "999999"},
        {"page": "99999999999999999999"},
        {"q": "\x00"},
    ],
)
def test_bad_filters_do_not_crash(
    trainee_client: Any, sample_course: SampleCourse, args: dict[str, str]
) -> None:
    response = trainee_client.get("/courses", query_string=args)
    # A NUL byte is refused app-wide as a bad request (400).
    assert response.status_code in ((400,) if "\x00" in args.get("q", "") else (200, 422))


def test_pages(trainee_client: Any, app: Flask, monkeypatch: Any, make_catalog_course: Any) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    codes = [f"TEST-P-{n}" for n in range(5)]
    for code in codes:
        make_catalog_course(code)
    seen: list[str] = []
    for page in (1, 2, 3):
        html = trainee_client.get(f"/courses?page={page}").get_data(as_text=True)
        on_page = sorted(listed_codes(html, codes))
        assert len(on_page) == (2 if page < 3 else 1)
        seen.extend(on_page)
        assert "5 results" in html
    assert seen == codes
    # Filters are kept in the page links.
    html = trainee_client.get("/courses?track=pre_service").get_data(as_text=True)
    assert "/courses?page=2&amp;track=pre_service" in html


def test_list_query_count_does_not_grow(
    trainee_client: Any, make_catalog_course: Any, count_queries: Any
) -> None:
    def count() -> int:
        db.session.expunge_all()  # as in a real request: nothing cached from before
        with count_queries as q:
            assert trainee_client.get("/courses").status_code == 200
        return q.count

    for n in range(3):
        make_catalog_course(f"TEST-Q-{n:02d}", partner_code="TESTUNI")
    few = count()
    for n in range(3, 30):
        make_catalog_course(f"TEST-Q-{n:02d}", partner_code="TESTUNI")
    assert count() == few


# The course page --------------------------------------------------------------------------------


def test_course_page(trainee_client: Any, sample_course: SampleCourse) -> None:
    html = trainee_client.get(f"/courses/{CODE}").get_data(as_text=True)
    lessons = sample_course.lessons
    assert "A foundation course for new care staff." in html
    assert "Nanjing Test University" in html
    assert "12.5" in html
    assert "60 minutes" in html
    assert 'href="/courses/TEST-BASE-100">Starter course</a>' in html  # prerequisite
    # Modules in order, with their readable lessons in order.
    assert html.index('id="module-01-milestones"') < html.index('id="module-02-care"')
    order = [html.index(f'id="lesson-{lesson.id}"') for lesson in sample_course.reading_order]
    assert order == sorted(order)
    assert f'id="lesson-{lessons["old"].id}"' not in html  # archived
    assert f'id="lesson-{lessons["draft"].id}"' not in html  # never published
    assert "3 questions" in html and "第一单元测验" in html
    assert f'href="{lesson_url(sample_course, "what")}" id="start"' in html
    assert 'id="edit-course"' not in html


def test_course_page_query_count(
    trainee_client: Any, sample_course: SampleCourse, count_queries: Any
) -> None:
    db.session.expunge_all()
    with count_queries as q:
        assert trainee_client.get(f"/courses/{CODE}").status_code == 200
    # the person with their roles, course with partner, modules, lessons, quizzes,
    # prerequisites, and whether the reader is enrolled (progress is for enrolled people)
    assert q.count <= 7


@pytest.mark.parametrize(
    "url",
    [
        "/courses/NO-SUCH",
        "/courses/A%00B",
        "/courses/" + "X" * 300,
        "/courses/A%00B/lessons/1",
        "/courses/A%00B/files/a.png",
        "/courses/%E5%8F%91",
    ],
)
def test_unknown_course_is_404(trainee_client: Any, url: str) -> None:
    expected = 400 if "%00" in url else 404  # NUL bytes are refused app-wide
    assert trainee_client.get(url).status_code == expected


def test_a_draft_course_is_seen_by_its_owner_and_admins_only(
    client: Any, make_user: Any, sample_course: SampleCourse, app: Flask
) -> None:
    sample_course.course.status = "draft"
    db.session.commit()
    urls = [
        f"/courses/{CODE}",
        lesson_url(sample_course, "what"),
        f"/courses/{CODE}/files/01-milestones/images/chart.svg",
    ]
    for user, expected in (
        (make_user("trainee"), 404),
        (make_user("instructor"), 404),  # not an owner
        (make_user("hr"), 404),
        (sample_course.owner, 200),
        (make_user("admin"), 200),
    ):
        client.login(user)
        for url in urls:
            assert client.get(url).status_code == expected, (user.roles, url)
        listing = client.get("/courses").get_data(as_text=True)
        assert f'id="course-{CODE}"' not in listing  # never in the catalogue
        client.post("/logout")


def test_owner_gets_a_link_to_the_authoring_page(client: Any, sample_course: SampleCourse) -> None:
    client.login(sample_course.owner)
    html = client.get(f"/courses/{CODE}").get_data(as_text=True)
    assert f'href="/author/courses/{CODE}" id="edit-course"' in html


# The lesson page --------------------------------------------------------------------------------


def test_lesson_page_shows_the_stored_html(
    trainee_client: Any, sample_course: SampleCourse, monkeypatch: Any
) -> None:
    version = sample_course.lessons["what"].published_version
    version.html = '<p id="stored-marker">存储的HTML</p>'  # not what its Markdown says
    db.session.commit()
    renders = []
    original = markdown.Markdown.convert

    def counting_convert(self: markdown.Markdown, source: str) -> str:
        renders.append(source)
        return original(self, source)

    monkeypatch.setattr(markdown.Markdown, "convert", counting_convert)
    html = trainee_client.get(lesson_url(sample_course, "what")).get_data(as_text=True)
    assert renders == []
    assert '<p id="stored-marker">存储的HTML</p>' in html
    assert "发育包括" not in html  # the Markdown is not rendered again


def test_lesson_page_content(trainee_client: Any, sample_course: SampleCourse) -> None:
    html = trainee_client.get(lesson_url(sample_course, "what")).get_data(as_text=True)
    assert '<h1 id="lesson-title">What development means</h1>' in html
    assert "20 minutes" in html
    assert "说出婴幼儿发展的五个领域" in html  # objectives
    assert '<article class="lesson-content" id="lesson-content" lang="zh-Hans-CN">' in html
    assert '<h2 id="发展的五个领域">' in html
    assert 'href="#发展的五个领域"' in html  # table of contents
    assert '<aside class="lesson-toc" id="toc">' in html
    assert '<details class="lesson-toc-compact" id="toc-compact">' in html
    assert asset_url(CODE, "01-milestones/images/chart.svg") in html
    # Breadcrumbs: catalogue, course, module.
    assert f'href="/courses/{CODE}">Foundations of Early Growth</a>' in html
    assert "Milestones</a>" in html


def test_lesson_page_query_count(
    trainee_client: Any, sample_course: SampleCourse, count_queries: Any
) -> None:
    url = lesson_url(sample_course, "differences")
    db.session.expunge_all()  # nothing cached: the person is loaded as in a real request
    with count_queries as q:
        response = trainee_client.get(url)
    assert response.status_code == 200
    # the person with their roles, the lesson, the lesson order, and the reader's enrolment
    # and progress in one
    assert q.count <= 4, q.statements


def test_previous_and_next_across_modules(trainee_client: Any, sample_course: SampleCourse) -> None:
    """what -> differences -> routines: "old" is archived, "draft" was never published."""
    order = sample_course.reading_order
    for i, lesson in enumerate(order):
        html = trainee_client.get(f"/courses/{CODE}/lessons/{lesson.id}").get_data(as_text=True)
        if i == 0:
            assert 'id="previous-lesson"' not in html
        else:
            assert f'href="/courses/{CODE}/lessons/{order[i - 1].id}" rel="prev"' in html
        if i == len(order) - 1:
            assert 'id="next-lesson"' not in html
            assert 'id="back-to-course"' in html
        else:
            assert f'href="/courses/{CODE}/lessons/{order[i + 1].id}" rel="next"' in html
        assert f"Lesson {i + 1} of 3" in html


def test_an_archived_module_drops_out_of_the_order(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    sample_course.modules[1].archived = True
    db.session.commit()
    html = trainee_client.get(lesson_url(sample_course, "differences")).get_data(as_text=True)
    assert 'id="next-lesson"' not in html
    assert trainee_client.get(lesson_url(sample_course, "routines")).status_code == 404


def test_unreadable_lessons_are_404(trainee_client: Any, sample_course: SampleCourse) -> None:
    assert trainee_client.get(lesson_url(sample_course, "old")).status_code == 404  # archived
    assert trainee_client.get(lesson_url(sample_course, "draft")).status_code == 404
    # A lesson asked for under another course's code.
    assert trainee_client.get(lesson_url(sample_course, "what", "TEST-BASE-100")).status_code == 404
    assert trainee_client.get(f"/courses/{CODE}/lessons/999999").status_code == 404
    assert trainee_client.get(f"/courses/{CODE}/lessons/99999999999999").status_code == 404


def test_a_newly_published_version_is_what_trainees_read(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    lesson = sample_course.lessons["differences"]
    content = LessonContent(title="个体差异（修订）", markdown="## 新内容\n\n修订后的正文。")
    draft = save_version(lesson, content, author_id=None)
    db.session.commit()
    assert "修订后的正文" not in trainee_client.get(lesson_url(sample_course, "differences")).text
    publish_version(draft, None)
    db.session.commit()
    html = trainee_client.get(lesson_url(sample_course, "differences")).get_data(as_text=True)
    assert "修订后的正文" in html and "个体差异（修订）" in html


# Course files -----------------------------------------------------------------------------------


def test_a_course_file_is_served_with_safe_headers(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    response = trainee_client.get(f"/courses/{CODE}/files/01-milestones/images/chart.svg")
    assert response.status_code == 200
    assert response.data == SAMPLE_SVG
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert response.headers["ETag"] == f'"{sample_course.asset.sha256}"'
    assert response.cache_control.private
    assert not response.cache_control.public
    assert response.cache_control.max_age == 31536000
    again = trainee_client.get(
        f"/courses/{CODE}/files/01-milestones/images/chart.svg",
        headers={"If-None-Match": f'"{sample_course.asset.sha256}"'},
    )
    assert again.status_code == 304


def test_raster_images_and_other_files(
    trainee_client: Any, sample_course: SampleCourse, app: Flask
) -> None:
    course = sample_course.course
    add_asset(app, course, "01-milestones/images/dot.png", b"\x89PNG\r\n\x1a\nfake", "image/png")
    add_asset(app, course, "01-milestones/notes.html", b"<script>alert(1)</script>", "text/html")
    db.session.commit()
    png = trainee_client.get(f"/courses/{CODE}/files/01-milestones/images/dot.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["X-Content-Type-Options"] == "nosniff"
    # Not an image type: never rendered by the browser as a page of ours.
    other = trainee_client.get(f"/courses/{CODE}/files/01-milestones/notes.html")
    assert other.status_code == 200
    assert other.mimetype == "application/octet-stream"
    assert other.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in other.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "01-milestones/images/missing.svg",
        "images/chart.svg",
        "01-milestones/../01-milestones/images/chart.svg",
        "01-milestones/./images/chart.svg",
        "../../../../etc/passwd",
        "..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/etc/passwd",
        "%252e%252e/%252e%252e/etc/passwd",
        "01-milestones%2f..%2f..%2fsecret",
        "..%5c..%5cwindows%5cwin.ini",
        "01-milestones\\images\\chart.svg",
        "%2fetc%2fpasswd",
        "C:%5cWindows",
        "01-milestones/images/chart.svg%00.png",
        "01-milestones//images/chart.svg",
    ],
)
def test_bad_or_unknown_file_paths_are_404(
    trainee_client: Any, sample_course: SampleCourse, path: str
) -> None:
    # (werkzeug first merges a decoded leading "//" by redirecting; the target is refused too)
    response = trainee_client.get(f"/courses/{CODE}/files/{path}", follow_redirects=True)
    assert response.status_code == (400 if "%00" in path else 404)  # NUL: refused app-wide


def test_files_are_served_only_for_their_own_course(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    url = "/courses/TEST-BASE-100/files/01-milestones/images/chart.svg"
    assert trainee_client.get(url).status_code == 404
    assert trainee_client.get("/courses/NO-SUCH/files/a.svg").status_code == 404


def test_a_file_missing_from_the_store_is_404(
    trainee_client: Any, sample_course: SampleCourse
) -> None:
    course: Course = sample_course.course
    for path, sha in (("gone.png", "f" * 64), ("odd.png", "../../../etc/passwd")):
        db.session.add(
            CourseAsset(
                course_id=course.id, path=path, content_type="image/png", size=1, sha256=sha
            )
        )
    db.session.commit()
    assert trainee_client.get(f"/courses/{CODE}/files/gone.png").status_code == 404
    assert trainee_client.get(f"/courses/{CODE}/files/odd.png").status_code == 404
