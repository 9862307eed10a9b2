"""Writing courses in the browser: courses, modules, lessons, versions, images.

Instructors edit the courses they own and administrators every course; a course, module,
lesson or version the signed-in person may not edit answers 404, as if it did not exist, so
course codes and ids cannot be probed. Every change is a POST with a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from lms.auth.access import roles
from lms.auth.models import User
from lms.auth.roles import Role
from lms.authoring import diff, services
from lms.authoring.forms import (
    ActionForm,
    CompareForm,
    CourseForm,
    ImageForm,
    LessonForm,
    MoveForm,
    OwnerForm,
    RestoreForm,
    TitleForm,
)
from lms.catalog.models import Course, Lesson, LessonVersion, Module
from lms.catalog.services import can_edit_course, latest_version
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.orgs.forms import optional_id
from lms.pagination import paginate
from lms.validation import ValidationError

bp = Blueprint("authoring", __name__, template_folder="templates")

T = TypeVar("T")

AUTHORS = (Role.INSTRUCTOR, Role.ADMIN)

STATUS_LABELS = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "archived": _l("Archived"),
}
ORIGIN_LABELS = {"files": _l("Course files"), "browser": _l("Browser")}


@bp.app_template_filter("course_status")
def course_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("version_origin")
def version_origin(origin: str) -> str:
    return str(ORIGIN_LABELS.get(origin, origin))


# Loading with object checks -------------------------------------------------------------------


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _course_or_404(code: str) -> Course:
    """The course with ``code`` if the signed-in person may edit it, else 404."""
    course = db.session.scalar(
        sa.select(Course).options(selectinload(Course.owners)).where(Course.code == code)
    )
    if course is None or not can_edit_course(_actor(), course):
        abort(404)
    return course


def _module_or_404(course: Course, module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.course_id != course.id:
        abort(404)
    return module


def _lesson_or_404(lesson_id: int) -> Lesson:
    """The lesson with its module and course, if the signed-in person may edit the course."""
    lesson = db.session.scalar(
        sa.select(Lesson)
        .options(joinedload(Lesson.module).joinedload(Module.course).selectinload(Course.owners))
        .where(Lesson.id == lesson_id)
    )
    if lesson is None or not can_edit_course(_actor(), lesson.module.course):
        abort(404)
    return lesson


def _version_or_404(lesson: Lesson, number: int) -> LessonVersion:
    version = services.get_version(lesson, number)
    if version is None:
        abort(404)
    return version


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _commit_or_flash(action: Callable[[], T]) -> tuple[bool, T | None]:
    """``lms.forms.save`` for buttons and the small forms of a page that is redirected back to.

    Commits and returns ``(True, result)``; on ``ValidationError`` rolls back, flashes the
    messages and returns ``(False, None)``.
    """
    try:
        result = action()
    except ValidationError as error:
        db.session.rollback()
        for message in error.errors.values():
            flash(message, "error")
        return False, None
    db.session.commit()
    return True, result


def _flash_form_errors(form: Any) -> None:
    """Errors of a small form posted from a page that shows several (module, lesson rows)."""
    for name, messages in form.errors.items():
        field = form._fields.get(name) if name else None
        label = f"{field.label.text}: " if field is not None and field.label.text else ""
        for message in messages:
            flash(f"{label}{message}", "error")


def _to_module(module: Module) -> Response:
    """Back to the course page, at ``module``."""
    return redirect(
        url_for("authoring.course", code=module.course.code, _anchor=f"module-{module.id}")
    )


# Courses --------------------------------------------------------------------------------------


@bp.route("/author")
@roles(*AUTHORS)
def index() -> str:
    """The courses the signed-in person edits (administrators: every course)."""
    page = paginate(services.editable_courses_select(_actor()).options(selectinload(Course.owners)))
    return render_template(
        "authoring/index.html", page=page, rows=services.course_rows(list(page.items))
    )


def _course_form(course: Course | None = None) -> CourseForm:
    if course is None:
        form = CourseForm()
    else:
        form = CourseForm(
            data={
                "title": course.title,
                "title_en": course.title_en,
                "summary": course.summary,
                "summary_en": course.summary_en,
                "track": course.track,
                "level": course.level,
                "ce_hours": course.ce_hours,
                "partner": course.partner_code or "",
                "prerequisites": [str(c.id) for c in course.prerequisites],
            }
        )
        del form.code
    form.fill_choices(
        services.university_partners(course.partner_code if course else None),
        services.prerequisite_choices(course),
        locale_code(),
    )
    return form


@bp.route("/author/courses/new", methods=["GET", "POST"])
@roles(*AUTHORS)
def course_create() -> tuple[str, int] | Response:
    form = _course_form()
    if form.validate_on_submit():
        saved, course = save(
            form, lambda: services.create_course(_actor(), form.data_for_service())
        )
        if saved and course is not None:
            flash(_("Course %(code)s created as a draft.", code=course.code), "success")
            return redirect(url_for("authoring.course", code=course.code))
    return render_template("authoring/course_form.html", form=form, course=None), form_status(form)


@bp.route("/author/courses/<code>")
@roles(*AUTHORS)
def course(code: str) -> tuple[str, int]:
    course = _course_or_404(code)
    return _render_course(course, TitleForm())


def _render_course(course: Course, module_form: TitleForm) -> tuple[str, int]:
    return render_template(
        "authoring/course.html",
        course=course,
        outline=services.course_outline(course),
        module_form=module_form,
        lesson_form=TitleForm(formdata=None),
        published_lessons=services.published_lesson_count(course),
        can_manage_owners=_actor().has_role(Role.ADMIN),
    ), form_status(module_form)


@bp.route("/author/courses/<code>/edit", methods=["GET", "POST"])
@roles(*AUTHORS)
def course_edit(code: str) -> tuple[str, int] | Response:
    course = _course_or_404(code)
    form = _course_form(course)
    if form.validate_on_submit():
        saved, _course = save(
            form, lambda: services.update_course(_actor(), course, form.data_for_service())
        )
        if saved:
            flash(_("Course %(code)s saved.", code=course.code), "success")
            return redirect(url_for("authoring.course", code=course.code))
    return render_template("authoring/course_form.html", form=form, course=course), form_status(
        form
    )


@bp.route("/author/courses/<code>/publish", methods=["POST"])
@roles(*AUTHORS)
def course_publish(code: str) -> Response:
    course = _course_or_404(code)
    if ActionForm().validate_on_submit():
        _saved, changed = _commit_or_flash(lambda: services.publish_course(_actor(), course))
        if changed:
            flash(_("Course %(code)s is now in the catalogue.", code=course.code), "success")
    return redirect(url_for("authoring.course", code=course.code))


@bp.route("/author/courses/<code>/unpublish", methods=["POST"])
@roles(*AUTHORS)
def course_unpublish(code: str) -> Response:
    course = _course_or_404(code)
    if ActionForm().validate_on_submit() and services.unpublish_course(_actor(), course):
        db.session.commit()
        flash(
            _("Course %(code)s is back to draft: it is no longer in the catalogue.", code=code),
            "success",
        )
    return redirect(url_for("authoring.course", code=course.code))


@bp.route("/author/courses/<code>/owners", methods=["GET", "POST"])
@roles(Role.ADMIN)
def owners(code: str) -> tuple[str, int] | Response:
    """Administrators choose which instructors edit a course."""
    course = _course_or_404(code)
    form = OwnerForm()
    if form.validate_on_submit():
        remove = request.form.get("action") == "remove"
        change = services.remove_owner if remove else services.add_owner
        _saved, person = save(form, lambda: change(_actor(), course, form.user_id.data))
        if person is not None:
            if remove:
                flash(_("%(name)s no longer edits this course.", name=person.name), "success")
            else:
                flash(_("%(name)s now edits this course.", name=person.name), "success")
            return redirect(url_for("authoring.owners", code=course.code))
    owner_ids = {o.id for o in course.owners}
    candidates = [u for u in services.instructors() if u.id not in owner_ids]
    form.user_id.choices = [
        ("", _("Choose an instructor")),
        *((u.id, f"{u.name} · {u.email}") for u in candidates),
    ]
    return render_template(
        "authoring/owners.html", course=course, form=form, candidates=candidates
    ), form_status(form)


# Modules and lessons --------------------------------------------------------------------------


@bp.route("/author/courses/<code>/modules", methods=["POST"])
@roles(*AUTHORS)
def module_create(code: str) -> tuple[str, int] | Response:
    course = _course_or_404(code)
    form = TitleForm()
    if form.validate_on_submit():
        _saved, module = save(
            form, lambda: services.create_module(_actor(), course, *form.values())
        )
        if module is not None:
            flash(_("Module added."), "success")
            return _to_module(module)
    return _render_course(course, form)


@bp.route("/author/courses/<code>/modules/<int:module_id>/rename", methods=["POST"])
@roles(*AUTHORS)
def module_rename(code: str, module_id: int) -> Response:
    course = _course_or_404(code)
    module = _module_or_404(course, module_id)
    form = TitleForm()
    if form.validate_on_submit():
        title, title_en, _key = form.values()
        saved, _none = _commit_or_flash(lambda: services.rename_module(module, title, title_en))
        if saved:
            flash(_("Module renamed."), "success")
    else:
        _flash_form_errors(form)
    return _to_module(module)


@bp.route("/author/courses/<code>/modules/<int:module_id>/move", methods=["POST"])
@roles(*AUTHORS)
def module_move(code: str, module_id: int) -> Response:
    course = _course_or_404(code)
    module = _module_or_404(course, module_id)
    form = MoveForm()
    if form.validate_on_submit() and services.move_module(module, form.direction.data):
        db.session.commit()
    return _to_module(module)


@bp.route("/author/courses/<code>/modules/<int:module_id>/lessons", methods=["POST"])
@roles(*AUTHORS)
def lesson_create(code: str, module_id: int) -> Response:
    course = _course_or_404(code)
    module = _module_or_404(course, module_id)
    form = TitleForm()
    if form.validate_on_submit():
        _saved, lesson = _commit_or_flash(
            lambda: services.create_lesson(_actor(), module, *form.values())
        )
        if lesson is not None:
            flash(_("Lesson added; write it here."), "success")
            return redirect(url_for("authoring.lesson_edit", lesson_id=lesson.id))
    else:
        _flash_form_errors(form)
    return _to_module(module)


@bp.route("/author/lessons/<int:lesson_id>/move", methods=["POST"])
@roles(*AUTHORS)
def lesson_move(lesson_id: int) -> Response:
    lesson = _lesson_or_404(lesson_id)
    form = MoveForm()
    if form.validate_on_submit() and services.move_lesson(lesson, form.direction.data):
        db.session.commit()
    return _to_module(lesson.module)


def _set_archived(lesson_id: int, archived: bool) -> Response:
    lesson = _lesson_or_404(lesson_id)
    if ActionForm().validate_on_submit() and services.set_lesson_archived(
        _actor(), lesson, archived
    ):
        db.session.commit()
        if archived:
            flash(_("Lesson archived: trainees no longer see it; its history is kept."), "success")
        else:
            flash(_("Lesson restored to the course."), "success")
    return _to_module(lesson.module)


@bp.route("/author/lessons/<int:lesson_id>/archive", methods=["POST"])
@roles(*AUTHORS)
def lesson_archive(lesson_id: int) -> Response:
    return _set_archived(lesson_id, True)


@bp.route("/author/lessons/<int:lesson_id>/unarchive", methods=["POST"])
@roles(*AUTHORS)
def lesson_unarchive(lesson_id: int) -> Response:
    return _set_archived(lesson_id, False)


# The lesson editor ----------------------------------------------------------------------------


@bp.route("/author/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@roles(*AUTHORS)
def lesson_edit(lesson_id: int) -> tuple[str, int] | Response:
    lesson = _lesson_or_404(lesson_id)
    latest = latest_version(lesson)
    base = latest.number if latest else None
    if request.method == "POST":
        form = LessonForm()
    else:
        form = LessonForm(
            data={
                "title": latest.title if latest else "",
                "title_en": latest.title_en if latest else "",
                "minutes": latest.minutes if latest else 10,
                "objectives": "\n".join(latest.objectives) if latest else "",
                "markdown": latest.markdown if latest else "",
            }
        )
        form.set_base(base)
    if form.validate_on_submit():
        _saved, result = save(
            form,
            lambda: services.save_lesson(
                _actor(),
                lesson,
                form.data_for_service(),
                publish=bool(form.save_publish.data),
                base_number=form.base_number(),
            ),
        )
        if result is not None:
            number = result.version.number
            if result.published:
                flash(_("Version %(n)d saved and published.", n=number), "success")
            elif result.created:
                flash(_("Draft version %(n)d saved.", n=number), "success")
            else:
                flash(_("No changes: nothing was saved."), "info")
            return redirect(url_for("authoring.lesson_edit", lesson_id=lesson.id))
        form.set_base(base)  # warned once: saving again replaces the newer version
    module = lesson.module
    return render_template(
        "authoring/lesson_edit.html",
        lesson=lesson,
        module=module,
        course=module.course,
        latest=latest,
        published=lesson.published_version,
        # Versions are numbered from 1 and never deleted: the latest's number is their count.
        versions=base or 0,
        form=form,
        # The stored HTML of the version being edited: no Markdown is rendered for the page.
        initial_preview=Markup(latest.html) if latest and request.method == "GET" else None,  # noqa: S704
        image_form=ImageForm(formdata=None),
        images=services.module_images(module),
    ), form_status(form)


@bp.route("/author/lessons/<int:lesson_id>/preview", methods=["POST"])
@roles(*AUTHORS)
def preview(lesson_id: int) -> str:
    """The editor's text rendered by the same code as on save (an HTML fragment for htmx)."""
    lesson = _lesson_or_404(lesson_id)
    markdown = request.form.get("markdown", "")
    too_long = len(markdown) > services.MAX_MARKDOWN
    html = services.preview_html(lesson, markdown)
    return render_template(
        "authoring/_preview.html",
        html=Markup(html),  # noqa: S704  (sanitised by lms.markdown)
        too_long=too_long,
    )


