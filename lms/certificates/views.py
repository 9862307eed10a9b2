"""The certificate pages: the list, one certificate and its PDF, issuing one or in bulk, the
life-cycle actions, the reminders outbox, and a trainee's own certificates.

HR officers and administrators act, coordinators read, each only on the people they see
(:mod:`lms.certificates.queries`); a holder sees and downloads their own. Every certificate
loaded by id goes through :func:`queries.get_certificate_or_404`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from lms import jobs
from lms.auth.access import roles, signed_in
from lms.auth.models import User
from lms.auth.policy import get_visible_user_or_404
from lms.certificates import bulk as bulk_service
from lms.certificates import issuing, lifecycle, queries
from lms.certificates.forms import (
    BulkForm,
    CertificateFilterForm,
    ConfirmForm,
    IssueForm,
    PersonSearchForm,
    ReasonForm,
)
from lms.certificates.models import Certificate, CertificateType, Status
from lms.db import utcnow
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.pagination import paginate
from lms.people.queries import PeopleFilter, people_query

bp = Blueprint("certificates", __name__, template_folder="templates")

# People shown by the issue page's search.
PERSON_RESULTS = 20


def _pdf_response(path: Any, ascii_name: str, utf8_name: str, mimetype: str) -> Response:
    """A download with an ASCII file name and its UTF-8 form (RFC 6266), never sniffed."""
    response = send_file(path, mimetype=mimetype, max_age=0)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The list -----------------------------------------------------------------------------------


@bp.route("/certificates")
@roles(*queries.STAFF_ROLES)
def index() -> str:
    """Search and filter the certificates of the people the signed-in person sees."""
    today = utcnow().date()
    locale = locale_code()
    form = CertificateFilterForm(formdata=request.args)
    form.set_choices(queries.certificate_types(), queries.issue_years(today), locale)
    form.validate()
    # A value that is not one of the choices (an edited URL) filters nothing.
    valid = {name: field.data if not field.errors else None for name, field in form._fields.items()}
    filters = queries.CertificateFilter(
        q=valid["q"] or "",
        type_id=valid["type"],
        status=Status(valid["status"]) if valid["status"] else None,
        year=valid["year"],
    )
    page = paginate(queries.certificates_query(current_user, filters, today))
    args = {k: request.args[k] for k in ("q", "type", "status", "year") if request.args.get(k)}
    return render_template(
        "certificates/cert_index.html",
        form=form,
        page=page,
        args=args,
        today=today,
        can_issue=current_user.has_role(*queries.MANAGER_ROLES),
    )


# One certificate ----------------------------------------------------------------------------


def _render_detail(
    certificate: Certificate,
    revoke_form: ReasonForm | None = None,
    reissue_form: ReasonForm | None = None,
    renew_form: ConfirmForm | None = None,
) -> tuple[str, int]:
    can_manage = queries.can_manage_certificate(current_user, certificate)
    forms: list[Any] = []
    if can_manage:
        revoke_form = revoke_form or ReasonForm(prefix="revoke", formdata=None)
        reissue_form = reissue_form or ReasonForm(prefix="reissue", formdata=None)
        renew_form = renew_form or ConfirmForm(prefix="renew", formdata=None)
        forms = [revoke_form, reissue_form, renew_form]
    return render_template(
        "certificates/cert_detail.html",
        certificate=certificate,
        status=certificate.status,
        chain=queries.certificate_chain(certificate),
        is_staff=current_user.has_role(*queries.STAFF_ROLES),
        can_manage=can_manage,
        renewal=lifecycle.renewal_check(certificate.id) if can_manage else None,
        revoke_form=revoke_form,
        reissue_form=reissue_form,
        renew_form=renew_form,
    ), form_status(*forms)


@bp.route("/certificates/<int:certificate_id>")
@signed_in
def detail(certificate_id: int) -> tuple[str, int]:
    """Every fact of a certificate; HR officers and administrators also act on it."""
    return _render_detail(queries.get_certificate_or_404(current_user, certificate_id))


@bp.route("/certificates/<int:certificate_id>/pdf")
@signed_in
def pdf(certificate_id: int) -> Response:
    """The stored PDF, for the holder and the staff who see them (404 for anyone else)."""
    certificate = queries.get_certificate_or_404(current_user, certificate_id)
    path = issuing.pdf_path(certificate) if certificate.pdf_sha256 else None
    if path is None or not path.is_file():
        abort(404)
    return _pdf_response(
        path,
        f"certificate-{certificate.serial}.pdf",
        f"{certificate.holder_name}-{certificate.serial}.pdf",
        "application/pdf",
    )


def _managed_certificate_or_404(certificate_id: int) -> Certificate:
    """A certificate the signed-in HR officer or administrator may act on: 404 when they
    may not see it."""
    certificate = queries.get_certificate_or_404(current_user, certificate_id)
    if not queries.can_manage_certificate(current_user, certificate):
        abort(403)
    return certificate


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@roles(*queries.MANAGER_ROLES)
def revoke(certificate_id: int) -> Response | tuple[str, int]:
    """Revoke with a written reason; the verify page shows it as revoked from now on."""
    certificate = _managed_certificate_or_404(certificate_id)
    form = ReasonForm(prefix="revoke")
    if form.validate_on_submit():
        saved, _revoked = save(
            form, lambda: lifecycle.revoke(current_user.id, certificate.id, form.reason.data)
        )
        if saved:
            flash(_("The certificate %(serial)s is revoked.", serial=certificate.serial), "success")
            return redirect(url_for("certificates.detail", certificate_id=certificate.id))
        certificate = queries.get_certificate_or_404(current_user, certificate_id)
    return _render_detail(certificate, revoke_form=form)


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
@roles(*queries.MANAGER_ROLES)
def reissue(certificate_id: int) -> Response | tuple[str, int]:
    """Issue the same award again under the holder's current name; this one is superseded."""
    certificate = _managed_certificate_or_404(certificate_id)
    form = ReasonForm(prefix="reissue")
    if form.validate_on_submit():
        saved, new = save(
            form, lambda: lifecycle.reissue(current_user.id, certificate.id, form.reason.data)
        )
        if saved and new is not None:
            flash(
                _("The certificate has been reissued as %(serial)s.", serial=new.serial), "success"
            )
            return redirect(url_for("certificates.detail", certificate_id=new.id))
        certificate = queries.get_certificate_or_404(current_user, certificate_id)
    return _render_detail(certificate, reissue_form=form)


