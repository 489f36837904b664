"""The shared field types (hub.fields): each rule with its message, and the three places they are
used — a request model, a WTForms field (`Conforms`) and a CSV row (`read_row`) — agreeing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import pytest
from flask_wtf import FlaskForm
from pydantic import BaseModel
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.widgets import NumberInput

from hub.contracts import Body, PageQuery
from hub.errors import ValidationFailed
from hub.fields import (
    Amount,
    Conforms,
    Currency,
    Date,
    DateTime,
    Email,
    Flag,
    ListOf,
    Money,
    MultiLine,
    OneLine,
    OneOf,
    PersonName,
    WholeNumber,
    read,
    read_row,
    read_value,
)
from hub.models import Tier


def error_of(kind, value) -> str:
    with pytest.raises(ValidationFailed) as info:
        read_value(kind, value, "f")
    return info.value.fields["f"][0]


@pytest.mark.parametrize(
    ("kind", "raw", "clean"),
    [
        (PersonName, "  Ada Lovelace ", "Ada Lovelace"),
        (Annotated[str, MultiLine(50, strip=False)], "    code\n", "    code\n"),
        (Email, " Ada@Example.COM ", "ada@example.com"),
        (Annotated[Decimal, Amount()], "12,500.5", Decimal("12500.50")),
        (Annotated[Decimal, Amount()], 7, Decimal("7.00")),
        (Currency, " eur ", "EUR"),
        (Date, "2026-12-01", dt.date(2026, 12, 1)),
        (Date, "2026-12-01T09:00:00Z", dt.date(2026, 12, 1)),
        (DateTime, "2026-12-01T10:00:00+01:00", dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)),
        (DateTime, "2026-12-01 09:00", dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)),
        (Annotated[int, WholeNumber(1, 10)], " 7 ", 7),
        (Annotated[int, WholeNumber(-5, 5)], -5, -5),
        (Annotated[bool, Flag()], "Yes", True),
        (Annotated[bool, Flag()], "", False),
        (Annotated[Tier, OneOf(Tier)], "gold", Tier.GOLD),
        (Annotated[tuple[str, ...], ListOf(PersonName, max_items=3, split=",;")], "Ada; Grace,Ada", ("Ada", "Grace")),
        (Annotated[tuple[str, ...], ListOf(PersonName, max_items=3, split=",;")], "", ()),
        (Annotated[tuple[str, ...], ListOf(PersonName, max_items=3)], None, ()),
        (Annotated[tuple[str, ...] | None, ListOf(PersonName, max_items=3)], None, None),
        (Annotated[str | None, OneLine(10)], "   ", None),
        (Annotated[int | None, WholeNumber()], None, None),
    ],
)
def test_clean_values(kind, raw, clean):
    assert read_value(kind, raw, "f") == clean


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (PersonName, "", "This field is required."),
        (PersonName, "   ", "This field is required."),
        (PersonName, None, "This field is required."),
        (PersonName, "x" * 121, "At most 120 characters."),
        (PersonName, 5, "Must be text."),
        (PersonName, "a\x00b", "Text may not contain NUL characters."),
        (PersonName, "a\ud800", "Text may not contain unpaired surrogates."),
        (Annotated[str, OneLine(200, min_length=5)], "Hi", "Field must be between 5 and 200 characters."),
        (Annotated[str, OneLine(20, missing="Say why.")], " ", "Say why."),
        (Email, "not-an-email", "An email address must have an @-sign."),
        (Email, "a" * 250 + "@x.io", "At most 254 characters."),
        (Annotated[Decimal, Amount()], "abc", 'A decimal amount such as "12500.00".'),
        (Annotated[Decimal, Amount()], "-4", "Must be between 0 and 9,999,999,999,999,999.99."),
        (Annotated[Decimal, Amount()], "1.005", "At most 2 decimal places."),
        (Annotated[Decimal, Amount()], "NaN", "Must be a finite amount."),
        (Annotated[Decimal, Amount()], True, 'A decimal amount such as "12500.00".'),
        (Currency, "US", "A three-letter ISO 4217 code such as USD."),
        (Date, "2026-13-01", "A date like 2026-12-01."),
        (Date, "tomorrow", "A date like 2026-12-01."),
        (Date, ["2026-01-01", "2026-02-01"], "One value, not several (give this field or query parameter once)."),
        (PersonName, ["Ada"], "One value, not several (give this field or query parameter once)."),
        # Nothing after a date is cut off: only a whole, valid time may follow it.
        (Date, "2026-01-01garbage", "A date like 2026-12-01."),
        (Date, "2026-01-01 junk", "A date like 2026-12-01."),
        (Date, "2026-01-01T25:99", "A date like 2026-12-01."),
        (Date, "2026-03-31x", "A date like 2026-12-01."),
        # Other ISO 8601 forms fromisoformat takes, and other scripts' digits.
        (Date, "2026-W01-1", "A date like 2026-12-01."),
        (Date, "20260101", "A date like 2026-12-01."),
        (Date, "２０２６-０１-０１", "A date like 2026-12-01."),
        (DateTime, "noon", "An ISO 8601 date or time, e.g. 2026-12-01T09:00:00Z."),
        (Annotated[int, WholeNumber(1, 10)], 0, "Must be between 1 and 10."),
        (Annotated[int, WholeNumber(1, 10)], 1.0, "Must be a whole number."),
        (Annotated[int, WholeNumber(1, 10)], True, "Must be a whole number."),
        (Annotated[int, WholeNumber(1, 10)], "", "Must be a whole number."),
        (Annotated[int, WholeNumber(1, 10)], "1e3", "Must be a whole number."),
        (Annotated[int, WholeNumber(1, 10)], float("inf"), "Must be a finite whole number."),
        (Annotated[int, WholeNumber(1, 10, from_text=False)], "5", "Must be a whole number."),
        (Annotated[bool, Flag()], "maybe", "Must be true or false."),
        (Annotated[bool, Flag()], 1, "Must be true or false."),
        (Annotated[Tier, OneOf(Tier)], "platinum", "One of: bronze, silver, gold."),
        (Annotated[tuple[str, ...], ListOf(PersonName, max_items=2)], ["a", "b", "c"], "A list of at most 2 items."),
        (Annotated[tuple[str, ...], ListOf(PersonName, max_items=2)], [1], "Must be text."),
        (
            Annotated[tuple[str, ...], ListOf(PersonName, max_items=2, message="Names, please.")],
            "a,b",
            "Names, please.",
        ),
    ],
)
def test_refusals_say_why(kind, raw, message):
    assert error_of(kind, raw) == message


class Sample(Body):
    name: PersonName
    points: Annotated[int, WholeNumber(1, 100)]
    note: Annotated[str | None, OneLine(10)] = None


def test_a_model_reports_every_field_once_and_ignores_unknown_keys():
    with pytest.raises(ValidationFailed) as info:
        read(Sample, {"points": "x", "note": "y" * 11, "is_admin": True})
    assert info.value.fields == {
        "name": ["This field is required."],
        "points": ["Must be a whole number."],
        "note": ["At most 10 characters."],
    }
    assert read(Sample, {"name": "Ada", "points": 3, "is_admin": True}).model_dump() == {
        "name": "Ada",
        "points": 3,
        "note": None,
    }


def test_a_query_string_treats_blanks_as_absent_and_reads_the_first_value():
    args = read(PageQuery, MultiDict([("page", "3"), ("page", "9"), ("per_page", "")]))
    assert (args.page, args.per_page, args.offset) == (3, 50, 100)
    with pytest.raises(ValidationFailed) as info:
        read(PageQuery, {"per_page": "201"})
    assert info.value.fields == {"per_page": ["Must be between 1 and 200."]}


def test_replies_write_money_dates_and_times_as_the_api_does():
    class Out(BaseModel):
        amount: Annotated[Decimal, Amount()]
        day: Date
        at: DateTime

    out = Out(amount=Decimal("5"), day=dt.date(2026, 1, 2), at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    assert out.model_dump_json() == '{"amount":"5.00","day":"2026-01-02","at":"2026-01-02T03:04:05.000006Z"}'


def test_money_is_an_amount_with_its_currency():
    assert read(Money, {"amount": "10", "currency": "chf"}) == Money(amount=Decimal("10.00"), currency="CHF")


def test_the_published_schema_of_each_type():
    class Shape(BaseModel):
        name: PersonName
        note: Annotated[str | None, OneLine(10)] = None
        points: Annotated[int, WholeNumber(1, 100)]
        tier: Annotated[Tier, OneOf(Tier)]
        email: Email
        amount: Annotated[Decimal, Amount()]
        tags: Annotated[tuple[str, ...], ListOf(Annotated[str, OneLine(5)], max_items=3)] = ()

    props = Shape.model_json_schema()["properties"]
    text = {"pattern": OneLine.PATTERN, "description": OneLine.RULE}
    assert props["name"] == {"type": "string", "maxLength": 120, "title": "Name"} | text
    assert props["note"]["anyOf"] == [{"type": "string", "maxLength": 10} | text, {"type": "null"}]
    assert (props["points"]["minimum"], props["points"]["maximum"]) == (1, 100)
    assert props["tier"]["enum"] == ["bronze", "silver", "gold"]
    assert props["email"]["format"] == "email"
    assert props["amount"]["pattern"] == Amount.PATTERN
    assert props["tags"]["items"] == {"type": "string", "maxLength": 5} | text and props["tags"]["maxItems"] == 3


def test_a_csv_row_reads_through_the_same_model_with_blank_cells_left_out():
    class Row(Body):
        name: PersonName
        region: Annotated[str | None, OneLine(80)] = None
        size: Annotated[int, WholeNumber(1, 9)] = 1
        groups: Annotated[tuple[str, ...], ListOf(Annotated[str, OneLine(80)], max_items=5, split=",;")] = ()

    row = read_row(Row, {"name": " Ada ", "region": "", "size": "  ", "groups": "EMEA;Beta"})
    assert (row.name, row.region, row.size, row.groups) == ("Ada", None, 1, ("EMEA", "Beta"))
    with pytest.raises(ValidationFailed) as info:
        read_row(Row, {"name": "Ada", "size": "ten"})
    assert info.value.fields == {"size": ["Must be a whole number."]}


class SampleForm(FlaskForm):
    name = StringField("Name", validators=[Conforms.of(Sample, "name")])
    points = StringField("Points", widget=NumberInput(), validators=[Conforms.of(Sample, "points")])
    note = StringField("Note", validators=[Conforms.of(Sample, "note")])


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "points": "0", "note": "x" * 11},
        {"name": "x" * 121, "points": "1.5", "note": ""},
        {"name": "Ada", "points": "abc", "note": " ok "},
    ],
)
def test_a_form_and_the_api_give_the_same_verdict(app, data):
    with app.test_request_context(method="POST", data=data):
        form = SampleForm(meta={"csrf": False})
        assert not form.validate()
        form_errors = {name: errors for name, errors in form.errors.items()}
    with pytest.raises(ValidationFailed) as info:
        read(Sample, data)
    assert form_errors == info.value.fields


def test_a_valid_form_holds_the_clean_values_and_renders_the_types_limits(app):
    with app.test_request_context(method="POST", data={"name": " Ada ", "points": " 7 ", "note": "  "}):
        form = SampleForm(meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.name.data, form.points.data, form.note.data) == ("Ada", 7, None)
        rendered = form.name() + form.points() + form.note()
    assert 'maxlength="120"' in rendered and 'max="100"' in rendered and 'min="1"' in rendered
    assert rendered.count("required") == 2  # name and points; the note may be left out
