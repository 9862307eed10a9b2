"""Administration of organisations and districts (admins only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.audit import queries as audit_queries
from lms.auth.access import roles
from lms.auth.roles import Role
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.orgs import queries, services
from lms.orgs.forms import DistrictForm, OrganisationFilterForm, OrganisationForm
from lms.orgs.models import District, Organisation
from lms.pagination import paginate

bp = Blueprint("orgs", __name__, template_folder="templates")

RECENT_AUDIT_ENTRIES = 10


# Organisations --------------------------------------------------------------------------------


@bp.route("/organisations")
@roles(Role.ADMIN)
def index() -> tuple[str, int]:
    """Search and filter the organisations; a page of them with their head counts."""
    form = OrganisationFilterForm(formdata=request.args)
    form.fill_choices(queries.all_districts(), locale_code())
    form.validate()
    filters = queries.OrganisationFilters(
        q=form.value("q") or "",
        kind=form.value("kind") or None,
        district_id=form.value("district"),
        status=form.value("status") or "active",
    )
    page = paginate(queries.organisations_select(filters))
    counts = queries.people_counts(o.id for o in page.items)
    args = {k: v for k, v in request.args.items() if k in form._fields and v}
    return render_template(
        "orgs/index.html", form=form, page=page, counts=counts, args=args
    ), form_status(form)


@bp.route("/organisations/<int:org_id>")
@roles(Role.ADMIN)
def detail(org_id: int) -> str:
    """An organisation's facts, the organisations under it and its recent changes."""
    org = db.get_or_404(Organisation, org_id)
    entries = audit_queries.recent_entries("organisation", org.id, RECENT_AUDIT_ENTRIES)
    return render_template(
        "orgs/detail.html",
        org=org,
        children=queries.children_of(org),
        people=queries.people_counts([org.id]).get(org.id, 0),
        entries=entries,
        names=audit_queries.EntityNames.load(entries),
    )


def _organisation_data(form: OrganisationForm) -> services.OrganisationData:
    return services.OrganisationData(
        code=form.code.data or "",
        name=form.name.data or "",
        name_en=form.name_en.data or "",
        kind=form.kind.data or "",
        district_id=form.district_id.data,
        parent_id=form.parent_id.data,
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create() -> tuple[str, int] | Response:
    form = OrganisationForm()
    form.fill_choices(queries.all_districts(), queries.parent_choices(), locale_code())
    if form.validate_on_submit():
        saved, org = save(
            form, lambda: services.create_organisation(current_user.id, _organisation_data(form))
        )
        if saved and org is not None:
            flash(_("Organisation %(code)s created.", code=org.code), "success")
            return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=None), form_status(form)


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit(org_id: int) -> tuple[str, int] | Response:
    org = db.get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org)
    form.fill_choices(queries.all_districts(), queries.parent_choices(exclude=org), locale_code())
    if form.validate_on_submit():
        saved, _org = save(
            form,
            lambda: services.update_organisation(current_user.id, org, _organisation_data(form)),
        )
        if saved:
            flash(_("Organisation %(code)s saved.", code=org.code), "success")
            return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=org), form_status(form)


def _set_active(org_id: int, active: bool) -> Response:
    org = db.get_or_404(Organisation, org_id)
    services.set_organisation_active(current_user.id, org, active)
    db.session.commit()
    if active:
        flash(_("Organisation %(code)s reactivated.", code=org.code), "success")
    else:
        flash(
            _(
                "Organisation %(code)s deactivated: it is no longer offered as a choice; "
                "its people and history are kept.",
                code=org.code,
            ),
            "success",
        )
    return redirect(url_for("orgs.detail", org_id=org.id))


@bp.route("/organisations/<int:org_id>/deactivate", methods=["POST"])
@roles(Role.ADMIN)
def deactivate(org_id: int) -> Response:
    return _set_active(org_id, False)


@bp.route("/organisations/<int:org_id>/reactivate", methods=["POST"])
@roles(Role.ADMIN)
def reactivate(org_id: int) -> Response:
    return _set_active(org_id, True)


# Districts ------------------------------------------------------------------------------------


@bp.route("/districts")
@roles(Role.ADMIN)
def districts() -> str:
    """Every district with its active organisations and people."""
    return render_template("orgs/districts.html", rows=queries.districts_with_counts())


def _district_data(form: DistrictForm) -> services.DistrictData:
    return services.DistrictData(
        code=form.code.data or "", name=form.name.data or "", name_en=form.name_en.data or ""
    )


@bp.route("/districts/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def district_create() -> tuple[str, int] | Response:
    form = DistrictForm()
    if form.validate_on_submit():
        saved, district = save(
            form, lambda: services.create_district(current_user.id, _district_data(form))
        )
        if saved and district is not None:
            flash(_("District %(name)s created.", name=district.name), "success")
            return redirect(url_for("orgs.districts"))
    return render_template("orgs/district_form.html", form=form, district=None), form_status(form)


@bp.route("/districts/<int:district_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def district_edit(district_id: int) -> tuple[str, int] | Response:
    district = db.get_or_404(District, district_id)
    form = DistrictForm(obj=district)
    if form.validate_on_submit():
        saved, _district = save(
            form,
            lambda: services.update_district(current_user.id, district, _district_data(form)),
        )
        if saved:
            flash(_("District %(name)s saved.", name=district.name), "success")
            return redirect(url_for("orgs.districts"))
    return render_template("orgs/district_form.html", form=form, district=district), form_status(
        form
    )
