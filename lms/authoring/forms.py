"""Forms of the authoring pages.

Field names match the keys of the services' ``ValidationError`` so ``apply_errors`` puts
each message on its field. The forms check what a browser could get wrong by itself; the
rules of the course format (codes, hours, known partners...) are the services' business.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.authoring import services
from lms.catalog.models import Course
from lms.catalog.models.course import Level, Track
from lms.orgs.forms import optional_id
from lms.orgs.models import Organisation


def _ids(values: Any) -> list[int]:
    """The ids chosen in a multiple select; anything that is not an id is dropped."""
    ids = []
    for value in values or []:
        try:
            number = optional_id(value)
        except ValueError:
            continue
        if number is not None:
            ids.append(number)
    return ids


class FiniteDecimalField(DecimalField):
    """A decimal number; ``NaN`` and ``Infinity`` are refused (they break comparisons)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


class CourseForm(FlaskForm):
    """Create or edit a course (the code only when creating)."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=32)],
        description=_l(
            "Capital letters, digits and dashes, e.g. PRE-DEV-101; cannot change later."
        ),
    )
    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    summary = TextAreaField(_l("Summary (Chinese)"), validators=[Length(max=4000)])
    summary_en = TextAreaField(_l("Summary (English)"), validators=[Length(max=4000)])
    track = SelectField(_l("Track"), validators=[DataRequired()], validate_choice=False)
    level = SelectField(_l("Level"), validators=[DataRequired()], validate_choice=False)
    ce_hours = FiniteDecimalField(
        _l("CE hours"),
        places=1,
        validators=[Optional(), NumberRange(min=0, max=200)],
        description=_l("Continuing-education hours, from 0 to 200, in halves."),
        render_kw={"step": "0.5", "min": "0", "max": "200", "inputmode": "decimal"},
    )
    partner = SelectField(_l("University partner"), validate_choice=False, choices=[])
    prerequisites = SelectMultipleField(
        _l("Prerequisites"),
        coerce=str,
        validate_choice=False,
        choices=[],
        description=_l("Courses to complete first (hold Ctrl or ⌘ to choose several)."),
    )

    def fill_choices(
        self, partners: Iterable[Organisation], courses: Iterable[Course], locale: str
    ) -> None:
        self.track.choices = [("", _("Choose a track")), *((t.value, t.label) for t in Track)]
        self.level.choices = [("", _("Choose a level")), *((v.value, v.label) for v in Level)]
        self.partner.choices = [
            ("", _("No partner")),
            *((o.code, f"{o.code} · {o.display_name(locale)}") for o in partners),
        ]
        self.prerequisites.choices = [
            (str(c.id), f"{c.code} · {c.display_title(locale)}") for c in courses
        ]

    def data_for_service(self) -> services.CourseData:
        code = self._fields.get("code")
        return services.CourseData(
            code=(code.data or "") if code is not None else "",
            title=self.title.data or "",
            title_en=self.title_en.data or "",
            summary=self.summary.data or "",
            summary_en=self.summary_en.data or "",
            track=self.track.data or "",
            level=self.level.data or "",
            ce_hours=self.ce_hours.data,
            partner_code=self.partner.data or None,
            prerequisite_ids=_ids(self.prerequisites.data),
        )


class TitleForm(FlaskForm):
    """Add a module or lesson (with an optional file name), or rename one."""

    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    key = StringField(
        _l("File name"),
        validators=[Length(max=64)],
        description=_l(
            "Lower-case letters, digits and dashes; made from the English title if empty."
        ),
    )

    def values(self) -> tuple[str, str, str]:
        """(title, title_en, key) for the services."""
        return self.title.data or "", self.title_en.data or "", self.key.data or ""


class MoveForm(FlaskForm):
    direction = SelectField(choices=[("up", "up"), ("down", "down")])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class OwnerForm(FlaskForm):
    user_id = SelectField(_l("Instructor"), coerce=optional_id, validate_choice=False, choices=[])


class LessonForm(FlaskForm):
    """The lesson editor."""

    title = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    minutes = IntegerField(
        _l("Minutes"),
        validators=[
            InputRequired(),
            NumberRange(min=services.MIN_MINUTES, max=services.MAX_MINUTES),
        ],
        default=10,
        description=_l("Expected reading time."),
        render_kw={
            "min": services.MIN_MINUTES,
            "max": services.MAX_MINUTES,
            "inputmode": "numeric",
        },
    )
    objectives = TextAreaField(
        _l("Objectives"),
        description=_l("What the trainee can do afterwards, one per line."),
        render_kw={"rows": 3},
    )
    markdown = TextAreaField(
        _l("Lesson text (Markdown)"), render_kw={"rows": 24, "spellcheck": "false"}
    )
    base_version = HiddenField()
    save_draft = SubmitField(_l("Save draft"))
    save_publish = SubmitField(_l("Save and publish"))

    def base_number(self) -> int | None:
        try:
            return optional_id(self.base_version.data)
        except ValueError:
            return None

    def set_base(self, number: int | None) -> None:
        value = "" if number is None else str(number)
        self.base_version.data = value
        self.base_version.raw_data = [value]

    def data_for_service(self) -> services.LessonInput:
        return services.LessonInput(
            title=self.title.data or "",
            title_en=self.title_en.data or "",
            minutes=self.minutes.data,
            objectives=self.objectives.data or "",
            markdown=self.markdown.data or "",
        )


class RestoreForm(FlaskForm):
    publish = BooleanField(_l("Publish it too"))


class CompareForm(FlaskForm):
    """Which version to compare with (a GET form)."""

    class Meta:
        csrf = False

    against = SelectField(_l("Compare with version"), coerce=optional_id, validate_choice=False)


class ImageForm(FlaskForm):
    file = FileField(
        _l("Image"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileSize(
                max_size=services.MAX_IMAGE_BYTES,
                message=_l(
                    "The image is larger than %(n)d MB.", n=services.MAX_IMAGE_BYTES // 2**20
                ),
            ),
        ],
        description=_l("PNG, JPEG, GIF, WebP or SVG, at most 2 MB."),
        render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp,image/svg+xml"},
    )
