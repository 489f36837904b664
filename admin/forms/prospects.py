"""Forms of the finding-advocates consoles (score import, declining a nomination): validation only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import TextAreaField

from challenges.prospects.nominations import DeclineBody
from hub.fields import Conforms


class ScoreImportForm(FlaskForm):
    file = FileField("Score CSV", validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file, please.")])


class DeclineForm(FlaskForm):
    reason = TextAreaField("Reason (the nominator sees it)", validators=[Conforms.of(DeclineBody, "reason")])
