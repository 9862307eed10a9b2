"""The language switch."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[("zh_Hans_CN", "中文"), ("en", "English")])
    next = HiddenField()
