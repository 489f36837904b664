"""Accounts console forms (rename, domain, merge, persona): validation only."""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from hub.contracts import PageQuery
from hub.fields import ROW_ID, Conforms, OneLine, OneOf
from hub.models import Persona


class AccountFilter(PageQuery):
    q: Annotated[str | None, OneLine(100)] = None
    coverage: Annotated[str | None, OneOf(("gap",))] = None


class AccountEditForm(FlaskForm):
    name = StringField("Name", validators=[Conforms(Annotated[str, OneLine(160)])])
    domain = StringField("Email domain", validators=[Conforms(Annotated[str | None, OneLine(253)], required=False)])


class MergeForm(FlaskForm):
    into_id = StringField("Merge into account (id)", validators=[Conforms(Annotated[int, ROW_ID])])


PERSONA_LABELS = {
    Persona.PUBLIC_CHAMPION.value: "Public champion",
    Persona.PRIVATE_REFERENCE.value: "Private reference",
    Persona.PRODUCT_INFLUENCER.value: "Product influencer",
    Persona.COMMUNITY_CONTRIBUTOR.value: "Community contributor",
    Persona.REVIEW_ADVOCATE.value: "Review advocate",
}


class PersonaForm(FlaskForm):
    persona = SelectField("Persona", choices={"": "— none —"} | PERSONA_LABELS, validators=[Optional()])
