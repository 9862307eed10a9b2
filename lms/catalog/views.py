"""The catalogue: browse and search courses, a course's outline, lesson pages, course files.

Every signed-in person reads published courses; drafts are seen by their owners and
administrators only. People enrolled in a course (see :mod:`lms.learning.access`) also see
their progress on the course page and "mark complete" on lesson pages; others get a link to
the cohorts open for the course. Lesson pages show the HTML stored when the version was
saved: no Markdown is rendered here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import signed_in
from lms.catalog import queries
from lms.catalog.forms import CatalogFilterForm
from lms.catalog.models import Course
from lms.catalog.services import can_edit_course
from lms.forms import form_status
from lms.i18n import locale_code
from lms.learning.access import is_enrolled_in_course
from lms.learning.dashboard import enrolled_course
from lms.learning.progress import lesson_with_state
from lms.pagination import paginate

bp = Blueprint("catalog", __name__, template_folder="templates")

# Course files never change under a URL's hash; browsers may keep them for a year.
ASSET_MAX_AGE = 365 * 24 * 3600
# Served as they are; anything else is sent as a download.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})
# An SVG (or anything not a raster image) opened on its own can run nothing and load nothing.
SANDBOX_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
RASTER_TYPES = IMAGE_TYPES - {"image/svg+xml"}


def format_hours(hours: Decimal | int | float | None) -> str:
    """CE hours without a useless ``.0``: ``12``, ``7.5``."""
    return f"{Decimal(hours or 0):.1f}".removesuffix(".0")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"format_hours": format_hours}


def _visible_course_or_404(code: str) -> Course:
    course = queries.course_by_code(code)
    if course is None or not queries.can_see_course(current_user, course):
        abort(404)
    return course


@bp.route("/courses")
@signed_in
def index() -> tuple[str, int]:
    """Published courses: search (Chinese substrings too), filters and pages."""
    form = CatalogFilterForm(formdata=request.args)
    form.fill_choices(queries.partner_choices(locale_code()))
    form.validate()
    filters = queries.CatalogFilters(
        q=form.value("q") or "",
        track=form.value("track") or None,
        partner=form.value("partner") or None,
        level=form.value("level") or None,
        hours=form.value("hours") or None,
    )
    page = paginate(queries.courses_select(filters))
    stats = queries.course_stats(c.id for c in page.items)
    args = {k: v for k, v in request.args.items() if k in form._fields and v}
    return render_template(
        "catalog/index.html",
        form=form,
        page=page,
        stats=stats,
        empty_stats=queries.CourseStats(),
        args=args,
        filtered=any(args.values()),
    ), form_status(form)


@bp.route("/courses/<code>")
@signed_in
def course(code: str) -> str:
    """A course's facts, prerequisites and outline, with a link to its first lesson; for an
    enrolled person their progress, quizzes and practical assessments, for others a link to
    the open cohorts."""
    course = _visible_course_or_404(code)
    outline = queries.course_outline(course)
    first = next((lesson for m in outline for lesson in m.lessons), None)
    status = None
    if is_enrolled_in_course(current_user.id, course.id):
        status = enrolled_course(current_user.id, course.id)
    edit_url = None
    if can_edit_course(current_user, course):
        edit_url = url_for("authoring.course", code=course.code)
    return render_template(
        "catalog/course.html",
        course=course,
        outline=outline,
        first=first,
        minutes=sum(m.minutes for m in outline),
        lesson_count=sum(len(m.lessons) for m in outline),
        prerequisites=queries.prerequisites_of(course),
        edit_url=edit_url,
        status=status,
    )


@bp.route("/courses/<code>/lessons/<int:lesson_id>")
@signed_in
def lesson(code: str, lesson_id: int) -> str:
    """A lesson's published version, its contents and the lessons before and after it.

    Two queries besides loading the signed-in person: the lesson with its module, course,
    published version and the reader's enrolment and progress (an enrolled reader gets
    "mark complete" and the page reports reading time), and the course's lesson order.
    """
    found = lesson_with_state(code, lesson_id, current_user.id)
    if found is None:
        abort(404)
    lesson, state = found
    if not queries.is_readable(lesson):
        abort(404)
    course = lesson.module.course
    if not queries.can_see_course(current_user, course):
        abort(404)
    version = lesson.published_version
    assert version is not None  # is_readable
    sequence = queries.lesson_sequence(course.id)
    previous, following = queries.neighbours(sequence, lesson.id)
    return render_template(
        "catalog/lesson.html",
        course=course,
        module=lesson.module,
        version=version,
        previous=previous,
        following=following,
        position=next((i for i, e in enumerate(sequence, 1) if e.id == lesson.id), None),
        total=len(sequence),
        content_lang=queries.content_language(version.title, version.html),
        state=state,
    )


@bp.route("/courses/<code>/files/<path:path>")
@signed_in
def asset(code: str, path: str) -> Response:
    """A course's image, by its path in the course folder (see ``services.asset_url``).

    The bytes are named by their SHA-256, so the response never changes: it is cached for
    a year and its ETag is the hash. SVGs get a sandboxing CSP.
    """
    if not queries.is_safe_asset_path(path):
        abort(404)
    course = _visible_course_or_404(code)
    asset = queries.course_asset(course.id, path)
    if asset is None:
        abort(404)
    file = queries.asset_file(asset.sha256)
    if file is None:
        current_app.logger.warning("course file missing from the store: %s", asset.sha256)
        abort(404)
    content_type = asset.content_type if asset.content_type in IMAGE_TYPES else None
    response = send_file(
        file,
        mimetype=content_type or "application/octet-stream",
        as_attachment=content_type is None,
        download_name=path.rsplit("/", 1)[-1],
        conditional=True,
        etag=asset.sha256,
        max_age=ASSET_MAX_AGE,
    )
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    if content_type not in RASTER_TYPES:
        response.headers["Content-Security-Policy"] = SANDBOX_CSP
    return response
