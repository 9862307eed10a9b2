"""The lesson editor: preview, drafts, publishing, history, diffs and restoring."""

from __future__ import annotations

import re

import pytest

from lms.audit.models import AuditEntry
from lms.catalog import services as catalog
from lms.catalog.models import Lesson
from lms.catalog.services import LessonContent
from lms.extensions import db
from tests.authoring import OLD_TEXT, build, versions_of

NEW_TEXT = "## 第一部分\n\n新的内容，写得更清楚。\n\n## 第二部分\n\n补充一段。\n"


def lesson_data(**changes: str) -> dict[str, str]:
    data = {
        "title": "第一课",
        "title_en": "",
        "minutes": "10",
        "objectives": "说出要点",
        "markdown": OLD_TEXT,
        "base_version": "",
    }
    data.update(changes)
    return data


def save(client, lesson_id: int, publish: bool = False, **changes: str):
    button = {"save_publish": "y"} if publish else {"save_draft": "y"}
    return client.post(
        f"/author/lessons/{lesson_id}/edit", data={**lesson_data(**changes), **button}
    )


def published_number(lesson_id: int) -> int | None:
    db.session.expire_all()
    lesson = db.session.get(Lesson, lesson_id)
    return lesson.published_version.number if lesson.published_version else None


@pytest.fixture
def owner(make_user):
    return make_user("instructor", name="王老师")


@pytest.fixture
def course_parts(owner):
    return build(owner)