# History --------------------------------------------------------------------------------------


@bp.route("/author/lessons/<int:lesson_id>/history")
@roles(*AUTHORS)
def history(lesson_id: int) -> str:
    lesson = _lesson_or_404(lesson_id)
    module = lesson.module
    return render_template(
        "authoring/history.html",
        lesson=lesson,
        module=module,
        course=module.course,
        versions=services.lesson_versions(lesson),
    )


@bp.route("/author/lessons/<int:lesson_id>/versions/<int:number>")
@roles(*AUTHORS)
def version(lesson_id: int, number: int) -> str:
    """A version's text, how it reads, and what changed since the previous (or a chosen) one."""
    lesson = _lesson_or_404(lesson_id)
    current = _version_or_404(lesson, number)
    numbers = list(
        db.session.scalars(
            sa.select(LessonVersion.number)
            .where(LessonVersion.lesson_id == lesson.id)
            .order_by(LessonVersion.number.desc())
        )
    )
    compare = CompareForm(formdata=request.args)
    compare.against.choices = [(n, _("Version %(n)d", n=n)) for n in numbers if n != number]
    compare.validate()
    against = compare.against.data if not compare.against.errors else None
    if against is None or against not in numbers or against == number:
        earlier = [n for n in numbers if n < number]
        against = earlier[0] if earlier else None
    compare.against.data = against
    other = services.get_version(lesson, against) if against is not None else None
    module = lesson.module
    return render_template(
        "authoring/version.html",
        lesson=lesson,
        module=module,
        course=module.course,
        version=current,
        other=other,
        changes=diff.compare(other, current),
        compare_form=compare,
        latest_number=numbers[0],
        rendered=Markup(current.html),  # noqa: S704  (sanitised when the version was saved)
        toc=Markup(current.toc_html),  # noqa: S704
    )


