"""Exports of drill-down lists and dashboard tables as CSV and XLSX, through the pages and
the job, compared with the hand-counted population (tests/reports/conftest.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import load_workbook

from lms import jobs
from lms.auth.models import RoleAssignment
from lms.db import utcnow
from lms.extensions import db
from lms.reports import export_jobs
from lms.reports.tables import LISTS
from tests.conftest import run_queued_jobs
from tests.reports.conftest import issue

HOLDERS = {"学员a", "学员b", "学员e", "学员f"}  # talent pool today: not c (expired), d (revoked)


def start(client: Any, fmt: str, source: str = "list", name: str = "holders", **args: str) -> Any:
    data = {"source": source, "name": name, "format": fmt}
    data |= {f"q_{key}": value for key, value in args.items()}
    return client.post("/reports/exports", data=data)


def export(client: Any, fmt: str, **kwargs: Any) -> Any:
    """Ask for an export, run the queue, and download the file."""
    response = start(client, fmt, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)
    page_url = response.headers["Location"]
    run_queued_jobs(client.application)
    page = client.get(page_url)
    assert page.status_code == 200
    download = f"{page_url}/download"
    assert download in page.get_data(as_text=True)
    return client.get(download)


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    return sheet, list(sheet.iter_rows(values_only=True))


def names(rows: list[Any]) -> list[str]:
    """The population's people in the rows (their names start with 学员), in order."""
    return [c for row in rows for c in row if isinstance(c, str) and c.startswith("学员")]


def labels(name: str, locale: str) -> list[str]:
    with force_locale(locale):
        return [column.label for column in LISTS[name].columns()]


@pytest.fixture
def admin(client: Any, make_user: Any) -> Any:
    user = make_user("admin")
    client.login(user)
    return user


def test_holders_as_csv(population: dict[str, Any], admin: Any, client: Any) -> None:
    response = export(client, "csv", tier="talent_pool")
    rows = csv_rows(response)
    assert rows[0] == labels("holders", "zh_Hans_CN")  # Chinese by default
    assert len(rows) == 1 + 4
    assert sorted(names(rows[1:])) == sorted(HOLDERS)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="list-holders-')
    assert disposition.isascii()
    utf8_name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert utf8_name.endswith(".csv")


def test_holders_as_xlsx(population: dict[str, Any], admin: Any, client: Any, today: date) -> None:
    sheet, rows = xlsx_rows(export(client, "xlsx", tier="talent_pool"))
    assert list(rows[0]) == labels("holders", "zh_Hans_CN")
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.title
    assert len(rows) == 1 + 4
    assert sorted(names(rows[1:])) == sorted(HOLDERS)
    # Dates are dates (with a date format), never text.
    dates = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.is_date]
    assert dates and all(isinstance(cell.value, datetime) for cell in dates)
    assert all(cell.number_format.startswith("yyyy-mm-dd") for cell in dates)
    assert not any(
        isinstance(cell, str) and cell[:4].isdigit() and cell[4:5] == "-"
        for row in rows[1:]
        for cell in row
    )


def test_english_headers(population: dict[str, Any], admin: Any, client: Any) -> None:
    client.use_language("en")
    rows = csv_rows(export(client, "csv", tier="talent_pool"))
    assert rows[0] == labels("holders", "en")
    assert rows[0] != labels("holders", "zh_Hans_CN")


