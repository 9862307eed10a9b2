"""The programme pages, the competency standard and the administrators' programme editor."""

from __future__ import annotations

import html as html_module
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.catalog.models import Course
from lms.extensions import db
from lms.learning.models import Competency, Programme, ProgrammeCourse
from tests.conftest import form_errors


def add_course(code: str, status: str = "published") -> Course:
    course = Course(
        code=code,
        title=f"课程 {code}",
        title_en=f"Course {code}",
        track="in_service",
        level="foundation",
        ce_hours=Decimal(4),
        status=status,
    )
    db.session.add(course)
    db.session.flush()
    return course


def add_programmes(count: int, course: Course) -> None:
    """``count`` more programmes, each with a required and an elective course."""
    for n in range(count):
        elective = add_course(f"EL-{n}")
        programme = Programme(
            code=f"P-{n}",
            title=f"项目{n}",
            title_en=f"Programme {n}",
            track="in_service",
            cycle="annual",
            min_ce_hours=Decimal(12),
            min_electives=1,
            certificate_title=f"证书{n}",
        )
        programme.courses += [
            ProgrammeCourse(course=course, required=True, position=1),
            ProgrammeCourse(course=elective, required=False, position=2),
        ]
        db.session.add(programme)
    db.session.commit()


def sign_in(client: Any, user: Any) -> None:
    client.use_language("en")
    client.login(user)