@bp.route("/author/lessons/<int:lesson_id>/versions/<int:number>/restore", methods=["POST"])
@roles(*AUTHORS)
def restore(lesson_id: int, number: int) -> Response:
    lesson = _lesson_or_404(lesson_id)
    old = _version_or_404(lesson, number)
    form = RestoreForm()
    result = None
    if form.validate_on_submit():
        _saved, result = _commit_or_flash(
            lambda: services.restore_lesson_version(_actor(), old, publish=form.publish.data)
        )
    if result is not None:
        n = result.version.number
        if result.created and result.published:
            message = _("Version %(old)d restored as version %(n)d and published.", old=number, n=n)
        elif result.created:
            message = _("Version %(old)d restored as draft version %(n)d.", old=number, n=n)
        elif result.published:
            message = _("Version %(n)d, the same as version %(old)d, published.", old=number, n=n)
        else:
            message = _(
                "Nothing to restore: the latest version (%(n)d) is the same as version %(old)d.",
                old=number,
                n=n,
            )
        flash(message, "success" if result.created or result.published else "info")
    return redirect(url_for("authoring.history", lesson_id=lesson.id))


@bp.route("/author/lessons/<int:lesson_id>/versions/<int:number>/publish", methods=["POST"])
@roles(*AUTHORS)
def publish_version(lesson_id: int, number: int) -> Response:
    lesson = _lesson_or_404(lesson_id)
    chosen = _version_or_404(lesson, number)
    if ActionForm().validate_on_submit():
        _saved, changed = _commit_or_flash(
            lambda: services.publish_lesson_version(_actor(), chosen)
        )
        if changed:
            flash(_("Version %(n)d is now the one trainees read.", n=number), "success")
    return redirect(url_for("authoring.history", lesson_id=lesson.id))


