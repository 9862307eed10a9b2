"""``lms users create / import / set-password``."""

from __future__ import annotations

import sqlalchemy as sa

from lms.auth.models import User
from lms.extensions import db
from tests import factories

PASSWORD = "a good long password"


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def find(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_create_reads_the_password_from_stdin_and_the_person_can_sign_in(runner, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Wang@Example.org",
            "--name",
            "王芳",
            "--role",
            "admin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    person = find("wang@example.org")
    assert person is not None
    assert person.name == "王芳"
    assert person.roles == {"admin"}
    assert "wang@example.org" in result.stdout
    assert PASSWORD not in result.output
    response = client.post("/login", data={"email": "wang@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")


def test_create_with_employer_scope_and_several_roles(runner):
    centre = factories.OrganisationFactory(code="CTR1", kind="centre")
    db.session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "hr@example.org",
            "--name",
            "赵丽",
            "--role",
            "hr",
            "--role",
            "trainee",
            "--org",
            "ctr1",
            "--scope",
            "CTR1",
            "--phone",
            "139-0000-1111",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    person = find("hr@example.org")
    assert person.employer_id == centre.id
    assert person.phone == "13900001111"
    assert person.roles == {"hr", "trainee"}
    assert person.scope_of("hr") == centre.id
    assert person.scope_of("trainee") is None


def test_a_bad_email_exits_1_and_saves_nothing(runner):
    before = count_users()
    result = runner.invoke(
        args=["users", "create", "--email", "not-an-email", "--name", "张三", "--role", "trainee"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("email: ")
    assert result.stdout == ""
    assert count_users() == before


def test_every_problem_is_reported_as_field_message(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "ok@example.org",
            "--name",
            " ",
            "--role",
            "trainee",
            "--org",
            "NOPE",
            "--scope",
            "NOPE",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    fields = {line.split(":")[0] for line in result.stderr.splitlines()}
    assert fields == {"org", "scope", "name"}
    assert find("ok@example.org") is None


def test_an_organisation_name_shared_by_two_is_refused(runner):
    factories.OrganisationFactory(code="DUP1", name="同名园")
    factories.OrganisationFactory(code="DUP2", name="同名园")
    db.session.commit()
    args = ["users", "create", "--email", "ok@example.org", "--name", "甲", "--role", "trainee"]
    result = runner.invoke(args=[*args, "--org", "同名园"], input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("org: ")
    assert find("ok@example.org") is None
    result = runner.invoke(args=[*args, "--org", "dup2"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert find("ok@example.org").employer.code == "DUP2"


def test_a_weak_password_or_a_taken_email_is_refused(runner, make_user):
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--name", "甲", "--role", "trainee"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("password: ")
    assert find("a@example.org") is None
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=["users", "create", "--email", "TAKEN@example.org", "--name", "乙", "--role", "hr"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("email: ")


def test_there_is_no_password_option(runner):
    result = runner.invoke(
        args=[
            *["users", "create", "--email", "a@example.org", "--name", "甲", "--role", "admin"],
            *["--password", PASSWORD],
        ]
    )
    assert result.exit_code == 2
    assert find("a@example.org") is None


def test_import_with_a_bad_row_exits_1_and_imports_nothing(runner, tmp_path):
    before = count_users()
    path = tmp_path / "roster.csv"
    path.write_text(
        "name,email,phone\n张三,z3@example.org,\n李四,bad-email,\n王五,w5@example.org,\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("row 3, column email: ")
    assert result.stdout == ""
    assert count_users() == before


def test_import_prints_the_summary_and_is_idempotent(runner, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        "姓名,邮箱,角色\n张三,z3@example.org,学员\n李四,l4@example.org,讲师\n".encode("gbk")
    )
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "created 2, updated 0, unchanged 0"
    assert find("l4@example.org").roles == {"instructor"}
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "created 0, updated 0, unchanged 2"


def test_set_password_lets_the_person_sign_in(runner, client, make_user):
    person = make_user("trainee", email="t@example.org")
    result = runner.invoke(
        args=["users", "set-password", "--email", "T@example.org"], input="a brand new secret\n"
    )
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"email": person.email, "password": "a brand new secret"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    result = runner.invoke(
        args=["users", "set-password", "--email", "nobody@example.org"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("email: ")