def test_sorted_like_the_page_and_read_in_batches(
    population: dict[str, Any], admin: Any, client: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(export_jobs, "BATCH_SIZE", 3)  # 4 rows: two batches
    sort = next(key for key in LISTS["holders"].sorts() if key == "name")
    rows = csv_rows(export(client, "csv", tier="talent_pool", sort=sort, dir="desc"))
    assert names(rows[1:]) == ["学员f", "学员e", "学员b", "学员a"]
    job = db.session.scalars(db.select(jobs.Job).order_by(jobs.Job.created_at.desc())).first()
    assert (job.state, job.progress, job.result["rows"]) == (jobs.FINISHED, 100, 4)


def test_a_dashboard_table_has_the_api_figures(
    population: dict[str, Any], admin: Any, client: Any
) -> None:
    api = client.get("/api/v1/reports/targets").get_json()
    rows = csv_rows(export(client, "csv", source="table", name="targets"))
    body = rows[1:]
    for tier in api["tiers"]:  # talent pool 1000 / 4, lead trainers 100 / 1
        expected = {str(tier["target"]), str(tier["valid"])}
        assert any(expected <= set(row) for row in body), (tier, body)
    assert {str(t["valid"]) for t in api["tiers"]} == {"4", "1"}


def test_formula_like_names_are_neutralised(
    population: dict[str, Any], admin: Any, client: Any, make_user: Any
) -> None:
    world = population["world"]
    person = make_user(
        "trainee", name="=1+1", district=population["north"], employer=world.employer
    )
    issue(person, world.certificate_type, utcnow() - timedelta(days=3))
    db.session.commit()
    rows = csv_rows(export(client, "csv", tier="talent_pool"))
    cells = [c for row in rows[1:] for c in row]
    assert "'=1+1" in cells and "=1+1" not in cells
    sheet, rows = xlsx_rows(export(client, "xlsx", tier="talent_pool"))
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []
    assert "'=1+1" in [c for row in rows for c in row]


def test_partner_coordinator(
    population: dict[str, Any], client: Any, make_user: Any, admin: Any
) -> None:
    theirs = export(client, "csv", tier="talent_pool")  # the admin's own export
    assert theirs.status_code == 200
    admin_job = db.session.scalars(
        db.select(jobs.Job).where(jobs.Job.requested_by_id == admin.id)
    ).one()
    coordinator = make_user(("coordinator", population["world"].partner))
    client.login(coordinator)
    assert start(client, "csv", tier="talent_pool", partner="OTHERU").status_code == 403
    # Their own partner's people only: f holds OTHERU's certificate.
    rows = csv_rows(export(client, "csv", tier="talent_pool"))
    assert sorted(names(rows[1:])) == ["学员a", "学员b", "学员e"]
    # Someone else's export is not there for them.
    assert client.get(f"/reports/exports/{admin_job.id}").status_code == 404
    assert client.get(f"/reports/exports/{admin_job.id}/download").status_code == 404


def test_a_scope_changed_before_the_job_runs(
    population: dict[str, Any], make_user: Any, app: Any
) -> None:
    world = population["world"]
    coordinator = make_user(("coordinator", world.partner))
    plan = export_jobs.plan_export("list", "holders", "csv", {"tier": "talent_pool"}, coordinator)
    assert plan.args()["partner"] == "WORLDU"
    job = jobs.Job(
        id="00000000-0000-0000-0000-00000000e001",
        kind=export_jobs.JOB_KIND,
        args=["list", "holders", "csv", plan.args(), coordinator.id],
        requested_by_id=coordinator.id,
    )
    db.session.add(job)
    assignment = db.session.scalars(
        db.select(RoleAssignment).where(RoleAssignment.user_id == coordinator.id)
    ).one()
    assignment.scope_org = population["other"]  # now OTHERU's coordinator
    db.session.commit()
    with pytest.raises(export_jobs.ExportRefused):
        jobs.execute(job.id)  # in a worker's app context: its own session
    db.session.refresh(job)
    assert job.state == jobs.FAILED and job.result_ref is None
    with force_locale("zh_Hans_CN"):  # the job speaks the language of its request (none)
        assert _("You may no longer see the figures of this partner or district.") in job.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "list", "name": "holders", "format": "pdf", "q_tier": "talent_pool"}, "CSV"),
        ({"source": "chart", "name": "holders", "format": "csv"}, ""),
        ({"source": "list", "name": "nobody", "format": "csv"}, "nobody"),
        ({"source": "table", "name": "holders", "format": "csv"}, "holders"),
        ({"source": "list", "name": "holders", "format": "csv", "q_year": "20x"}, ""),
        (
            {"source": "list", "name": "holders", "format": "csv", "q_tier": "talent_pool"}
            | {"q_sort": "salary"},
            "salary",
        ),
        (
            {"source": "list", "name": "holders", "format": "csv", "q_tier": "talent_pool"}
            | {"q_partner": "NOPE"},
            "NOPE",
        ),
    ],
)
def test_bad_requests_queue_nothing(
    population: dict[str, Any], admin: Any, client: Any, data: dict[str, str], message: str
) -> None:
    response = client.post("/reports/exports", data=data)
    assert response.status_code == 400
    assert 'id="export-errors"' in response.get_data(as_text=True)
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(jobs.Job)) == 0


def test_a_list_without_its_required_argument(
    population: dict[str, Any], admin: Any, client: Any
) -> None:
    response = client.post(
        "/reports/exports", data={"source": "list", "name": "holders", "format": "csv"}
    )
    assert response.status_code == 400


def test_no_download_before_the_file_is_ready(
    population: dict[str, Any], admin: Any, client: Any
) -> None:
    job = jobs.Job(
        id="00000000-0000-0000-0000-00000000e002",
        kind=export_jobs.JOB_KIND,
        args=["list", "holders", "csv", {"tier": "talent_pool"}, admin.id],
        requested_by_id=admin.id,
    )
    db.session.add(job)
    db.session.commit()
    page = client.get(f"/reports/exports/{job.id}")
    assert page.status_code == 200 and 'hx-get="/reports/exports/' in page.get_data(as_text=True)
    assert client.get(f"/reports/exports/{job.id}/download").status_code == 409


def test_trainees_cannot_export(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("trainee"))
    assert start(client, "csv", tier="talent_pool").status_code == 403