def trainee_reads(app, make_user, code: str, lesson_id: int) -> str:
    """The lesson page as a trainee sees it (in a browser of their own)."""
    trainee = make_user("trainee")
    browser = app.test_client()
    browser.login(trainee)
    response = browser.get(f"/courses/{code}/lessons/{lesson_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_editor_shows_the_latest_version_and_a_live_preview(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    response = client.get(f"/author/lessons/{lesson.id}/edit")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "旧的内容" in html
    assert re.search(r"<textarea[^>]*name=\"markdown\"", html)
    assert f'hx-post="/author/lessons/{lesson.id}/preview"' in html
    assert 'hx-trigger="input changed delay:500ms, load"' in html
    assert 'hx-target="#preview"' in html
    # The preview pane starts with the stored HTML; no inline scripts on the page.
    assert '<h2 id="第一部分">' in html
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert " on" + "click=" not in html


def test_the_editor_counts_versions_and_links_to_the_trainees_page(client, owner, course_parts):
    course, _, lesson = course_parts
    client.login(owner)
    client.use_language("en")
    save(client, lesson.id, markdown=NEW_TEXT)
    html = client.get(f"/author/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "History (2 versions)" in html
    assert f'href="/courses/{course.code}/lessons/{lesson.id}" id="lesson-link"' in html


def test_preview_renders_with_the_server_code_and_sanitises(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    hostile = (
        "## 标题\n\n正文 **加粗**\n\n<script>alert(1)</script>\n\n"
        '[点我](javascript:alert(1))\n\n<img src="x" onerror="alert(1)">\n'
    )
    response = client.post(f"/author/lessons/{lesson.id}/preview", data={"markdown": hostile})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h2 id="标题">标题</h2>' in html
    assert "<strong>加粗</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "<html" not in html  # a fragment, not a page
    assert len(versions_of(lesson.id)) == 1  # previewing saves nothing


def test_preview_takes_the_csrf_token_from_the_htmx_header(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    url = f"/author/lessons/{lesson.id}/preview"
    refused = client.post(url, data={"markdown": "## 标题"}, csrf=False)
    assert refused.status_code == 400
    accepted = client.post(
        url,
        data={"markdown": "## 标题"},
        csrf=False,
        headers={"X-CSRFToken": client.csrf_token(), "HX-Request": "true"},
    )
    assert accepted.status_code == 200
    assert '<h2 id="标题">' in accepted.get_data(as_text=True)


def test_draft_then_publish_then_restore(app, client, make_user, owner, course_parts):
    course, _, lesson = course_parts
    client.login(owner)

    # A draft: a new version, the published one unchanged for trainees.
    response = save(client, lesson.id, markdown=NEW_TEXT, base_version="1")
    assert response.status_code == 302
    versions = versions_of(lesson.id)
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].origin == "browser"
    assert versions[1].author_id == owner.id
    assert versions[1].published_at is None
    assert '<h2 id="第二部分">' in versions[1].html  # rendered once, on save
    assert published_number(lesson.id) == 1
    page = trainee_reads(app, make_user, course.code, lesson.id)
    assert "旧的内容" in page and "新的内容" not in page

    # Publishing the same text makes no new version: version 2 becomes live.
    response = save(client, lesson.id, publish=True, markdown=NEW_TEXT, base_version="2")
    assert response.status_code == 302
    assert len(versions_of(lesson.id)) == 2
    assert published_number(lesson.id) == 2
    assert db.session.scalar(
        db.select(AuditEntry).where(
            AuditEntry.action == "lesson.published", AuditEntry.entity_id == lesson.id
        )
    )
    page = trainee_reads(app, make_user, course.code, lesson.id)
    assert "新的内容" in page and "旧的内容" not in page

    # Restoring version 1: a new draft (version 3) with the old content.
    response = client.post(f"/author/lessons/{lesson.id}/versions/1/restore")
    assert response.status_code == 302
    versions = versions_of(lesson.id)
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[2].markdown == versions[0].markdown == OLD_TEXT
    assert versions[2].author_id == owner.id
    assert published_number(lesson.id) == 2

    # ...then publishing it.
    response = client.post(f"/author/lessons/{lesson.id}/versions/3/publish")
    assert response.status_code == 302
    assert published_number(lesson.id) == 3
    page = trainee_reads(app, make_user, course.code, lesson.id)
    assert "旧的内容" in page and "新的内容" not in page


def test_the_trainee_page_follows_publishing(app, client, make_user, owner, course_parts):
    course, _, lesson = course_parts
    client.login(owner)
    save(client, lesson.id, markdown=NEW_TEXT)
    assert "旧的内容" in trainee_reads(app, make_user, course.code, lesson.id)
    save(client, lesson.id, publish=True, markdown=NEW_TEXT)
    assert "新的内容" in trainee_reads(app, make_user, course.code, lesson.id)


def test_restore_and_publish_in_one_step(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    save(client, lesson.id, publish=True, markdown=NEW_TEXT)
    assert published_number(lesson.id) == 2
    client.post(f"/author/lessons/{lesson.id}/versions/1/restore", data={"publish": "y"})
    versions = versions_of(lesson.id)
    assert len(versions) == 3
    assert versions[2].markdown == OLD_TEXT
    assert published_number(lesson.id) == 3


def test_saving_the_same_content_twice_makes_one_version(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    client.use_language("en")
    save(client, lesson.id, markdown=NEW_TEXT)
    response = save(client, lesson.id, markdown=NEW_TEXT, base_version="2")
    assert response.status_code == 302
    assert len(versions_of(lesson.id)) == 2
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No changes" in page
    # Windows line endings and trailing blank lines are the same text.
    save(client, lesson.id, markdown=NEW_TEXT.replace("\n", "\r\n") + "\r\n\r\n")
    assert len(versions_of(lesson.id)) == 2


def test_history_lists_versions_with_author_time_and_origin(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    client.use_language("en")
    save(client, lesson.id, publish=True, markdown=NEW_TEXT)
    response = client.get(f"/author/lessons/{lesson.id}/history")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="version-1"' in html and 'id="version-2"' in html
    row2 = html[html.index('id="version-2"') : html.index('id="version-1"')]
    assert "王老师" in row2
    assert "Browser" in row2
    assert "published-marker" in row2
    assert re.search(r"<time datetime=\"\d{4}-\d\d-\d\dT", row2)
    row1 = html[html.index('id="version-1"') :]
    assert "Course files" in row1
    assert "published-marker" not in row1


def test_a_version_page_shows_a_readable_diff(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    save(
        client,
        lesson.id,
        title="第一课（修订）",
        markdown=NEW_TEXT,
        objectives="说出要点\n举出例子",
    )
    response = client.get(f"/author/lessons/{lesson.id}/versions/2")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    diff = html[html.index('id="changes"') : html.index('id="rendered"')]
    assert '<tr class="diff-ins">' in diff and '<tr class="diff-del">' in diff
    assert "<ins>" in diff and "<del>" in diff
    assert "<ins>新</ins>" in diff
    assert "<del>旧</del>" in diff  # the changed word, inside the line
    assert "<ins>## 第二部分</ins>" in diff  # a new line
    assert "举出例子" in diff  # the changed objectives
    assert "第一课（修订）" in diff
    # The rendered HTML and the Markdown are shown too.
    assert '<h2 id="第二部分">' in html
    assert "## 第二部分" in html


def test_a_diff_against_a_chosen_version(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    save(client, lesson.id, markdown=NEW_TEXT)
    save(client, lesson.id, markdown=NEW_TEXT + "\n最后一段。\n")
    previous = client.get(f"/author/lessons/{lesson.id}/versions/3").get_data(as_text=True)
    assert "<del>旧</del>" not in previous  # against version 2
    chosen = client.get(f"/author/lessons/{lesson.id}/versions/3?against=1")
    assert chosen.status_code == 200
    assert "<del>旧</del>" in chosen.get_data(as_text=True)
    # Nonsense in the query string falls back to the previous version.
    assert client.get(f"/author/lessons/{lesson.id}/versions/3?against=x").status_code == 200
    assert client.get(f"/author/lessons/{lesson.id}/versions/3?against=99").status_code == 200
    assert client.get(f"/author/lessons/{lesson.id}/versions/1").status_code == 200
    assert client.get(f"/author/lessons/{lesson.id}/versions/9").status_code == 404


def test_bad_input_is_shown_and_saves_nothing(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    for changes in (
        {"minutes": "0"},
        {"minutes": "abc"},
        {"title": ""},
        {"title": "长" * 201},
        {"objectives": "\n".join(f"目标{i}" for i in range(30))},
    ):
        response = save(client, lesson.id, markdown=NEW_TEXT, **changes)
        assert response.status_code == 422, changes
    assert len(versions_of(lesson.id)) == 1


def test_publishing_needs_objectives_and_text(client, owner, course_parts):
    _, _, lesson = course_parts
    client.login(owner)
    assert save(client, lesson.id, publish=True, objectives="").status_code == 422
    assert save(client, lesson.id, publish=True, markdown="  \n").status_code == 422
    assert len(versions_of(lesson.id)) == 1
    assert published_number(lesson.id) == 1
    # A draft without objectives is fine; publishing it from the history is refused.
    save(client, lesson.id, objectives="")
    client.post(f"/author/lessons/{lesson.id}/versions/2/publish")
    assert published_number(lesson.id) == 1


def test_a_concurrent_save_is_not_overwritten_unseen(client, owner, course_parts, make_user):
    _, _, lesson = course_parts
    client.login(owner)
    client.use_language("en")
    # Someone else saves version 2 while our editor still shows version 1.
    catalog.save_version(
        lesson,
        LessonContent(title="第一课", markdown="别人的修改\n", objectives=["说出要点"]),
        author_id=None,
    )
    db.session.commit()
    response = save(client, lesson.id, markdown=NEW_TEXT, base_version="1")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Version 2 was saved" in html
    assert "新的内容" in html  # our text is kept in the form
    assert len(versions_of(lesson.id)) == 2
    # Saving again (the form now carries version 2) goes through.
    assert 'value="2"' in html
    response = save(client, lesson.id, markdown=NEW_TEXT, base_version="2")
    assert response.status_code == 302
    assert len(versions_of(lesson.id)) == 3


def test_the_editor_and_history_do_not_query_per_version(
    client, owner, course_parts, count_queries
):
    _, _, lesson = course_parts
    client.login(owner)
    save(client, lesson.id, markdown=NEW_TEXT)
    urls = [f"/author/lessons/{lesson.id}/edit", f"/author/lessons/{lesson.id}/history"]
    counts = []
    for url in urls:
        db.session.expire_all()  # as after the commit below: the same loads each time
        with count_queries as q:
            assert client.get(url).status_code == 200
        counts.append(q.count)
    for n in range(10):
        catalog.save_version(
            lesson,
            LessonContent(title="第一课", markdown=f"第{n}稿\n", objectives=["说出要点"]),
            author_id=owner.id,
        )
    db.session.commit()
    for url, before in zip(urls, counts, strict=True):
        db.session.expire_all()
        with count_queries as q:
            assert client.get(url).status_code == 200
        assert q.count == before, url