# Images ---------------------------------------------------------------------------------------


@bp.route("/author/courses/<code>/modules/<int:module_id>/images", methods=["POST"])
@roles(*AUTHORS)
def upload_image(code: str, module_id: int) -> tuple[str, int]:
    """Add an image beside a module's lessons and show the Markdown that shows it.

    From the editor (htmx) the answer is a fragment put under the upload form, so the text
    being written stays; without JavaScript it is a page of its own.
    """
    course = _course_or_404(code)
    module = _module_or_404(course, module_id)
    form = ImageForm()
    uploaded = None
    if form.validate_on_submit():
        upload = form.file.data
        _saved, uploaded = save(
            form,
            lambda: services.store_image(
                _actor(), module, upload.filename or "", upload.read(services.MAX_IMAGE_BYTES + 1)
            ),
        )
    back = None
    lesson_id = request.form.get("lesson_id", type=optional_id)
    if lesson_id:
        lesson = db.session.get(Lesson, lesson_id)
        if lesson is not None and lesson.module_id == module.id:
            back = url_for("authoring.lesson_edit", lesson_id=lesson.id)
    template = "authoring/_image_result.html" if _is_htmx() else "authoring/image_uploaded.html"
    # htmx does not swap error answers in: the fragment carries its errors with a 200.
    status = 200 if uploaded is not None or _is_htmx() else 422
    return render_template(
        template,
        course=course,
        module=module,
        form=form,
        uploaded=uploaded,
        back=back or url_for("authoring.course", code=course.code, _anchor=f"module-{module.id}"),
    ), status
