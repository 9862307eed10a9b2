"""Administrators' pages for certificate templates: the list, the editor with a PDF preview of
sample data, and the saved versions.

The "Preview" button posts the form to :func:`preview` into the page's ``<iframe>``
(``formtarget``): the browser shows the returned PDF there, with no JavaScript at all.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.certificates import templates_admin
from lms.certificates.models import CertificateType
from lms.certificates.rendering import RenderError, ResolvedTemplate, current_template
from lms.certificates.rendering import render_preview as render_sample
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code

bp = Blueprint("certificate_templates", __name__, template_folder="templates")


class TemplateForm(FlaskForm):
    html = TextAreaField(_l("HTML (Jinja)"), render_kw={"rows": 18, "spellcheck": "false"})
    css = TextAreaField(_l("CSS"), render_kw={"rows": 14, "spellcheck": "false"})
    note = StringField(_l("What changed"), validators=[Length(max=200)])


def _type_or_404(type_id: int | None) -> CertificateType | None:
    if type_id is None:
        return None
    certificate_type = db.session.get(CertificateType, type_id)
    if certificate_type is None:
        abort(404)
    return certificate_type


def _data(form: TemplateForm) -> templates_admin.TemplateData:
    return templates_admin.TemplateData(
        html=form.html.data or "", css=form.css.data or "", note=form.note.data or ""
    )


@bp.route("/admin/certificate-templates")
@roles(Role.ADMIN)
def index() -> str:
    """The default template and each certificate type, with the version in use."""
    return render_template(
        "certificates/template_index.html", rows=templates_admin.overview(), locale=locale_code()
    )


@bp.route("/admin/certificate-templates/default", methods=["GET", "POST"])
@bp.route("/admin/certificate-templates/types/<int:type_id>", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit(type_id: int | None = None) -> str | Response | tuple[str, int]:
    """Edit a template; saving checks it renders and makes a new version.

    ``?version=N`` loads a saved version into the editor (saving it makes it current again).
    """
    certificate_type = _type_or_404(type_id)
    form = TemplateForm()
    if form.validate_on_submit():
        saved, template = save(
            form, lambda: templates_admin.save_version(current_user.id, type_id, _data(form))
        )
        if saved and template is not None:
            flash(_("Version %(n)d of the template has been saved.", n=template.version), "success")
            return redirect(request.path)
    elif request.method == "GET":
        number = request.args.get("version", type=int)
        if number is not None:
            loaded = templates_admin.version(type_id, number)
            if loaded is None:
                abort(404)
            form.html.data, form.css.data = loaded.html, loaded.css
        else:
            source = current_template(type_id)
            form.html.data, form.css.data = source.html, source.css
    return render_template(
        "certificates/template_edit.html",
        form=form,
        certificate_type=certificate_type,
        versions=templates_admin.versions(type_id),
        locale=locale_code(),
    ), form_status(form)


@bp.route("/admin/certificate-templates/preview", methods=["POST"])
@roles(Role.ADMIN)
def preview() -> Response | tuple[str, int]:
    """The PDF of the sample certificate with the posted HTML and CSS; nothing is saved.

    A template that fails to render gets a small page with the error (status 422).
    """
    form = TemplateForm()
    if not form.validate_on_submit():
        return render_template("certificates/template_preview_error.html", form=form), 400
    try:
        pdf = render_sample(ResolvedTemplate(None, form.html.data or "", form.css.data or ""))
    except RenderError as error:
        message = _("The template cannot be rendered: %(error)s", error=str(error))
        return render_template("certificates/template_preview_error.html", message=message), 422
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "inline; filename=preview.pdf"
    response.headers["Cache-Control"] = "no-store"
    return response
