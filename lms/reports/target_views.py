"""Pages: the targets and their history, edited by administrators."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.certificates.issuing import local_today
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.orgs.queries import all_districts
from lms.pagination import paginate
from lms.reports import target_admin
from lms.reports.models import Target
from lms.reports.target_forms import TargetForm

bp = Blueprint(
    "report_targets", __name__, url_prefix="/reports/targets", template_folder="templates"
)


@bp.route("")
@roles(Role.ADMIN, Role.COORDINATOR)
def index() -> str:
    """Each tier's targets, milestones and shares against the people counted today, and the
    history of the changes (coordinators read; administrators also edit)."""
    page = paginate(target_admin.history_select(current_user))
    return render_template(
        "reports/targets.html",
        today=local_today(),
        tiers=target_admin.overview(local_today(), current_user, locale_code()),
        page=page,
        history=target_admin.history(page.items),
        can_edit=current_user.has_role(Role.ADMIN),
        limited=target_admin.partner_limit(current_user) is not None,
    )


def _form(row: Target | None) -> TargetForm:
    form = TargetForm(obj=row)
    form.fill_choices(target_admin.partner_choices(row), all_districts(), locale_code())
    return form


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create() -> tuple[str, int] | Response:
    form = _form(None)
    if form.validate_on_submit():
        saved, _row = save(
            form, lambda: target_admin.save_target(current_user.id, form.data_for_service())
        )
        if saved:
            flash(_("Target saved."), "success")
            return redirect(url_for("report_targets.index"))
    return render_template("reports/target_form.html", form=form, row=None), form_status(form)


@bp.route("/<int:target_id>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit(target_id: int) -> tuple[str, int] | Response:
    row = db.get_or_404(Target, target_id)
    form = _form(row)
    if form.validate_on_submit():
        saved, _row = save(
            form, lambda: target_admin.save_target(current_user.id, form.data_for_service(), row)
        )
        if saved:
            flash(_("Target saved."), "success")
            return redirect(url_for("report_targets.index"))
    return render_template("reports/target_form.html", form=form, row=row), form_status(form)


@bp.route("/<int:target_id>/delete", methods=["POST"])
@roles(Role.ADMIN)
def delete(target_id: int) -> Response:
    """Delete a target row (confirmed on the page; the form carries the CSRF token)."""
    row = db.get_or_404(Target, target_id)
    city_final = row.year is None and row.partner_id is None and row.district_id is None
    target_admin.delete_target(current_user.id, row)
    db.session.commit()
    if city_final:
        flash(_("Target deleted: the plan's figure applies again."), "success")
    else:
        flash(_("Target deleted."), "success")
    return redirect(url_for("report_targets.index"))
