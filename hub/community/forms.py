"""Community forms: validation only (the services re-check and sanitize)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from hub.community.models import BODY_MAX, REASON_MAX, TITLE_MAX
from hub.community.services import TITLE_MIN


class QuestionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(min=TITLE_MIN, max=TITLE_MAX)])
    body = TextAreaField("Details (Markdown)", validators=[DataRequired(), Length(max=BODY_MAX)])


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer (Markdown)", validators=[DataRequired(), Length(max=BODY_MAX)])


class HideForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(min=3, max=REASON_MAX)])
