"""Issues 12 (items 1, 5) and 13 (item 1) in CSV columns: a CSV row is read through the same field
types as the API (`read_row`), so a bad cell is that row's error with the field's message — the
other rows import."""

from __future__ import annotations

import pytest

from challenges.crm.opportunities import parse_opportunity
from hub import imports
from hub.errors import ValidationFailed
from hub.extensions import db

ROW = {
    "external_id": "opp-1",
    "name": "Deal",
    "account": "Acme",
    "amount": "100.00",
    "currency": "USD",
    "stage": "Won",
    "created_date": "2026-01-05",
}


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        ({"is_closed": "true", "close_date": "9999-12-31"}, "close_date", "A date from 1900-01-01 to 2999-12-31."),
        ({"amount": "12500,50"}, "amount", "Use a point for decimals"),
        ({"amount": "1,2,3,4"}, "amount", "Use a point for decimals"),
        ({"referral_id": "2147483648"}, "referral_id", "Must be between 1 and 2,147,483,647."),
        ({"account": "\u200b"}, "account", "Must contain visible characters."),
        ({"name": "Deal\u0007"}, "name", "Text may not contain control characters (U+0007)."),
    ],
)
def test_a_crm_cell_past_its_type_is_that_rows_error(ctx, cells, field, message):
    with pytest.raises(ValidationFailed) as refused:
        parse_opportunity(ROW | cells)
    assert refused.value.fields[field][0].startswith(message)


def test_a_grouped_crm_amount_keeps_its_value(ctx):
    assert str(parse_opportunity(ROW | {"amount": "12,500.50"}).amount) == "12500.50"


def test_an_advocate_import_reports_the_invisible_and_the_control_character_rows_and_imports_the_rest(ctx, make, jobs):
    owner = make.user("owner")
    text = "name,email\nGood One,good.one@example.net\n\u200b\u200b,zw@example.net\nEve\u0007,eve@example.net\n"
    import_id = imports.start_import("a.csv", text.encode(), owner.id).id
    db.session.commit()
    jobs.join()
    result = db.session.get(imports.AdvocateImport, import_id)
    assert result.invited_count == 1
    assert [(line, problem) for line, problem in result.errors] == [
        (3, "name: Must contain visible characters."),
        (4, "name: Text may not contain control characters (U+0007)."),
    ]