@bp.route("/certificates/<int:certificate_id>/renew", methods=["POST"])
@roles(*queries.MANAGER_ROLES)
def renew(certificate_id: int) -> Response | tuple[str, int]:
    """Renew: a new certificate replacing this one, when the renewal check is met."""
    certificate = _managed_certificate_or_404(certificate_id)
    form = ConfirmForm(prefix="renew")
    if form.validate_on_submit():
        saved, new = save(form, lambda: lifecycle.renew(current_user.id, certificate.id))
        if saved and new is not None:
            flash(
                _("The certificate has been renewed as %(serial)s.", serial=new.serial), "success"
            )
            return redirect(url_for("certificates.detail", certificate_id=new.id))
        certificate = queries.get_certificate_or_404(current_user, certificate_id)
    return _render_detail(certificate, renew_form=form)


# Issuing one --------------------------------------------------------------------------------


def _type_or_404(type_id: Any) -> CertificateType:
    try:
        certificate_type = db.session.get(CertificateType, int(type_id))
    except (TypeError, ValueError):
        abort(404)
    if certificate_type is None or not certificate_type.active:
        abort(404)
    return certificate_type


def _holder(value: Any) -> User | None:
    """The person named by a form or query value, if the signed-in person sees them."""
    if not value:
        return None
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        abort(404)
    return get_visible_user_or_404(current_user, user_id)