def text_of(html: str) -> str:
    """The page's text on one line (tags removed), to search in."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def audit_actions(entity_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.entity_type == "programme", AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
    )


# --- The list ----------------------------------------------------------------------------------


def test_list_shows_programmes_with_their_facts(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    sign_in(client, learning_world.trainee)
    response = client.get("/programmes")
    assert response.status_code == 200
    page = text_of(response.get_data(as_text=True))
    assert "WORLD-QUAL" in page
    assert "Carer pre-service qualification" in page
    assert "Pre-service" in page
    assert "Talent pool (qualified professional)" in page
    assert "Certificate of the infant-care talent pool" in page
    html = response.get_data(as_text=True)
    row = html[html.index('id="programme-WORLD-QUAL"') :].split("</tr>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[-3:] == ["1", "0", "8"]  # required courses, electives, CE hours
    assert 'href="/programmes/new"' not in html


def test_archived_programmes_are_listed_for_admins_only(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    learning_world.programme.archived = True
    db.session.commit()
    sign_in(client, learning_world.trainee)
    assert "WORLD-QUAL" not in client.get("/programmes").get_data(as_text=True)
    assert client.get("/programmes/WORLD-QUAL").status_code == 404
    client.post("/logout")
    sign_in(client, make_user("admin"))
    html = client.get("/programmes").get_data(as_text=True)
    assert "WORLD-QUAL" in html and "Archived" in html
    assert 'href="/programmes/new"' in html
    assert "archived-notice" in client.get("/programmes/WORLD-QUAL").get_data(as_text=True)


def test_the_list_runs_a_fixed_number_of_queries(
    client: Any, learning_world: Any, make_user: Any, count_queries: Any
) -> None:
    admin = make_user("admin")
    db.session.commit()
    sign_in(client, admin)
    with count_queries as few:
        assert client.get("/programmes").status_code == 200
    add_programmes(6, learning_world.course)
    with count_queries as many:
        page = client.get("/programmes").get_data(as_text=True)
    assert "P-5" in page
    assert many.count == few.count


def test_pages_need_a_signed_in_person(client: Any, learning_world: Any) -> None:
    for url in ("/programmes", "/programmes/WORLD-QUAL", "/competencies"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


# --- A programme's page ------------------------------------------------------------------------


def test_detail_shows_the_rules_and_the_trainees_checklist(
    client: Any, learning_world: Any
) -> None:
    world = learning_world
    world.programme.requires_tier = "lead_trainer"
    db.session.commit()
    sign_in(client, world.trainee)
    response = client.get("/programmes/WORLD-QUAL")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text_of(html)
    assert "Carer pre-service qualification" in page
    assert "测试项目。" in page  # the summary (no English one)
    assert 'href="/courses/WORLD-101"' in html
    assert "Seven-step handwashing" in page
    assert "Every competency of: Professional skills" in page
    assert "S-HYG Hygiene routines" in page
    assert "K-DEV" not in page  # knowledge is not required
    assert "Certificate of the infant-care talent pool" in page
    facts = text_of(html[html.index('id="programme-facts"') :].split("</dl>")[0])
    assert "Requires the tier Lead trainer" in facts
    assert "Minimum CE hours 8" in facts
    assert "Cycle Once" in facts
    # The trainee's own checklist, from the completion rules, nothing done yet.
    checklist = text_of(html[html.index('id="checklist"') :].split("</ul>")[0])
    assert "To do Holds the tier: Lead trainer" in checklist
    assert "To do Course completed: 照护基础" in checklist
    assert "To do Practical assessment passed: 七步洗手法示范" in checklist
    assert "Done" not in checklist
    assert f'href="/cohorts/open?programme={world.programme.id}"' in html
    assert "programme-admin" not in html


def test_others_see_no_checklist(client: Any, learning_world: Any, make_user: Any) -> None:
    sign_in(client, make_user("hr"))
    html = client.get("/programmes/WORLD-QUAL").get_data(as_text=True)
    assert "checklist" not in html
    assert "WORLD-101" in html


def test_unknown_programmes_are_not_found(client: Any, learning_world: Any) -> None:
    sign_in(client, learning_world.trainee)
    assert client.get("/programmes/NOPE").status_code == 404
    assert client.get("/programmes/world-qual").status_code == 404


# --- The competency standard -------------------------------------------------------------------


def test_competency_standard_shows_dimensions_competencies_and_evidence(
    client: Any, learning_world: Any
) -> None:
    sign_in(client, learning_world.trainee)
    response = client.get("/competencies")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text_of(html)
    for label in ("Professional ethics", "Professional knowledge", "Professional skills"):
        assert label in page
    k_dev = text_of(html[html.index('id="competency-K-DEV"') :].split("</tr>")[0])
    assert "Child development" in k_dev
    assert "WORLD-101 · 导论" in k_dev
    assert "综合测验: 发展知识" in k_dev
    lesson = learning_world.lessons[0]
    assert f'href="/courses/WORLD-101/lessons/{lesson.id}"' in html
    s_hyg = text_of(html[html.index('id="competency-S-HYG"') :].split("</tr>")[0])
    assert "Seven-step handwashing: Steps" in s_hyg


def test_competency_standard_runs_a_fixed_number_of_queries(
    client: Any, learning_world: Any, count_queries: Any
) -> None:
    sign_in(client, learning_world.trainee)
    with count_queries as few:
        assert client.get("/competencies").status_code == 200
    for n in range(5):
        db.session.add(
            Competency(code=f"K-X{n}", dimension="knowledge", title=f"知识{n}", position=10 + n)
        )
    learning_world.quiz.category_competencies = {
        "发展知识": ["K-DEV", "K-X0", "K-X1"],
        "职业道德": ["E-RESP", "K-X2"],
    }
    db.session.commit()
    with count_queries as many:
        page = client.get("/competencies").get_data(as_text=True)
    assert "K-X4" in page
    assert many.count == few.count


# --- Permission --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["trainee", "instructor", "hr", "coordinator"])
def test_only_administrators_edit(
    client: Any, learning_world: Any, make_user: Any, role: str
) -> None:
    sign_in(client, make_user(role))
    assert client.get("/programmes/new").status_code == 403
    assert client.post("/programmes/new", data={"code": "X", "title": "X"}).status_code == 403
    assert client.get("/programmes/WORLD-QUAL/edit").status_code == 403
    assert client.post("/programmes/WORLD-QUAL/edit", data={"title": "改"}).status_code == 403
    assert client.post("/programmes/WORLD-QUAL/archive").status_code == 403
    assert client.post("/programmes/WORLD-QUAL/unarchive").status_code == 403
    db.session.expire_all()
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "WORLD-QUAL"))
    assert programme is not None
    assert (programme.title, programme.archived) == ("照护人员职前资格", False)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 1
    assert audit_actions(programme.id) == []


# --- The editor --------------------------------------------------------------------------------


def new_programme_form(world: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "LEAD-2026",
        "title": "师资骨干培训",
        "title_en": "Lead trainer programme",
        "summary": "面向骨干。",
        "summary_en": "",
        "track": "lead_trainer",
        "tier": "lead_trainer",
        "requires_tier": "talent_pool",
        "cycle": "once",
        "min_ce_hours": "40.5",
        "min_electives": "0",
        "required_courses": [str(world.course.id)],
        "practicals": [str(world.practical.id)],
        "required_dimensions": ["skills", "knowledge"],
        "certificate_title": "师资骨干证书",
        "certificate_title_en": "Lead trainer certificate",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_admin_creates_a_programme(client: Any, learning_world: Any, make_user: Any) -> None:
    admin = make_user("admin")
    sign_in(client, admin)
    form = client.get("/programmes/new").get_data(as_text=True)
    assert 'name="code"' in form
    assert "WORLD-101 · Care basics" in form
    assert "WORLD-101 · Seven-step handwashing" in form
    response = client.post("/programmes/new", data=new_programme_form(learning_world))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/programmes/LEAD-2026")
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "LEAD-2026"))
    assert programme is not None
    assert (programme.origin, programme.tier, programme.requires_tier) == (
        "browser",
        "lead_trainer",
        "talent_pool",
    )
    assert programme.min_ce_hours == Decimal("40.5")
    assert programme.required_dimensions == ["knowledge", "skills"]
    assert [c.course.code for c in programme.courses] == ["WORLD-101"]
    assert [p.key for p in programme.practicals] == ["handwashing"]
    assert audit_actions(programme.id) == ["programme.created"]
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Programme LEAD-2026 created." in page
    assert "Lead trainer programme" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "bad code"}, "code", "capital letters"),
        ({"code": "WORLD-QUAL"}, "code", "Another programme already has this code."),
        ({"title": ""}, "title", "This field is required."),
        ({"track": "weekend"}, "track", "Not a valid choice."),
        ({"requires_tier": "lead_trainer"}, "requires_tier", "cannot require the tier it leads to"),
        ({"cycle": "weekly"}, "cycle", "Not a valid choice."),
        ({"min_ce_hours": "1000"}, "min_ce_hours", "Between 0 and 999 hours."),
        ({"min_ce_hours": "2.25"}, "min_ce_hours", "At most one decimal"),
        ({"min_ce_hours": "many"}, "min_ce_hours", "Not a valid decimal value"),
        ({"min_electives": "1"}, "min_electives", "At most the number of elective courses (0)."),
        ({"required_courses": None}, "required_courses", "Choose at least one course."),
        ({"elective_courses": None}, "required_courses", None),
        ({"practicals": ["999999"]}, "practicals", "the programme's courses only"),
        ({"required_dimensions": ["hygiene"]}, "required_dimensions", "Not a valid choice."),
    ],
)
def test_the_form_names_the_wrong_field_and_saves_nothing(
    client: Any,
    learning_world: Any,
    make_user: Any,
    changes: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    sign_in(client, make_user("admin"))
    if field == "required_courses" and message is None:
        # A course in both lists.
        course = str(learning_world.course.id)
        changes = {"elective_courses": [course]}
        field, message = "elective_courses", "either required or elective, not both: WORLD-101"
    response = client.post("/programmes/new", data=new_programme_form(learning_world, **changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error" class="field-error">([^<]*)<', html)
    assert error is not None, form_errors(html)
    assert message in html_module.unescape(error.group(1))
    assert len(form_errors(html)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 1
    programme_entries = sa.select(AuditEntry).where(AuditEntry.entity_type == "programme")
    assert db.session.scalars(programme_entries).all() == []


def test_admin_edits_a_programme_from_the_files(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    elective = add_course("ELECT-1")
    db.session.commit()
    sign_in(client, make_user("admin"))
    html = client.get("/programmes/WORLD-QUAL/edit").get_data(as_text=True)
    assert "courses/programmes.toml" in text_of(html)
    assert 'id="files-notice"' in html
    assert 'name="code"' not in html
    assert 'value="照护人员职前资格"' in html
    checked = re.findall(
        r'<input checked id="([a-z_]+)-\d+" name="\1" type="checkbox" value="([^"]+)"', html
    )
    assert sorted(checked) == sorted(
        [
            ("required_courses", str(world.course.id)),
            ("practicals", str(world.practical.id)),
            ("required_dimensions", "skills"),
        ]
    )
    data = new_programme_form(
        world,
        code="IGNORED",
        title="照护人员职前资格（修订）",
        track="pre_service",
        tier="talent_pool",
        requires_tier="",
        min_ce_hours="8",
        elective_courses=[str(elective.id)],
        min_electives="1",
        practicals=[],
        required_dimensions=["skills"],
    )
    response = client.post("/programmes/WORLD-QUAL/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "WORLD-QUAL"))
    assert programme is not None
    assert programme.title == "照护人员职前资格（修订）"
    assert programme.origin == "files"
    assert [(c.course.code, c.required) for c in programme.courses] == [
        ("WORLD-101", True),
        ("ELECT-1", False),
    ]
    assert programme.practicals == []
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "programme.updated"))
    assert entry is not None and entry.entity_id == programme.id
    assert entry.before is not None and entry.after is not None
    assert entry.before["title"] == "照护人员职前资格"
    assert entry.after["title"] == "照护人员职前资格（修订）"
    assert (entry.before["elective_courses"], entry.after["elective_courses"]) == ([], ["ELECT-1"])
    assert "code" not in entry.after
    page = client.get("/programmes/WORLD-QUAL").get_data(as_text=True)
    assert "Programme WORLD-QUAL saved." in page
    assert 'id="programme-admin"' in page


def test_a_browser_programme_has_no_files_notice(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    learning_world.programme.origin = "browser"
    db.session.commit()
    sign_in(client, make_user("admin"))
    assert "files-notice" not in client.get("/programmes/WORLD-QUAL/edit").get_data(as_text=True)


def test_admin_archives_and_lists_again(client: Any, learning_world: Any, make_user: Any) -> None:
    programme = learning_world.programme
    sign_in(client, make_user("admin"))
    response = client.post("/programmes/WORLD-QUAL/archive")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).archived  # type: ignore[union-attr]
    page = client.get("/programmes/WORLD-QUAL").get_data(as_text=True)
    assert "unarchive-form" in page
    assert 'id="archived-notice"' in page
    client.post("/programmes/WORLD-QUAL/unarchive")
    db.session.expire_all()
    assert not db.session.get(Programme, programme.id).archived  # type: ignore[union-attr]
    assert audit_actions(programme.id) == ["programme.archived", "programme.unarchived"]


def test_editing_needs_a_valid_csrf_token(client: Any, learning_world: Any, make_user: Any) -> None:
    sign_in(client, make_user("admin"))
    response = client.post("/programmes/WORLD-QUAL/archive", data={}, csrf=False)
    assert response.status_code == 400
    db.session.expire_all()
    assert not db.session.get(Programme, learning_world.programme.id).archived  # type: ignore[union-attr]
