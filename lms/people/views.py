"""The people directory and the administrators' account pages.

HR officers and coordinators search the people they look after; administrators also create
and edit accounts and roles, deactivate them and reset passwords. Every person loaded by id
goes through :func:`lms.auth.policy.get_visible_user_or_404`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from lms.audit.queries import recent_entries
from lms.auth import services as auth_services
from lms.auth.access import roles, signed_in
from lms.auth.models import User
from lms.auth.policy import can_manage_users, get_visible_user_or_404
from lms.auth.roles import Role
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.orgs.queries import all_districts
from lms.pagination import paginate
from lms.people import queries
from lms.people.forms import NewPersonForm, PeopleFilterForm, PersonForm
from lms.people.services import PersonData, RoleGrant, create_person, set_active, update_person
from lms.validation import ValidationError

bp = Blueprint("people", __name__, template_folder="templates")

F = TypeVar("F", bound=PersonForm)


RECENT_AUDIT_ENTRIES = 20


def _person_or_404(user_id: int) -> User:
    """The person behind ``user_id`` if the signed-in person may see them, else 404."""
    return get_visible_user_or_404(current_user, user_id)


@bp.route("/people")
@roles(Role.ADMIN, Role.HR, Role.COORDINATOR)
def index() -> str:
    """The directory: search and filter the people the signed-in person may see."""
    form = PeopleFilterForm(formdata=request.args)
    form.set_choices(queries.organisations_for(current_user), all_districts(), locale_code())
    form.validate()
    # A value that is not one of the choices (an edited URL) filters nothing.
    valid = {name: field.data if not field.errors else None for name, field in form._fields.items()}
    filters = queries.PeopleFilter(
        q=valid["q"] or "",
        role=Role(valid["role"]) if valid["role"] else None,
        organisation_id=valid["organisation"],
        district_id=valid["district"],
        status=valid["status"] if valid["status"] in queries.STATUSES else "active",
    )
    page = paginate(queries.people_query(current_user, filters))
    # The filters again, for the pagination links (empty ones left out).
    args = {
        key: request.args[key]
        for key in ("q", "role", "organisation", "district", "status")
        if request.args.get(key)
    }
    return render_template(
        "people/index.html",
        form=form,
        page=page,
        args=args,
        can_manage=can_manage_users(current_user),
    )


@bp.route("/people/<int:user_id>")
@signed_in
def detail(user_id: int) -> str:
    """A person's record; administrators also see the actions and recent changes."""
    person = _person_or_404(user_id)
    can_manage = can_manage_users(current_user)
    return render_template(
        "people/detail.html",
        person=person,
        can_manage=can_manage,
        audit_entries=recent_entries("user", person.id, RECENT_AUDIT_ENTRIES) if can_manage else [],
    )


def _person_form(form_class: type[F], person: User | None = None) -> F:
    """A person form with its choices, filled from ``person`` (or the defaults) on a GET."""
    data: dict[str, Any] = {"roles": [Role.TRAINEE.value]}
    keep: list[int | None] = []
    if person is not None:
        data = {
            "name": person.name,
            "email": person.email,
            "phone": person.phone,
            "employer_id": person.employer_id,
            "district_id": person.district_id,
            "roles": [a.role for a in person.role_assignments],
            "hr_scope": person.scope_of(Role.HR),
            "coordinator_scope": person.scope_of(Role.COORDINATOR),
        }
        keep = [person.employer_id, *(a.scope_org_id for a in person.role_assignments)]
    form = form_class(data=data)
    form.set_choices(
        queries.organisations_for(current_user, include=keep), all_districts(), locale_code()
    )
    return form


def _person_data(form: PersonForm) -> PersonData:
    grants = []
    for value in form.roles.data or []:
        scope_field = form.scope_field(value)
        grants.append(RoleGrant(Role(value), scope_field.data if scope_field else None))
    return PersonData(
        name=form.name.data or "",
        email=form.email.data or "",
        phone=form.phone.data,
        employer_id=form.employer_id.data,
        district_id=form.district_id.data,
        roles=grants,
    )


@bp.route("/people/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create() -> str | Response | tuple[str, int]:
    form = _person_form(NewPersonForm)
    if form.validate_on_submit():
        password = form.password.data or None
        saved, person = save(
            form,
            lambda: create_person(current_user.id, _person_data(form), password, temporary=True),
        )
        if saved and person is not None:
            flash(_("%(name)s has been added.", name=person.name), "success")
            return redirect(url_for("people.detail", user_id=person.id))
    return render_template("people/form.html", form=form, person=None), form_status(form)


@bp.route("/people/<int:user_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit(user_id: int) -> str | Response | tuple[str, int]:
    person = _person_or_404(user_id)
    form = _person_form(PersonForm, person)
    if form.validate_on_submit():
        saved, _person = save(
            form, lambda: update_person(current_user.id, person, _person_data(form))
        )
        if saved:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("people.detail", user_id=person.id))
    return render_template("people/form.html", form=form, person=person), form_status(form)


def _set_active(user_id: int, active: bool) -> Response:
    person = _person_or_404(user_id)
    try:
        set_active(current_user.id, person, active)
    except ValidationError as error:
        db.session.rollback()
        for message in error.errors.values():
            flash(message, "error")
    else:
        db.session.commit()
        if active:
            flash(_("%(name)s can sign in again.", name=person.name), "success")
        else:
            flash(_("%(name)s has been deactivated and signed out.", name=person.name), "success")
    return redirect(url_for("people.detail", user_id=person.id))


@bp.route("/people/<int:user_id>/deactivate", methods=["POST"])
@roles(Role.ADMIN)
def deactivate(user_id: int) -> Response:
    """Sign the person out everywhere and refuse their sign-in; their records stay."""
    return _set_active(user_id, False)


@bp.route("/people/<int:user_id>/reactivate", methods=["POST"])
@roles(Role.ADMIN)
def reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)


@bp.route("/people/<int:user_id>/reset-password", methods=["POST"])
@roles(Role.ADMIN)
def reset_password(user_id: int) -> Response:
    """Set a temporary password and show it once, for the administrator to pass on."""
    person = _person_or_404(user_id)
    temporary = queries.temporary_password(person.email)
    try:
        auth_services.reset_password(current_user, person, temporary)
    except ValidationError as error:
        db.session.rollback()
        for message in error.errors.values():
            flash(message, "error")
    else:
        db.session.commit()
        # The message is escaped as text; only the password's <code> element is markup.
        shown = escape(
            _(
                "The temporary password of %(name)s is %(password)s. Pass it on to them in "
                "person or by phone; they must choose their own when they next sign in. It "
                "is shown only this once."
            )
        ) % {
            "name": person.name,
            "password": Markup('<code id="temporary-password">{}</code>').format(temporary),
        }
        flash(shown, "success")
    return redirect(url_for("people.detail", user_id=person.id))
