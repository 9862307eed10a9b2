"""Bad input to the forms (issue 7, item 3): hostile text in every field of the main forms.

Each example fills the form as the page shows it, replaces some fields (any of them, hidden
ids and selects included) with hostile text, posts it, and checks: no 5xx; either the form
was refused (a 4xx with the errors shown beside the fields, or a 400 for a NUL byte, which
``lms.main.views.refuse_nul_bytes`` refuses before any form sees it) and the database is
unchanged, or it was saved and the free-text fields read back as sent (white space collapsed,
as the services tidy it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from lms.extensions import db
from tests.conftest import form_errors
from tests.factories import UserFactory
from tests.security.hostile import hostile_text, squash

pytestmark = pytest.mark.usefixtures("english")

FORMS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# One value in four has a NUL byte (refused before any form sees it), the others test the forms.
form_text = st.one_of(*[hostile_text.map(lambda t: t.replace("\x00", ""))] * 3, st.just("a\x00b"))
# Tables that change on any request (job bookkeeping, the audit trail of sign-ins).
VOLATILE = {"jobs", "audit_entries", "outbox_messages"}
# Fields a person does not type into.
UNTYPED = {"hidden", "select", "checkbox", "radio"}


class FormParser(HTMLParser):
    """The POST forms of a page as a browser submits them: (action, fields, kinds)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.form: dict[str, Any] | None = None
        self.textarea = False
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = {"action": a.get("action", ""), "method": a.get("method", "get")}
            self.form |= {"fields": [], "kinds": {}, "maxlength": {}}
            self.forms.append(self.form)
        if self.form is None or (not (name := a.get("name", "")) and tag != "option"):
            return
        fields, kinds = self.form["fields"], self.form["kinds"]
        if a.get("maxlength", "").isdigit():
            self.form["maxlength"][name] = int(a["maxlength"])
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file"):
                return
            kinds.setdefault(name, kind)
            if kind not in ("checkbox", "radio") or "checked" in a:
                fields.append((name, a.get("value", "")))
        elif tag == "textarea":
            self.textarea = True
            kinds[name] = "textarea"
            fields.append((name, ""))
        elif tag == "select":
            self.select, self.first_option, self.chosen = name, None, False
            kinds[name] = "select"
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                fields.append((self.select, a.get("value", "")))
                self.chosen = True

    def handle_data(self, data: str) -> None:
        if self.textarea and self.form is not None:
            name, value = self.form["fields"][-1]
            # A browser drops the newline right after <textarea>.
            value = (value + data) if value else data.removeprefix("\r\n").removeprefix("\n")
            self.form["fields"][-1] = (name, value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = False
        elif tag == "select" and self.select and self.form is not None:
            if not self.chosen and self.first_option is not None:
                self.form["fields"].append((self.select, self.first_option))
            self.select = None
        elif tag == "form":
            self.form = None


def main_form(html: str) -> dict[str, Any]:
    """The page's biggest POST form (not sign-out or the language switch)."""
    parser = FormParser()
    parser.feed(html)
    forms = [
        f
        for f in parser.forms
        if f["method"].lower() == "post" and f["action"] not in ("/logout", "/language")
    ]
    return max(forms, key=lambda f: len(f["fields"]))


def strings(value: Any) -> list[str]:
    """Every string in a column value (JSON included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*strings(k), *strings(v)]]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


Snapshot = dict[str, dict[str, tuple[Any, ...]]]


def snapshot() -> Snapshot:
    """Every row of every table but the volatile ones, keyed by its ``repr``."""
    db.session.expire_all()
    return {
        table.name: {repr(tuple(row)): tuple(row) for row in db.session.execute(sa.select(table))}
        for table in db.metadata.sorted_tables
        if table.name not in VOLATILE
    }


def changed_text(before: Snapshot, after: Snapshot) -> str:
    """The text of the rows added or changed, white space collapsed."""
    texts = [
        text
        for name, rows in after.items()
        for key, row in rows.items()
        if key not in before.get(name, {})
        for text in strings(row)
    ]
    return squash("\n".join(texts))


@dataclass
class Endpoint:
    """A form to attack: who posts it, where, and which fields are free text."""

    name: str
    actor: Callable[[Any], Any]
    url: Callable[[Any], str]
    free_text: tuple[str, ...]
    # Fields a browser fills that the page leaves empty (a required date, say).
    fill: Callable[[Any], dict[str, str]] = lambda world: {}


def _admin(world: Any) -> Any:
    if "admin" not in world.extra:
        world.extra["admin"] = UserFactory(roles=["admin"])
        db.session.commit()
    return world.extra["admin"]


def _attempt_url(world: Any) -> str:
    return world.extra["attempt_url"]


ENDPOINTS = [
    Endpoint("person edit", _admin, lambda w: f"/people/{w.trainee.id}/edit", ("name",)),
    Endpoint(
        "person new",
        _admin,
        lambda w: "/people/new",
        ("name",),
        lambda w: {"name": "新人", "email": "hostile-new@example.org"},
    ),
    Endpoint(
        "organisation edit",
        _admin,
        lambda w: f"/organisations/{w.employer.id}/edit",
        ("name", "name_en"),
    ),
    Endpoint(
        "programme edit",
        _admin,
        lambda w: f"/programmes/{w.programme.code}/edit",
        ("title", "title_en", "summary", "summary_en", "certificate_title"),
    ),
    Endpoint(
        "cohort new",
        _admin,
        lambda w: "/cohorts/new",
        ("title",),
        lambda w: {
            "code": "HOSTILE-1",
            "title": "班级",
            "course_id": str(w.course.id),
            "partner_id": str(w.partner.id),
            "location_id": str(w.centre.id),
            "starts_on": "2030-01-01",
            "ends_on": "2030-02-01",
        },
    ),
    Endpoint(
        "target new",
        _admin,
        lambda w: "/reports/targets/new",
        (),
        lambda w: {"year": "2031", "target": "10"},
    ),
    Endpoint(
        "certificate issue with override",
        _admin,
        lambda w: f"/certificates/issue?holder={w.trainee.id}&type={w.certificate_type.id}",
        ("override_reason",),
    ),
    Endpoint(
        "external CE",
        _admin,
        lambda w: f"/people/{w.trainee.id}/learning",
        ("title", "reason"),
        lambda w: {"title": "外部培训", "hours": "2", "occurred_on": "2024-05-01"},
    ),
    Endpoint(
        "lesson edit",
        _admin,
        lambda w: f"/author/lessons/{w.lessons[0].id}/edit",
        ("title", "title_en", "objectives", "markdown"),
    ),
    Endpoint("quiz answers", lambda w: w.trainee, _attempt_url, ("q3", "q4", "q6")),
]


@contextmanager
def example_savepoint(connection: sa.Connection) -> Iterator[None]:
    """Undo whatever one example saved, so every example starts from the same world."""
    db.session.commit()
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        db.session.rollback()
        if savepoint.is_active:
            savepoint.rollback()
        db.session.expire_all()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
@FORMS
@given(data=st.data())
def test_hostile_text_in_every_field_is_saved_as_sent_or_refused_by_field(
    client: Any,
    learning_world: Any,
    transaction: sa.Connection,
    endpoint: Endpoint,
    data: st.DataObject,
) -> None:
    world = learning_world
    if "signed_in" not in world.extra:  # once per test: hashing the password is slow
        client.login(endpoint.actor(world))
        world.extra["signed_in"] = True
    if endpoint.name == "quiz answers" and "attempt_url" not in world.extra:
        started = client.post(f"/quizzes/{world.quiz.id}/start")
        world.extra["attempt_url"] = started.headers["Location"]
    with example_savepoint(transaction):
        attack(client, world, endpoint, data)


def attack(client: Any, world: Any, endpoint: Endpoint, data: st.DataObject) -> None:
    """Post the form with hostile fields; check the outcome (see the module's docstring)."""
    page = client.get(endpoint.url(world))
    assert page.status_code == 200
    form = main_form(page.get_data(as_text=True))
    values = dict(form["fields"])
    values.update(endpoint.fill(world))
    values.pop("csrf_token", None)
    every_field = st.lists(st.sampled_from(sorted(form["kinds"])), min_size=1, unique=True)
    typed = st.lists(st.sampled_from(endpoint.free_text or sorted(form["kinds"])), min_size=1)
    attacked = data.draw(st.one_of(typed.map(lambda names: sorted(set(names))), every_field))
    for name in attacked:
        values[name] = data.draw(form_text, name)

    before = snapshot()
    response = client.post(form["action"] or endpoint.url(world), data=values)
    after = snapshot()
    html = response.get_data(as_text=True)

    assert response.status_code < 500, html[:2000]
    if any("\x00" in value for value in values.values()):
        assert response.status_code == 400
    if before.keys() == after.keys() and all(
        before[t].keys() == after[t].keys() for t in before
    ):  # refused (or nothing to change)
        event(f"refused with {response.status_code}")
        # A tampered hidden field or choice only needs refusing; what a person types, explaining.
        typed = all(form["kinds"][name] not in UNTYPED for name in attacked)
        if response.status_code == 422 and typed:
            assert form_errors(html) or "form-errors" in html, html[:2000]
        return
    assert response.status_code in (302, 303), html[:2000]
    event("saved")
    saved = changed_text(before, after)
    for name in attacked:
        # Past the page's maxlength (which a browser never sends) a service may cut the text.
        sent = squash(values[name][: form["maxlength"].get(name)])
        if name in endpoint.free_text and sent:
            assert sent in saved, (name, values[name])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_every_attacked_form_saves_when_filled_in_properly(
    client: Any, learning_world: Any, endpoint: Endpoint
) -> None:
    """The attacks above reach the service: the same form, filled in sensibly, saves."""
    world = learning_world
    client.login(endpoint.actor(world))
    if endpoint.name == "quiz answers":
        world.extra["attempt_url"] = client.post(f"/quizzes/{world.quiz.id}/start").headers[
            "Location"
        ]
    page = client.get(endpoint.url(world))
    form = main_form(page.get_data(as_text=True))
    values = dict(form["fields"]) | endpoint.fill(world) | {"csrf_token": client.csrf_token()}
    values |= dict.fromkeys(endpoint.free_text, "张晓燕 😀 <b>x</b>")
    before = snapshot()
    response = client.post(form["action"] or endpoint.url(world), data=values)
    assert response.status_code in (302, 303), form_errors(response.get_data(as_text=True))
    assert "张晓燕 😀 <b>x</b>" in changed_text(before, snapshot()) or not endpoint.free_text


def test_a_nul_byte_in_a_repeated_field_is_not_a_server_error(
    client: Any, learning_world: Any
) -> None:
    """A NUL hidden in the second value of a repeated field is refused like any other."""
    world = learning_world
    client.login(_admin(world))
    url = f"/author/lessons/{world.lessons[0].id}/edit"
    values = dict(main_form(client.get(url).get_data(as_text=True))["fields"])
    values["csrf_token"] = client.csrf_token()
    pairs = [*values.items(), ("title", "标题\x00"), ("markdown", "正文\x00")]
    before = snapshot()
    response = client.post(url, data=MultiDict(pairs), csrf=False)
    assert response.status_code == 400
    assert "\x00" not in changed_text(before, snapshot())
