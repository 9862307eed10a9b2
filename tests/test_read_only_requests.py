"""A request that only read ends its transaction with COMMIT (psycopg keeps its prepared
statements, which a ROLLBACK deallocates); anything the request did not save stays unsaved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms.auth.models import User
from lms.extensions import db


@pytest.fixture
def commits(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests whose session committed, in order."""
    from flask import has_request_context, request

    seen: list[str] = []

    def note(session: Any) -> None:
        seen.append(request.path if has_request_context() else "")

    sa.event.listen(db.session.session_factory.class_, "after_commit", note)
    try:
        yield seen
    finally:
        sa.event.remove(db.session.session_factory.class_, "after_commit", note)


def name_in_database(user_id: int) -> str:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get_one(User, user_id).name


def test_pages_that_only_read_end_with_commit(client: Any, make_user: Any, commits: list[str]):
    client.login(make_user("trainee"))
    commits.clear()
    assert client.get("/courses").status_code == 200
    assert client.get("/learning").status_code == 200
    assert commits == ["/courses", "/learning"]


def test_a_change_the_request_did_not_save_is_not_saved(app: Flask, make_user: Any):
    """The request context's teardown runs when the ``with`` block ends."""
    person = make_user("trainee", name="原名")
    with app.test_request_context("/courses"):
        db.session.get_one(User, person.id).name = "改名"  # changed in memory, never saved
    assert name_in_database(person.id) == "原名"


def test_a_write_the_request_did_not_commit_is_not_saved(app: Flask, make_user: Any):
    person = make_user("trainee", name="原名")
    with app.test_request_context("/courses"):
        db.session.execute(sa.update(User).where(User.id == person.id).values(name="改名"))
    assert name_in_database(person.id) == "原名"


def test_a_failed_request_is_rolled_back(app: Flask, make_user: Any, commits: list[str]):
    person = make_user("trainee", name="原名")
    commits.clear()
    with pytest.raises(RuntimeError), app.test_request_context("/courses"):
        db.session.get_one(User, person.id)
        raise RuntimeError("the view failed")
    assert commits == []
