"""The people directory and the administrators' account pages, as their users meet them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.auth.models import User
from lms.extensions import db
from tests import factories
from tests.conftest import form_errors
from tests.factories import TEST_PASSWORD


def listed_ids(html: str) -> set[int]:
    """The ids of the people in the directory table."""
    return {int(i) for i in re.findall(r'<tr id="person-(\d+)"', html)}


def audit_entries(user_id: int, action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.entity_type == "user",
                AuditEntry.entity_id == user_id,
                AuditEntry.action == action,
            )
        )
    )


def user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def reload(user: User) -> User:
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh is not None
    return fresh


@pytest.fixture
def admin(client: Any, make_user: Any) -> User:
    user = make_user("admin", name="管理员")
    client.login(user)
    return user


@pytest.fixture
def other_client(app: Any) -> Any:
    """A second browser, for the person an administrator is acting on."""
    return app.test_client()


# Access ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/people", "/people/1", "/people/new", "/people/1/edit"])
def test_anonymous_is_sent_to_sign_in(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["trainee", "instructor"])
def test_trainee_and_instructor_may_not_use_the_directory(
    client: Any, make_user: Any, role: str
) -> None:
    client.login(make_user(role))
    assert client.get("/people").status_code == 403
    assert client.get("/people/new").status_code == 403


@pytest.mark.parametrize("role", ["hr", "coordinator", "admin"])
def test_people_roles_open_the_directory(client: Any, make_user: Any, role: str) -> None:
    client.login(make_user(role))
    assert client.get("/people").status_code == 200


@pytest.mark.parametrize("role", ["hr", "coordinator"])
def test_hr_and_coordinator_cannot_manage_accounts(client: Any, make_user: Any, role: str) -> None:
    person = make_user("trainee")
    client.login(make_user(role))
    assert client.get("/people/new").status_code == 403
    assert client.get(f"/people/{person.id}/edit").status_code == 403
    assert client.post(f"/people/{person.id}/deactivate").status_code == 403
    assert client.post(f"/people/{person.id}/reset-password").status_code == 403
    assert reload(person).active
    page = client.get("/people").get_data(as_text=True)
    assert 'id="new-person"' not in page
    detail = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert 'id="person-actions"' not in detail


def test_admin_sees_new_person_and_roster_import(client: Any, admin: User) -> None:
    page = client.get("/people").get_data(as_text=True)
    assert 'id="new-person"' in page
    assert 'id="import-roster"' in page


@pytest.mark.parametrize("role", ["coordinator", "hr"])
def test_scoped_officer_sees_only_their_organisation(
    client: Any, make_user: Any, role: str
) -> None:
    org_a = factories.OrganisationFactory(kind="centre")
    under_a = factories.OrganisationFactory(kind="station", parent=org_a)
    org_b = factories.OrganisationFactory(kind="centre")
    in_a = make_user("trainee", name="甲机构学员", employer=org_a)
    in_child = make_user("trainee", name="下属站学员", employer=under_a)
    in_b = make_user("trainee", name="乙机构学员", employer=org_b)
    nowhere = make_user("trainee", name="无单位学员")
    officer = make_user((role, org_a), employer=org_a)
    client.login(officer)

    listed = listed_ids(client.get("/people?status=all").get_data(as_text=True))
    assert {in_a.id, in_child.id} <= listed
    assert in_b.id not in listed
    assert nowhere.id not in listed

    assert client.get(f"/people/{in_a.id}").status_code == 200
    assert client.get(f"/people/{in_child.id}").status_code == 200
    assert client.get(f"/people/{in_b.id}").status_code == 404
    assert client.get(f"/people/{nowhere.id}").status_code == 404
    # Asking for another partner's organisation in the URL does not widen the view.
    listed = listed_ids(client.get(f"/people?organisation={org_b.id}").get_data(as_text=True))
    assert in_b.id not in listed


def test_trainee_sees_only_their_own_record(client: Any, make_user: Any) -> None:
    me = make_user("trainee", name="张三")
    someone = make_user("trainee", name="李四")
    client.login(me)
    assert client.get(f"/people/{me.id}").status_code == 200
    assert client.get(f"/people/{someone.id}").status_code == 404
    assert client.get("/people/999999").status_code == 404


def test_detail_shows_facts_and_admin_sees_history(client: Any, admin: User) -> None:
    org = factories.OrganisationFactory(name_en="Sunshine Nursery")
    coordinator = factories.UserFactory(name="王协调", employer=org, roles=[("coordinator", org)])
    db.session.commit()
    client.use_language("en")
    client.post(
        f"/people/{coordinator.id}/edit",
        data={
            "name": "王协调员",
            "email": coordinator.email,
            "roles": ["coordinator"],
            "coordinator_scope": str(org.id),
            "employer_id": str(org.id),
        },
    )
    html = client.get(f"/people/{coordinator.id}").get_data(as_text=True)
    assert coordinator.email in html
    assert "Sunshine Nursery" in html
    assert "limited to Sunshine Nursery" in html
    assert 'id="person-actions"' in html
    assert 'id="person-audit"' in html
    assert "Details or roles changed" in html
    assert "王协调 → 王协调员" in html


# Creating and editing --------------------------------------------------------------------------


def test_admin_creates_a_person(client: Any, admin: User, other_client: Any) -> None:
    org = factories.OrganisationFactory()
    district = factories.DistrictFactory()
    db.session.commit()
    assert client.get("/people/new").status_code == 200
    response = client.post(
        "/people/new",
        data={
            "name": "  刘 老师 ",
            "email": "Liu.Teacher@Example.org",
            "phone": "139-1234-5678",
            "employer_id": str(org.id),
            "district_id": str(district.id),
            "roles": ["trainee", "coordinator"],
            "coordinator_scope": str(org.id),
            "hr_scope": str(org.id),  # ignored: the HR role is not ticked
            "password": "temporary pass 42",
        },
    )
    assert response.status_code == 302, form_errors(response.get_data(as_text=True))
    person = db.session.scalar(sa.select(User).where(User.email == "liu.teacher@example.org"))
    assert person is not None
    assert response.headers["Location"] == f"/people/{person.id}"
    assert person.name == "刘 老师"
    assert person.phone == "13912345678"
    assert person.employer_id == org.id
    assert person.district_id == district.id
    assert {a.role: a.scope_org_id for a in person.role_assignments} == {
        "trainee": None,
        "coordinator": org.id,
    }
    assert person.must_change_password
    assert audit_entries(person.id, "user.created")

    # The temporary password works once, then must be changed.
    signed_in = other_client.post(
        "/login", data={"email": person.email, "password": "temporary pass 42"}
    )
    assert signed_in.headers["Location"] == "/account/password"


def test_person_without_password_cannot_sign_in_yet(client: Any, admin: User) -> None:
    response = client.post(
        "/people/new", data={"name": "赵六", "email": "zhao@example.org", "roles": ["trainee"]}
    )
    assert response.status_code == 302
    person = db.session.scalar(sa.select(User).where(User.email == "zhao@example.org"))
    assert person is not None
    assert person.password_hash is None
    assert not person.must_change_password


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": "TAKEN@example.org"}, "email"),
        ({"name": "   "}, "name"),
        ({"phone": "12ab"}, "phone"),
        ({"roles": []}, "roles"),
        ({"employer_id": "999999"}, "employer_id"),
        ({"employer_id": "abc"}, "employer_id"),
        ({"district_id": "999999"}, "district_id"),
        ({"roles": ["trainee", "wizard"]}, "roles"),
        ({"roles": ["coordinator"], "coordinator_scope": "999999"}, "coordinator_scope"),
        ({"password": "short"}, "password"),
    ],
)
def test_bad_input_shows_on_the_field_and_saves_nothing(
    client: Any, admin: User, make_user: Any, changes: dict[str, Any], field: str
) -> None:
    make_user("trainee", email="taken@example.org")
    before = user_count()
    data = {"name": "新学员", "email": "new@example.org", "roles": ["trainee"], **changes}
    response = client.post("/people/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert user_count() == before
    assert not db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.created"))


def test_duplicate_email_is_named_on_the_field(client: Any, admin: User, make_user: Any) -> None:
    make_user("trainee", email="taken@example.org")
    client.use_language("en")
    response = client.post(
        "/people/new", data={"name": "新学员", "email": "Taken@Example.org", "roles": ["trainee"]}
    )
    assert response.status_code == 422
    assert "Another account already uses this email address." in form_errors(
        response.get_data(as_text=True)
    )


def test_edit_changes_roles_and_is_audited(client: Any, admin: User, make_user: Any) -> None:
    person = make_user("trainee", name="陈七")
    form = client.get(f"/people/{person.id}/edit")
    assert form.status_code == 200
    assert person.email in form.get_data(as_text=True)
    response = client.post(
        f"/people/{person.id}/edit",
        data={
            "name": "陈七",
            "email": person.email,
            "phone": person.phone,
            "roles": ["instructor", "hr"],
        },
    )
    assert response.status_code == 302, form_errors(response.get_data(as_text=True))
    person = reload(person)
    assert person.roles == {"instructor", "hr"}
    assert person.scope_of("hr") is None
    (entry,) = audit_entries(person.id, "user.updated")
    assert entry.actor_id == admin.id
    assert entry.before == {"roles": ["trainee"]}
    assert entry.after == {"roles": ["hr", "instructor"]}


def test_edit_with_bad_input_changes_nothing(client: Any, admin: User, make_user: Any) -> None:
    person = make_user("trainee", name="陈七")
    make_user("trainee", email="taken@example.org")
    response = client.post(
        f"/people/{person.id}/edit",
        data={"name": "别的名字", "email": "taken@example.org", "roles": ["instructor"]},
    )
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)
    person = reload(person)
    assert person.name == "陈七"
    assert person.roles == {"trainee"}
    assert not audit_entries(person.id, "user.updated")


def test_admin_cannot_drop_their_own_admin_role(client: Any, admin: User) -> None:
    response = client.post(
        f"/people/{admin.id}/edit",
        data={"name": admin.name, "email": admin.email, "roles": ["trainee"]},
    )
    assert response.status_code == 422
    assert 'id="roles-error"' in response.get_data(as_text=True)
    assert reload(admin).roles == {"admin"}


def test_edit_unknown_person_is_404(client: Any, admin: User) -> None:
    assert client.get("/people/999999/edit").status_code == 404
    assert client.get("/people/99999999999999999999").status_code == 404
    assert client.get("/people/99999999999999999999/edit").status_code == 404
    assert client.post("/people/999999/deactivate").status_code == 404


# Deactivation and passwords --------------------------------------------------------------------


def test_deactivation_signs_out_and_blocks_sign_in(
    client: Any, admin: User, make_user: Any, other_client: Any
) -> None:
    person = make_user("trainee")
    other_client.login(person)
    assert other_client.get(f"/people/{person.id}").status_code == 200

    response = client.post(f"/people/{person.id}/deactivate")
    assert response.status_code == 302
    assert not reload(person).active
    assert audit_entries(person.id, "user.deactivated")

    after = other_client.get(f"/people/{person.id}")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")
    refused = other_client.login(person)
    assert refused.status_code != 302

    assert listed_ids(client.get("/people").get_data(as_text=True)).isdisjoint({person.id})
    assert person.id in listed_ids(client.get("/people?status=inactive").get_data(as_text=True))

    assert client.post(f"/people/{person.id}/reactivate").status_code == 302
    assert reload(person).active
    assert other_client.login(person).status_code == 302


def test_admin_cannot_deactivate_themself(client: Any, admin: User) -> None:
    client.use_language("en")
    response = client.post(f"/people/{admin.id}/deactivate", follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert reload(admin).active


def test_reset_password_forces_a_change_at_next_sign_in(
    client: Any, admin: User, make_user: Any, other_client: Any
) -> None:
    person = make_user("trainee")
    other_client.login(person)
    client.use_language("en")
    response = client.post(f"/people/{person.id}/reset-password", follow_redirects=True)
    assert response.status_code == 200
    match = re.search(r'<code id="temporary-password">([^<]+)</code>', response.get_data(True))
    assert match, "the temporary password is shown to the administrator"
    temporary = match.group(1)
    assert len(temporary) >= 10
    # Shown once only.
    again = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert temporary not in again

    assert reload(person).must_change_password
    assert audit_entries(person.id, "user.password_reset")
    # Their open session has ended, and the old password no longer works.
    assert other_client.get("/").headers["Location"].startswith("/login")
    assert other_client.login(person, TEST_PASSWORD).status_code != 302
    signed_in = other_client.login(person, temporary)
    assert signed_in.headers["Location"] == "/account/password"
    blocked = other_client.get(f"/people/{person.id}")
    assert blocked.headers["Location"] == "/account/password"


def test_names_in_messages_are_escaped(client: Any, admin: User, make_user: Any) -> None:
    person = make_user("trainee", name="<b>坏</b>")
    html = client.post(f"/people/{person.id}/reset-password", follow_redirects=True).get_data(
        as_text=True
    )
    assert "<b>坏</b>" not in html
    assert "&lt;b&gt;坏&lt;/b&gt;" in html
    assert '<code id="temporary-password">' in html


def test_posts_without_csrf_token_are_refused(client: Any, admin: User, make_user: Any) -> None:
    person = make_user("trainee", name="钱八")
    old_hash = person.password_hash
    before = user_count()
    data = {"name": "无令牌", "email": "nocsrf@example.org", "roles": ["trainee"]}
    assert client.post("/people/new", data=data, csrf=False).status_code == 400
    assert user_count() == before
    edit = {"name": "改名", "email": person.email, "roles": ["admin"]}
    assert client.post(f"/people/{person.id}/edit", data=edit, csrf=False).status_code == 400
    assert client.post(f"/people/{person.id}/deactivate", csrf=False).status_code == 400
    assert client.post(f"/people/{person.id}/reset-password", csrf=False).status_code == 400
    person = reload(person)
    assert (person.name, person.roles, person.active) == ("钱八", {"trainee"}, True)
    assert person.password_hash == old_hash
    assert not person.must_change_password


# The directory ---------------------------------------------------------------------------------


def make_people(n: int) -> list[User]:
    """``n`` people, each with their own employer and district (so lazy loads would show)."""
    people = [
        factories.UserFactory(employer=factories.OrganisationFactory(), roles=["trainee"])
        for _ in range(n)
    ]
    for person in people:
        person.district = person.employer.district
    db.session.commit()
    return people


def test_list_query_count_does_not_grow_with_rows(
    client: Any, admin: User, count_queries: Any, app: Any
) -> None:
    make_people(3)
    client.get("/people")
    with count_queries as few:
        assert client.get("/people").status_code == 200
    make_people(27)
    with count_queries as many:
        html = client.get("/people").get_data(as_text=True)
    assert len(listed_ids(html)) == app.config["PAGE_SIZE"]
    assert many.count == few.count, many.statements


def test_chinese_substring_search(client: Any, admin: User, make_user: Any) -> None:
    wang = make_user("trainee", name="王小明")
    li = make_user("trainee", name="李四")
    listed = listed_ids(client.get("/people?q=小明").get_data(as_text=True))
    assert wang.id in listed
    assert li.id not in listed


def test_search_by_email_and_phone_and_wildcards(client: Any, admin: User, make_user: Any) -> None:
    a = make_user("trainee", email="hua.li@example.org", phone="13800001111")
    b = make_user("trainee", email="other@example.org", phone="13900002222")
    assert listed_ids(client.get("/people?q=HUA.LI").get_data(as_text=True)) == {a.id}
    assert listed_ids(client.get("/people?q=0000 2222").get_data(as_text=True)) == {b.id}
    assert listed_ids(client.get("/people?q=%25").get_data(as_text=True)) == set()
    assert listed_ids(client.get("/people?q=_").get_data(as_text=True)) == set()


def test_filters(client: Any, admin: User, make_user: Any) -> None:
    org = factories.OrganisationFactory()
    district = factories.DistrictFactory()
    instructor = make_user("instructor", employer=org)
    trainee = make_user("trainee", district=district)
    gone = make_user("trainee", active=False)

    def ids(query: str) -> set[int]:
        return listed_ids(client.get(f"/people?{query}").get_data(as_text=True))

    assert ids("role=instructor") == {instructor.id}
    assert ids(f"organisation={org.id}") == {instructor.id}
    assert ids(f"district={district.id}") == {trainee.id}
    assert gone.id not in ids("")
    assert ids("status=inactive") == {gone.id}
    assert {instructor.id, trainee.id, gone.id, admin.id} <= ids("status=all")


@pytest.mark.parametrize(
    "query",
    [
        "role=wizard",
        "organisation=abc",
        "district=-1",
        "status=deleted",
        "page=0",
        "page=abc",
        "page=999",
        "page=99999999999999999999",
        "organisation=99999999999999999999",
        "q=" + "长" * 500,
    ],
)
def test_odd_query_strings_do_not_break_the_list(client: Any, admin: User, query: str) -> None:
    assert client.get(f"/people?{query}").status_code == 200


def test_pagination_keeps_the_filters(client: Any, admin: User, app: Any) -> None:
    make_people(app.config["PAGE_SIZE"] + 2)
    first = client.get("/people?role=trainee").get_data(as_text=True)
    assert "page=2" in first and "role=trainee" in first
    second = listed_ids(client.get("/people?role=trainee&page=2").get_data(as_text=True))
    assert len(second) == 2
    assert second.isdisjoint(listed_ids(first))
