"""Roster import: the CSV format, validation (all rows or none), the job and the upload page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for

from lms import jobs
from lms.auth.models import User
from lms.extensions import db
from lms.people import roster
from lms.people.roster_jobs import upload_path
from tests import factories
from tests.conftest import run_queued_jobs

HEADER = "name,email,phone,employer,district,roles\n"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


@pytest.fixture
def places():
    """A district and two organisations, committed."""
    district = factories.DistrictFactory(code="XW", name="玄武区", name_en="Xuanwu")
    nursery = factories.OrganisationFactory(
        code="NUR1", name="梅园育儿园", name_en="Meiyuan Nursery", district=district
    )
    other = factories.OrganisationFactory(code="NUR2", name="东山育儿园", district=district)
    db.session.commit()
    return district, nursery, other


def errors_of(excinfo) -> list[str]:
    return [str(e) for e in excinfo.value.row_errors]


# The file format --------------------------------------------------------------------------------


def test_a_valid_roster_imports_every_row_with_chinese_names(places):
    district, nursery, _other = places
    text = HEADER + (
        "张晓燕,Zhang.XY@Example.org,139 1234 5678,NUR1,XW,\n"
        "李静,li.jing@example.org,,梅园育儿园,玄武区,学员\n"
        "王建华,wang.jh@example.org,13800000000,,xuanwu,讲师；trainee\n"
    )
    result = roster.import_roster(text, None)
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    zhang = user("zhang.xy@example.org")
    assert zhang.name == "张晓燕"
    assert zhang.phone == "13912345678"
    assert zhang.employer_id == nursery.id
    assert zhang.district_id == district.id
    assert zhang.roles == {"trainee"}
    assert user("li.jing@example.org").employer_id == nursery.id
    assert user("wang.jh@example.org").roles == {"instructor", "trainee"}


def test_utf8_with_bom_and_chinese_headers(places):
    data = (
        "姓名,电子邮箱,手机,工作单位,所在区,角色\n张三,zhang3@example.org,13900000001,NUR1,XW,学员\n"
    ).encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    result = roster.import_roster(data, None)
    assert result.created == 1
    assert user("zhang3@example.org").name == "张三"


def test_gbk_file_from_excel_on_chinese_windows(places):
    data = ("姓名,邮箱,单位\r\n欧阳娜娜,ouyang@example.org,梅园育儿园\r\n").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = roster.import_roster(data, None)
    assert result.created == 1
    assert user("ouyang@example.org").name == "欧阳娜娜"


def test_binary_or_excel_files_are_refused_with_a_clear_message(places):
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(b"PK\x03\x04 not a csv", None)
    assert "Excel" in errors_of(excinfo)[0]
    with pytest.raises(roster.RosterInvalid):
        roster.import_roster(b"\x00\x01\x02\xff\xfe\xfa" * 10, None)


def test_one_bad_row_imports_nothing_and_names_row_and_column(places):
    before = count(User)
    text = HEADER + (
        "张晓燕,zhang@example.org,,NUR1,,\n"  # row 2
        "李静,not-an-email,,NUR1,,\n"  # row 3
        "王芳,wang@example.org,,NUR1,,\n"  # row 4
    )
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    db.session.rollback()
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [(3, "email")]
    assert errors_of(excinfo)[0].startswith("row 3, column email: ")
    assert count(User) == before


def test_errors_name_the_column_as_written_in_the_file(english, places):
    text = "Name,EMAIL,Roles\n张三,bad,trainee\n"
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    assert errors_of(excinfo) == ["row 2, column EMAIL: Not a valid email address."]


def test_row_numbers_count_blank_lines_and_multi_line_cells(places):
    text = HEADER + '\n"张\n三",ok@example.org,,,,\n李四,bad,,,,\n'
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    # header row 1, blank row 2, a two-line cell on row 3, the bad row is row 4
    assert [e.row for e in excinfo.value.row_errors] == [4]


def test_duplicate_emails_in_the_file_are_errors_on_the_second_occurrence(english, places):
    text = (
        HEADER
        + "张三,same@example.org,,,,\n李四,other@example.org,,,,\nSame,SAME@example.org,,,,\n"
    )
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [(4, "email")]
    assert "row 2" in excinfo.value.row_errors[0].message


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ("张三,a@example.org,,NOPE,,", "employer"),
        ("张三,a@example.org,,,Atlantis,", "district"),
        ("张三,a@example.org,,,,boss", "roles"),
        ("张三,a@example.org,12ab,,,", "phone"),
        (",a@example.org,,,,", "name"),
        ("张三,,,,,", "email"),
    ],
)
def test_unknown_values_are_errors_naming_the_column(places, cells, column):
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(HEADER + cells + "\n", None)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [(2, column)]
    assert user("a@example.org") is None


def test_organisations_are_found_by_code_or_name_but_namesakes_are_refused(english, places):
    factories.OrganisationFactory(code="DUP1", name="同名园")
    factories.OrganisationFactory(code="DUP2", name="同名园")
    db.session.commit()
    text = HEADER + "张三,z3@example.org,,同名园,,\n"
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    assert errors_of(excinfo) == [
        "row 2, column employer: Several organisations have this name; use the code instead."
    ]
    result = roster.import_roster(HEADER + "张三,z3@example.org,,dup2,,\n", None)
    assert result.created == 1
    assert user("z3@example.org").employer.code == "DUP2"


def test_all_errors_are_reported_at_once(places):
    text = HEADER + "张三,bad,,NOPE,,\n李四,ok@example.org,,,,\n王五,x@example.org,,,,admin;boss\n"
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, None)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [
        (2, "email"),
        (2, "employer"),
        (4, "roles"),
    ]


def test_missing_required_column_is_named(places):
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster("name,phone\n张三,13900000000\n", None)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [(1, "email")]
    assert "邮箱" in excinfo.value.row_errors[0].message  # the accepted headers are listed


def test_empty_files_and_files_without_rows_are_refused(places):
    for text in ("", "\n\n", HEADER):
        with pytest.raises(roster.RosterInvalid):
            roster.import_roster(text, None)


def test_size_and_row_limits(english, places, monkeypatch):
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(b"x" * (roster.MAX_BYTES + 1), None)
    assert "MB" in errors_of(excinfo)[0]
    monkeypatch.setattr(roster, "MAX_ROWS", 3)
    rows = "".join(f"P{i},p{i}@example.org,,,,\n" for i in range(4))
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(HEADER + rows, None)
    assert "3 rows" in errors_of(excinfo)[0]
    assert user("p0@example.org") is None


def test_tab_separated_text_and_extra_columns(places):
    text = "序号\t姓名\t邮箱\n1\t张三\tz3@example.org\n"
    parsed = roster.read_roster(text, None)
    assert parsed.ignored_columns == ["序号"]
    assert parsed.rows[0].name == "张三"


# Existing people and idempotence ----------------------------------------------------------------


def test_existing_people_are_updated_and_roles_only_added(places, make_user):
    _district, nursery, _other = places
    person = make_user("instructor", email="known@example.org", name="旧名", phone="13911112222")
    text = HEADER + "新名,KNOWN@example.org,,NUR1,,trainee\n新人,new@example.org,,,,\n"
    result = roster.import_roster(text, None)
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    db.session.refresh(person)
    assert person.name == "新名"
    assert person.phone == "13911112222"  # an empty cell keeps what is there
    assert person.employer_id == nursery.id
    assert person.roles == {"instructor", "trainee"}


def test_reimporting_the_same_file_changes_nothing(places):
    text = (
        HEADER
        + "张三,z3@example.org,13900000001,NUR1,XW,trainee;instructor\n李四,l4@example.org,,,,\n"
    )
    first = roster.import_roster(text, None)
    db.session.commit()
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    people, audits = count(User), _audit_count()
    second = roster.import_roster(text, None)
    db.session.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert (count(User), _audit_count()) == (people, audits)


def _audit_count() -> int:
    from lms.audit.models import AuditEntry

    return count(AuditEntry)


def test_import_is_audited(places):
    from lms.audit.models import AuditEntry

    roster.import_roster(HEADER + "张三,z3@example.org,,,,\n", None)
    created = user("z3@example.org")
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity_id == created.id)
    ).all()
    assert actions == ["user.created"]


# Who may import what ----------------------------------------------------------------------------


def test_a_scoped_hr_officer_imports_only_their_organisations_trainees(places, make_user):
    _district, nursery, _other = places
    hr = make_user(("hr", nursery), employer=nursery)
    text = HEADER + (
        "张三,z3@example.org,,NUR1,,\n"  # fine
        "李四,l4@example.org,,NUR2,,\n"  # another employer
        "王五,w5@example.org,,,,\n"  # no employer
        "赵六,z6@example.org,,NUR1,,instructor\n"  # a role beyond trainee
    )
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, hr.id)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [
        (3, "employer"),
        (4, "employer"),
        (5, "roles"),
    ]
    result = roster.import_roster(HEADER + "张三,z3@example.org,,NUR1,,学员\n", hr.id)
    assert result.created == 1


def test_hr_officers_cannot_change_other_peoples_accounts(places, make_user):
    _district, nursery, other = places
    hr = make_user(("hr", nursery), employer=nursery)
    make_user("trainee", email="elsewhere@example.org", employer=other)
    make_user("admin", email="boss@example.org", employer=nursery)
    text = HEADER + "甲,elsewhere@example.org,,NUR1,,\n乙,boss@example.org,,NUR1,,\n"
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(text, hr.id)
    assert [(e.row, e.column) for e in excinfo.value.row_errors] == [(2, "email"), (3, "email")]


def test_a_city_wide_hr_officer_imports_trainees_anywhere(places, make_user):
    hr = make_user("hr")
    assert roster.import_roster(HEADER + "张三,z3@example.org,,NUR2,,\n", hr.id).created == 1
    with pytest.raises(roster.RosterInvalid) as excinfo:
        roster.import_roster(HEADER + "李四,l4@example.org,,,,admin\n", hr.id)
    assert excinfo.value.row_errors[0].column == "roles"


def test_other_roles_may_not_import(places, make_user):
    coordinator = make_user("coordinator")
    with pytest.raises(roster.RosterInvalid):
        roster.import_roster(HEADER + "张三,z3@example.org,,,,\n", coordinator.id)


# The job ---------------------------------------------------------------------------------------


def _store(app, text: str | bytes, name: str = "0b9c8a1e-5f4d-4c3b-9a2e-1d0f2e3c4b5a.csv") -> str:
    path = upload_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return name


def test_the_job_is_idempotent(app, places, make_user):
    admin = make_user("admin")
    stored = _store(app, HEADER + "张三,z3@example.org,,NUR1,,\n李四,l4@example.org,,,,\n")
    first = jobs.enqueue("users.import_roster", stored, admin.id, requested_by_id=admin.id)
    run_queued_jobs(app)
    second = jobs.enqueue("users.import_roster", stored, admin.id, requested_by_id=admin.id)
    run_queued_jobs(app)
    db.session.expire_all()
    first, second = db.session.get(jobs.Job, first.id), db.session.get(jobs.Job, second.id)
    assert (first.state, second.state) == ("finished", "finished")
    assert first.result["created"] == 2
    assert (second.result["created"], second.result["unchanged"]) == (0, 2)
    assert second.result["errors"] == []


def test_the_job_reports_errors_and_imports_nothing(app, places, make_user):
    admin = make_user("admin")
    stored = _store(app, HEADER + "张三,z3@example.org,,,,\n李四,bad,,,,\n")
    job = jobs.enqueue("users.import_roster", stored, admin.id, requested_by_id=admin.id)
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "finished"
    assert [(e["row"], e["column"]) for e in job.result["errors"]] == [(3, "email")]
    assert job.result["errors"][0]["text"].startswith("row 3, column email: ")
    assert user("z3@example.org") is None


def test_the_job_survives_a_missing_file(app, make_user):
    admin = make_user("admin")
    job = jobs.enqueue(
        "users.import_roster",
        "11111111-2222-4333-8444-555555555555.csv",
        admin.id,
        requested_by_id=admin.id,
    )
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "finished"
    assert len(job.result["errors"]) == 1


# The upload page -------------------------------------------------------------------------------


def _upload(client, data: bytes, filename: str = "roster.csv"):
    return client.post(
        "/people/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _job_json(client, response) -> dict:
    """Follow the upload's redirect to the progress page, then read the job's JSON."""
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r".*/people/import/([0-9a-f-]{36})", response.headers["Location"])
    assert match, response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    run_queued_jobs(client.application)
    status = client.get(url_for("jobs.status", job_id=match.group(1)))
    assert status.status_code == 200
    return status.get_json()


def test_admin_uploads_a_roster_and_the_job_imports_it(client, places, make_user):
    admin = make_user("admin")
    client.login(admin)
    client.use_language("en")
    data = ("姓名,邮箱,单位,角色\n张三,z3@example.org,NUR1,讲师\n李四,l4@example.org,,\n").encode(
        "gbk"
    )
    response = _upload(client, data)
    job = _job_json(client, response)
    assert job["state"] == "finished"
    assert job["kind"] == "users.import_roster"
    assert job["result"]["created"] == 2
    assert job["result"]["errors"] == []
    assert user("z3@example.org").roles == {"instructor"}
    page = client.get(response.headers["Location"])
    assert 'id="roster-summary"' in page.get_data(as_text=True)
    # the uploaded file is kept under FILES_DIR/uploads
    uploads = Path(client.application.config["FILES_DIR"]) / "uploads"
    assert any(uploads.glob("*.csv"))


def test_upload_with_a_bad_row_shows_the_errors(client, places, make_user):
    admin = make_user("admin")
    client.login(admin)
    client.use_language("en")
    response = _upload(client, (HEADER + "张三,z3@example.org,,,,\n李四,bad,,,,\n").encode())
    job = _job_json(client, response)
    assert job["state"] == "finished"
    assert [(e["row"], e["column"]) for e in job["result"]["errors"]] == [(3, "email")]
    assert user("z3@example.org") is None
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "row 3, column email:" in html
    assert 'id="roster-errors"' in html


def test_a_scoped_hr_officers_rows_for_another_employer_are_refused(client, places, make_user):
    _district, nursery, _other = places
    hr = make_user(("hr", nursery), employer=nursery)
    client.login(hr)
    assert client.get("/people/import").status_code == 200
    response = _upload(
        client, (HEADER + "张三,z3@example.org,,NUR1,,\n李四,l4@example.org,,NUR2,,\n").encode()
    )
    job = _job_json(client, response)
    assert [(e["row"], e["column"]) for e in job["result"]["errors"]] == [(3, "employer")]
    assert user("z3@example.org") is None


def test_a_trainee_may_not_import(client, make_user):
    client.login(make_user("trainee"))
    assert client.get("/people/import").status_code == 403
    assert client.get("/people/import/example.csv").status_code == 403
    assert _upload(client, (HEADER + "张三,z3@example.org,,,,\n").encode()).status_code == 403
    assert user("z3@example.org") is None


def test_the_upload_form_refuses_missing_and_wrong_files(client, make_user):
    client.login(make_user("admin"))
    assert client.get("/people/import").status_code == 200
    response = client.post("/people/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    response = _upload(client, b"%PDF-1.4", filename="roster.pdf")
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(jobs.Job)) == 0


def test_only_the_requester_or_an_admin_sees_an_import(client, places, make_user):
    hr = make_user("hr")
    client.login(hr)
    response = _upload(client, (HEADER + "张三,z3@example.org,,,,\n").encode())
    location = response.headers["Location"]
    other = make_user("hr")
    client.login(other)
    assert client.get(location).status_code == 404
    client.login(make_user("admin"))
    assert client.get(location).status_code == 200
    assert client.get("/people/import/not-a-job").status_code == 404


def test_the_example_file_imports_cleanly(client, places, make_user):
    admin = make_user("admin")
    client.login(admin)
    response = client.get("/people/import/example.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    result = roster.import_roster(response.data, admin.id)
    assert result.created == 2
