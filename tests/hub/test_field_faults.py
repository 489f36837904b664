"""Issue 12 items 1, 3, 5 and issue 13 item 1 at the field types (hub.fields): text that is not
text, IDNA domains, European money and grouped points, values past the end of their type. The
same types serve the API, the forms (`Conforms`) and CSV rows, so each rule is proved once here
and once through a real route in test_input_faults_api.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import pytest

from hub.errors import ValidationFailed
from hub.fields import (
    Amount,
    Date,
    DateTime,
    Email,
    MultiLine,
    OneLine,
    PersonName,
    WholeNumber,
    read_value,
)

Text = Annotated[str, OneLine(200)]
Notes = Annotated[str, MultiLine(2000)]
Points = Annotated[int, WholeNumber(-1_000_000, 1_000_000)]
Cash = Annotated[Decimal, Amount()]


def error_of(kind, value) -> str:
    with pytest.raises(ValidationFailed) as info:
        read_value(kind, value, "f")
    return info.value.fields["f"][0]


@pytest.mark.parametrize(
    "raw",
    ["\u200b\u200b\u200b", "\u202e\u202d", "\ufeff", "\u3164\u3164", "\u2800", "\u00ad", " \u200b \u2060 ", "\u0301"],
)
def test_a_name_that_shows_as_nothing_is_refused(raw):
    assert error_of(PersonName, raw) == "Must contain visible characters."


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (PersonName, "Eve\u0007"),
        (PersonName, "Eve\u001b[31m"),
        (Text, "tab\there"),
        (Notes, "bell\u0007 in notes"),
        (Notes, "escape \u001b"),
        (Notes, "delete \u007f"),
    ],
)
def test_control_characters_are_refused(kind, raw):
    assert "control characters" in error_of(kind, raw)


@pytest.mark.parametrize("raw", ["Line one.\nLine two.", "a\rb", "a\u2028b", "a\x0bb", "Eve\u0085"])
def test_one_line_text_is_one_line(raw):
    assert error_of(Text, raw) == "Must be on one line."


def test_multi_line_text_keeps_newlines_and_tabs_with_crlf_as_lf():
    assert read_value(Notes, "Line one.\r\n\tLine two.\rThree\u2028Four", "f") == (
        "Line one.\n\tLine two.\nThree\nFour"
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u200b Zoë Müller \u200b", "Zoë Müller"),
        ("\ufeffAda", "Ada"),
        ("محمد", "محمد"),
        ("李小龙", "李小龙"),
        ("👩\u200d💻", "👩\u200d💻"),  # a ZWJ sequence inside is text, not an invisible name
        ("O\u2019Brien", "O\u2019Brien"),
    ],
)
def test_real_names_pass_trimmed_of_invisible_ends(raw, clean):
    assert read_value(PersonName, raw, "f") == clean


def test_an_idna_domain_is_stored_ascii():
    assert read_value(Email, "Ana@Bücher.example", "f") == "ana@xn--bcher-kva.example"
    assert read_value(Email, "ana@xn--bcher-kva.example", "f") == "ana@xn--bcher-kva.example"


def test_a_non_ascii_local_part_is_kept_for_smtputf8():
    assert read_value(Email, "josé@example.org", "f") == "josé@example.org"


@pytest.mark.parametrize("raw", ["12500,50", "1,5", "1,2,3,4", "12,50.00", ",500", "1,0000", "1.000,50"])
def test_a_decimal_comma_is_refused_not_guessed(raw):
    assert error_of(Cash, raw).startswith("Use a point for decimals")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("12,500.50", Decimal("12500.50")),
        ("1,234,567", Decimal("1234567.00")),
        ("12500.5", Decimal("12500.50")),
        ("999", Decimal("999.00")),
        (12500.5, Decimal("12500.50")),
    ],
)
def test_real_thousands_groups_are_read(raw, clean):
    assert read_value(Cash, raw, "f") == clean


@pytest.mark.parametrize(("raw", "clean"), [("1,200", 1200), ("-1,200", -1200), ("1200", 1200), (" 12 ", 12)])
def test_points_typed_as_a_form_shows_them(raw, clean):
    assert read_value(Points, raw, "f") == clean


@pytest.mark.parametrize("raw", ["1,5", "12,00", "1.5", "1,2,3"])
def test_points_with_a_decimal_comma_are_refused(raw):
    assert error_of(Points, raw) == "Must be a whole number."


@pytest.mark.parametrize("raw", [2147483648, "2147483648", "99999999999", "9" * 30])
def test_integers_past_postgresql_integer_are_refused(raw):
    assert error_of(Annotated[int, WholeNumber(1)], raw) == "Must be between 1 and 2,147,483,647."


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (DateTime, "9999-12-31T23:59:59-12:00", "A time from 1900-01-01 to 2999-12-31 (UTC)."),
        (DateTime, "9999-12-31T23:59:59Z", "A time from 1900-01-01 to 2999-12-31 (UTC)."),
        (DateTime, "0001-01-01T00:00:00+01:00", "A time from 1900-01-01 to 2999-12-31 (UTC)."),
        (
            DateTime,
            dt.datetime(9999, 12, 31, tzinfo=dt.timezone(dt.timedelta(hours=-12))),
            "A time from 1900-01-01 to 2999-12-31 (UTC).",
        ),
        (Date, "9999-12-31", "A date from 1900-01-01 to 2999-12-31."),
        (Date, "0001-01-01", "A date from 1900-01-01 to 2999-12-31."),
    ],
)
def test_dates_past_what_vouch_computes_with_are_refused(kind, raw, message):
    assert error_of(kind, raw) == message


def test_dates_at_the_bounds_are_read():
    assert read_value(Date, "2999-12-31", "f") == dt.date(2999, 12, 31)
    assert read_value(DateTime, "2999-12-31T23:59:59Z", "f") == dt.datetime(2999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert read_value(Date, "1900-01-01", "f") == dt.date(1900, 1, 1)


@pytest.mark.parametrize("raw", ["12,500.50", "12500.50", "1,234,567", "0.5", "12500,50", "1,5", "1,2,3,4", "1,0000"])
def test_the_published_amount_pattern_says_what_the_field_accepts(raw):
    import re

    published = re.fullmatch(Amount.PATTERN, raw) is not None
    try:
        read_value(Cash, raw, "f")
        accepted = True
    except ValidationFailed:
        accepted = False
    assert published == accepted


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (Text, "Eve\u0007"),
        (Text, "a\nb"),
        (Text, "a\u2028b"),
        (Text, "Zoë"),
        (Text, "\u200b\u200b"),
        (Notes, "a\nb\tc"),
        (Notes, "a\r\nb"),
        (Notes, "bell\u0007"),
        (Notes, "\u0085"),
    ],
)
def test_the_published_text_pattern_never_admits_what_the_field_refuses(kind, raw):
    """openapi.json's pattern states the control-character rule; the visible-character rule is
    in the description (a regex cannot say it), so the pattern may admit more, never less."""
    import re

    rule = kind.__metadata__[0]
    try:
        read_value(kind, raw, "f")
        accepted = True
    except ValidationFailed:
        accepted = False
    if accepted:
        assert re.fullmatch(rule.PATTERN, raw)
    elif re.fullmatch(rule.PATTERN, raw):
        assert error_of(kind, raw) == "Must contain visible characters."
