"""Community forms: validation only, through the same field types as the API
(hub.community.contracts); the services re-check and sanitize."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from hub.community.contracts import HideReason, MarkdownBody, QuestionTitle
from hub.fields import Conforms


class QuestionForm(FlaskForm):
    title = StringField("Title", validators=[Conforms(QuestionTitle)])
    body = TextAreaField("Details (Markdown)", validators=[Conforms(MarkdownBody)])


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer (Markdown)", validators=[Conforms(MarkdownBody)])


class HideForm(FlaskForm):
    reason = StringField("Reason", validators=[Conforms(HideReason)])