@bp.route("/certificates/issue", methods=["GET", "POST"])
@roles(*queries.MANAGER_ROLES)
def issue() -> str | Response | tuple[str, int]:
    """Find a person, choose a type, see their eligibility, and issue (with an override
    reason when they are not eligible)."""
    locale = locale_code()
    search = PersonSearchForm(formdata=request.args)
    types = queries.certificate_types(active_only=True)
    form = IssueForm()
    if request.method == "POST":
        holder = _holder(form.holder_id.data)
        certificate_type = _type_or_404(form.type_id.data)
    else:
        holder = _holder(request.args.get("holder"))
        type_id = request.args.get("type")
        certificate_type = _type_or_404(type_id) if type_id else None
    eligibility = None
    if holder is not None and certificate_type is not None:
        eligibility = issuing.eligibility(holder.id, certificate_type.id)
        form.holder_id.data, form.type_id.data = str(holder.id), str(certificate_type.id)
    if request.method == "POST" and form.validate_on_submit() and eligibility is not None:
        reason = None if eligibility.ok else (form.override_reason.data or "").strip() or None
        saved, certificate = save(
            form,
            lambda: issuing.issue_one(
                current_user.id, holder.id, certificate_type.id, override_reason=reason
            ),
        )
        if saved and certificate is not None:
            flash(
                _(
                    "Certificate %(serial)s has been issued to %(name)s.",
                    serial=certificate.serial,
                    name=certificate.holder_name,
                ),
                "success",
            )
            return redirect(url_for("certificates.detail", certificate_id=certificate.id))
        eligibility = issuing.eligibility(holder.id, certificate_type.id)
    q = (search.q.data or "").strip()
    people: list[User] = []
    if q and holder is None:
        people = list(
            db.session.scalars(people_query(current_user, PeopleFilter(q=q)).limit(PERSON_RESULTS))
        )
    return render_template(
        "certificates/cert_issue.html",
        search=search,
        q=q,
        people=people,
        people_limit=PERSON_RESULTS,
        holder=holder,
        types=types,
        certificate_type=certificate_type,
        eligibility=eligibility,
        form=form,
        locale=locale,
    ), form_status(form)


# Bulk issue ---------------------------------------------------------------------------------


@bp.route("/certificates/bulk", methods=["GET", "POST"])
@roles(*queries.MANAGER_ROLES)
def bulk() -> str | Response | tuple[str, int]:
    """Choose a type and a cohort (or everyone eligible), see how many are eligible, start
    the job and follow it; ``?job=`` shows a job's progress and then its summary."""
    job_id = request.args.get("job")
    if job_id:
        job = jobs.visible_job_or_404(job_id, bulk_service.JOB_KIND)
        return render_template("certificates/cert_bulk.html", job=job, form=None), 200
    posted = request.method == "POST"
    form = BulkForm(formdata=request.form if posted else request.args)
    types = queries.certificate_types(active_only=True)
    type_value = (form.type_id.raw_data or [""])[0]
    chosen = next((t for t in types if str(t.id) == type_value), None)
    form.set_choices(
        types, queries.cohorts_for_type(current_user, chosen) if chosen else [], locale_code()
    )
    # A GET only counts (no CSRF token to check); a POST starts the job.
    valid = form.validate() if posted else bool(chosen) and form.cohort_id.validate(form)
    eligible = None
    if valid and chosen is not None:
        eligible = queries.count_eligible(
            current_user, issuing.eligible_holders(chosen.id, cohort_id=form.cohort_id.data)
        )
        if posted:
            try:
                job = bulk_service.start_bulk_issue(current_user.id, chosen.id, form.cohort_id.data)
            except jobs.JobsUnavailable as error:
                flash(str(error), "error")
            else:
                return redirect(url_for("certificates.bulk", job=job.id))
    return render_template(
        "certificates/cert_bulk.html", form=form, job=None, chosen=chosen, eligible=eligible
    ), form_status(form)


@bp.route("/certificates/bulk/<job_id>.zip")
@roles(*queries.MANAGER_ROLES)
def bulk_zip(job_id: str) -> Response:
    """The PDFs of a bulk issue, for the person who started it (and administrators)."""
    job = jobs.visible_job_or_404(job_id, bulk_service.JOB_KIND)
    path = bulk_service.zip_path(job)
    if path is None or not path.is_file():
        abort(404)
    name = f"certificates-{job.id[:8]}.zip"
    return _pdf_response(path, name, name, "application/zip")


# Outbox -------------------------------------------------------------------------------------


@bp.route("/certificates/outbox", methods=["GET", "POST"])
@roles(*queries.MANAGER_ROLES)
def outbox() -> str | Response:
    """The reminders of certificates about to expire; a button queues today's now."""
    form = ConfirmForm()
    if form.validate_on_submit():
        count = lifecycle.queue_expiry_reminders()
        db.session.commit()
        flash(ngettext("%(num)d reminder queued.", "%(num)d reminders queued.", count), "success")
        return redirect(url_for("certificates.outbox"))
    page = paginate(queries.outbox_query(current_user))
    return render_template("certificates/cert_outbox.html", page=page, form=form)


# A trainee's own ----------------------------------------------------------------------------


@bp.route("/learning/certificates")
@signed_in
def mine() -> str:
    """The signed-in person's certificates, with their status and PDF."""
    return render_template(
        "certificates/cert_mine.html",
        certificates=queries.holder_certificates(current_user.id),
    )
