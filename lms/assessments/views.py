"""Taking quizzes: start, answer (saved as the trainee goes), submit, review; essay marking.

Only the person who owns an attempt saves or submits it; instructors and HR officers who may
see the person's learning record read it; another trainee gets 403. Marks are computed by
:mod:`lms.assessments.attempts` from the attempt's snapshot: the form only ever gives answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from lms.assessments import attempts as service
from lms.assessments.models import QuizAttempt
from lms.assessments.quiz_forms import essay_grading_form, responses_from_form
from lms.auth.access import roles, signed_in
from lms.auth.roles import Role
from lms.catalog.queries import content_language
from lms.extensions import db
from lms.forms import form_status, save
from lms.learning.access import is_enrolled_in_course
from lms.learning.policy import may_see_learning_record
from lms.markdown import render, sanitise
from lms.validation import ValidationError

bp = Blueprint("quizzes", __name__, template_folder="templates")


@bp.app_template_filter("gift_html")
def gift_html(text: str, text_format: str = "moodle") -> Markup:
    """GIFT text as safe HTML, per its format: Markdown rendered, plain text escaped, HTML
    sanitised (the Moodle format is HTML whose line breaks count)."""
    if text_format == "markdown":
        return Markup(render(text).html)  # noqa: S704  (sanitised by lms.markdown)
    if text_format == "plain":
        return escape(text).replace("\n", Markup("<br>"))
    html = text if text_format == "html" else text.replace("\n", "<br>")
    return Markup(sanitise(html))  # noqa: S704


@dataclass
class Item:
    """One question of an attempt as a page shows it."""

    position: int
    number: int | None  # None for a description
    question: dict[str, Any]
    response: Any
    mark: dict[str, Any] | None

    @property
    def outcome(self) -> str | None:
        """``right``, ``partial``, ``wrong``, ``pending`` (an essay), or None (unmarked)."""
        if self.mark is None:
            return None
        if self.mark["score"] is None:
            return "pending"
        if self.mark["score"] >= self.mark["max"]:
            return "right"
        return "partial" if self.mark["score"] > 0 else "wrong"

    def chosen(self, index: int) -> bool:
        """Whether the answer at ``index`` was picked (single or multiple choice)."""
        if isinstance(self.response, list):
            return index in self.response
        return self.response == index

    def matched(self, index: int) -> int | None:
        """The choice picked for the left item at ``index`` of a matching question."""
        return self.response.get(str(index)) if isinstance(self.response, dict) else None


def _items(attempt: QuizAttempt) -> list[Item]:
    items, number = [], 0
    for position, question in enumerate(attempt.questions):
        marked = question["kind"] != "description"
        number += marked
        items.append(
            Item(
                position=position,
                number=number if marked else None,
                question=question,
                response=attempt.responses.get(str(position)),
                mark=attempt.marks.get(str(position)),
            )
        )
    return items


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _attempt_or_404(attempt_id: int) -> QuizAttempt:
    attempt = service.get_attempt(attempt_id)
    if attempt is None:
        abort(404)
    return attempt


def _own_attempt(attempt_id: int) -> QuizAttempt:
    """The signed-in person's attempt; 403 for anyone else's."""
    attempt = _attempt_or_404(attempt_id)
    if attempt.user_id != current_user.id:
        abort(403)
    return attempt


# The quiz page --------------------------------------------------------------------------------


@bp.route("/quizzes/<int:quiz_id>")
@signed_in
def quiz(quiz_id: int) -> str:
    """A quiz's settings and the person's attempts, with Start or Continue; owners of the
    course and administrators also see the questions with their right answers."""
    found = service.get_quiz(quiz_id)
    if found is None:
        abort(404)
    preview = service.can_preview_quiz(current_user, found)
    is_open = service.quiz_is_open(found)
    if not is_open and not preview:
        abort(404)
    attempts = service.attempts_of(current_user.id, found.id)
    closed = [a for a in attempts if service.close_if_overdue(a)]
    if closed:
        db.session.commit()
        flash(_("The time ran out: your attempt was submitted with the answers saved."), "warning")
    current = next((a for a in attempts if a.in_progress), None)
    left = service.attempts_left(found, attempts)
    enrolled = is_open and is_enrolled_in_course(current_user.id, found.module.course_id)
    return render_template(
        "assessments/quiz_page.html",
        quiz=found,
        module=found.module,
        course=found.module.course,
        attempts=attempts,
        current=current,
        left=left,
        enrolled=enrolled,
        preview=preview,
        is_open=is_open,
        question_count=service.questions_per_attempt(found),
        content_lang=content_language(found.title),
    )


@bp.route("/quizzes/<int:quiz_id>/start", methods=["POST"])
@signed_in
def start(quiz_id: int) -> Response:
    """Start an attempt, or continue the one in progress."""
    found = service.get_quiz(quiz_id)
    if found is None or not service.quiz_is_open(found):
        abort(404)
    try:
        attempt = service.start_attempt(found.id, current_user.id)
    except ValidationError as error:
        db.session.rollback()
        for message in error.errors.values():
            flash(message, "error")
        return redirect(url_for("quizzes.quiz", quiz_id=quiz_id), 303)
    db.session.commit()
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id), 303)


# An attempt -----------------------------------------------------------------------------------


@bp.route("/attempts/<int:attempt_id>")
@signed_in
def attempt(attempt_id: int) -> str:
    """The answer form while in progress (read-only for anyone but its owner), the review
    once submitted."""
    found = _attempt_or_404(attempt_id)
    owner = found.user_id == current_user.id
    if not owner and not may_see_learning_record(current_user, found.user_id):
        abort(403)
    if service.close_if_overdue(found):
        db.session.commit()
        flash(_("The time ran out: your attempt was submitted with the answers saved."), "warning")
    quiz = found.quiz
    context = {
        "attempt": found,
        "quiz": quiz,
        "module": quiz.module,
        "course": quiz.module.course,
        "items": _items(found),
        "owner": owner,
        "content_lang": content_language(quiz.title),
    }
    if found.in_progress:
        return render_template(
            "assessments/attempt_form.html",
            seconds_left=service.seconds_left(found),
            **context,
        )
    return render_template(
        "assessments/attempt_review.html",
        can_grade=not owner
        and bool(service.essay_positions(found))
        and service.can_grade(current_user, found),
        **context,
    )


@bp.route("/attempts/<int:attempt_id>/save", methods=["POST"])
@signed_in
def save_attempt(attempt_id: int) -> Response | str:
    """Store the answers so far: an htmx request on every change gets the save status back,
    the Save button (without JavaScript) a redirect to the form."""
    found = _own_attempt(attempt_id)
    responses = responses_from_form(found.questions, request.form)
    try:
        saved = service.save_responses(found.id, current_user.id, responses)
    except ValidationError as error:
        db.session.rollback()
        message, ok = " ".join(error.errors.values()), False
    else:
        db.session.commit()
        message, ok = "", True
    if _is_htmx():
        return render_template(
            "assessments/attempt_save_status.html",
            attempt=found if not ok else saved,
            message=message,
            ok=ok,
        )
    if ok:
        flash(_("Your answers have been saved."), "success")
    else:
        flash(message, "error")
    return redirect(url_for("quizzes.attempt", attempt_id=found.id), 303)


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@signed_in
def submit_attempt(attempt_id: int) -> Response:
    """Submit once and mark; a second submit just shows the review."""
    found = _own_attempt(attempt_id)
    overdue = found.in_progress and service.is_overdue(found)
    # The answer form carries ``answers``: a bare submit button keeps what was saved.
    responses = (
        responses_from_form(found.questions, request.form) if "answers" in request.form else None
    )
    submitted = service.submit_attempt(found.id, current_user.id, responses)
    db.session.commit()
    if submitted and overdue:
        flash(
            _("The time limit had passed: only the answers saved before it were marked."),
            "warning",
        )
    elif submitted:
        flash(_("Your attempt has been submitted."), "success")
    return redirect(url_for("quizzes.attempt", attempt_id=found.id), 303)


@bp.route("/attempts/<int:attempt_id>/grade", methods=["GET", "POST"])
@roles(Role.ADMIN, Role.INSTRUCTOR)
def grade_attempt(attempt_id: int) -> str | Response | tuple[str, int]:
    """Mark the essays of a submitted attempt (or change their marks)."""
    found = _attempt_or_404(attempt_id)
    if not service.can_grade(current_user, found):
        abort(403)
    if found.in_progress:
        flash(_("This attempt has not been submitted yet."), "warning")
        return redirect(url_for("quizzes.attempt", attempt_id=found.id))
    positions = service.essay_positions(found)
    form = essay_grading_form(found, positions)
    if positions and form.validate_on_submit():
        saved, _result = save(
            form, lambda: service.grade_essays(found.id, current_user, form.grades())
        )
        if saved:
            flash(_("The marks have been saved."), "success")
            return redirect(url_for("quizzes.attempt", attempt_id=found.id), 303)
    quiz = found.quiz
    items = [item for item in _items(found) if item.position in positions]
    return render_template(
        "assessments/attempt_grade.html",
        attempt=found,
        quiz=quiz,
        module=quiz.module,
        course=quiz.module.course,
        items=items,
        form=form,
        content_lang=content_language(quiz.title),
    ), form_status(form)
