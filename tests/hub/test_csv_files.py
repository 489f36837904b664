"""The shared CSV reader (hub.csv_files): encodings, physical line numbers, header and delimiter
errors, limits — each failing input of issue 12 item 4 and issue 13 item 2 with its right value."""

from __future__ import annotations

import pytest

from hub.csv_files import MAX_CELL_CHARS, problems_json, read_csv
from hub.errors import ValidationFailed

REQUIRED = ("name", "email")


def refusal(raw: bytes | str, **kw) -> str:
    with pytest.raises(ValidationFailed) as err:
        read_csv(raw, required=REQUIRED, **kw)
    return err.value.fields["file"][0]


def lines(raw: bytes | str, **kw) -> list[tuple[int, dict[str, str], str | None]]:
    return [(row.line, row.cells, row.problem) for row in read_csv(raw, required=REQUIRED, **kw).rows]


def test_a_windows_1252_file_is_refused_with_the_save_as_csv_utf8_advice():
    raw = "name,email,company\r\nZoë Müller,zoe@example.net,Société Générale\r\n".encode("cp1252")
    message = refusal(raw)
    assert "Line 2 is not UTF-8" in message and "0xEB" in message
    assert "CSV UTF-8" in message


def test_utf8_with_and_without_a_byte_order_mark_read_the_same():
    text = "name,email,company\r\nZoë Müller,zoe@example.net,Société Générale\r\n"
    plain = lines(text.encode())
    with_bom = lines(b"\xef\xbb\xbf" + text.encode())
    expected = {"name": "Zoë Müller", "email": "zoe@example.net", "company": "Société Générale"}
    assert plain == with_bom == [(2, expected, None)]


def test_utf16_unicode_text_is_refused():
    raw = "name,email\r\nAda,ada@example.com\r\n".encode("utf-16")
    assert "UTF-16" in refusal(raw) and "CSV UTF-8" in refusal(raw)


def test_a_record_after_a_blank_line_keeps_its_physical_line_number():
    raw = b"name,email,company\r\nGood One,good.one@example.net,Acme\r\n\r\nBad Two,not-an-email,Acme\r\n"
    assert [line for line, _, _ in lines(raw)] == [2, 4]


def test_multi_line_quoted_cells_count_every_line_and_records_start_where_they_start():
    raw = (
        b'name,email,company\n"Ada\nLovelace",ada@example.com,"Analytical\n\nEngines"\n'
        b"Grace,grace@example.com,Navy\n\n\nLast,last@example.com,x"
    )
    assert [(line, cells["name"]) for line, cells, _ in lines(raw)] == [(2, "Ada\nLovelace"), (6, "Grace"), (9, "Last")]


def test_old_mac_line_endings_are_lines_too():
    assert [line for line, _, _ in lines(b"name,email\rA,a@example.com\r\rB,b@example.com\r")] == [2, 4]


def test_a_nul_byte_refuses_the_file_naming_its_line():
    message = refusal(b"name,email\nAda,ada@example.com\nBad\x00Name,b@example.com\n")
    assert "Line 3 contains a NUL byte" in message


def test_a_cell_longer_than_the_csv_modules_limit_is_a_problem_of_its_row_only():
    long_name = "x" * (MAX_CELL_CHARS + 1)
    raw = f"name,email\n{long_name},a@example.com\nGrace,grace@example.com\n".encode()
    rows = lines(raw)
    assert [line for line, _, _ in rows] == [2, 3]
    assert rows[0][2] == f"name: a cell longer than {MAX_CELL_CHARS:,} characters."
    assert rows[1][2] is None


def test_a_cell_of_exactly_the_limit_is_read():
    name = "y" * MAX_CELL_CHARS
    assert lines(f"name,email\n{name},a@example.com\n".encode())[0][2] is None


def test_the_file_size_limit():
    assert refusal(b"name,email\n" + b"a,b@example.com\n" * 10, max_bytes=50) == ("The file is larger than 50 bytes.")


def test_the_record_limit():
    raw = b"name,email\n" + b"a,b@example.com\n" * 4
    assert "more than 3 records" in refusal(raw, max_rows=3)
    assert len(lines(raw, max_rows=4)) == 4


def test_a_missing_required_column_names_what_is_missing():
    assert refusal(b"who,email\nAda,ada@example.com\n").startswith("Missing columns: name.")


def test_a_column_named_twice_is_refused():
    assert refusal(b"name,email,Email\nAda,a@example.com,b@example.com\n") == (
        'Line 1 (the header) names the column "email" twice.'
    )


def test_an_empty_file_is_refused():
    assert refusal(b"") == "The file is empty: the first line must be the header."
    assert refusal(b"\n\n") == "The file is empty: the first line must be the header."


def test_semicolon_separated_files_that_name_the_columns_are_read():
    raw = "name;email;company\r\nZoë Müller;zoe@example.net;Société Générale, SA\r\n".encode()
    assert lines(raw, known=("name", "email", "company")) == [
        (2, {"name": "Zoë Müller", "email": "zoe@example.net", "company": "Société Générale, SA"}, None)
    ]


def test_a_semicolon_file_without_the_columns_says_how_it_is_separated():
    message = refusal(b"nom;courriel\nAda;ada@example.com\n")
    assert "Missing columns: name, email." in message and "separated by semicolons" in message


def test_more_cells_than_the_header_is_a_row_problem():
    rows = lines(b"name,email\nMuller, Zoe,zoe@example.net\nAda,ada@example.com,\n")
    assert rows[0][0] == 2 and "3 cells where the header names 2 columns" in rows[0][2]
    assert rows[1][2] is None  # a trailing empty cell is harmless


def test_a_replacement_character_already_in_the_file_is_never_passed_on():
    rows = lines("name,email\nZo\ufffd M\ufffdller,zoe@example.net\n".encode())
    assert "replacement character" in rows[0][2]


def test_unknown_columns_are_left_out_and_header_names_are_trimmed_and_lower_cased():
    rows = lines(b" Name , EMAIL ,shoe size\nAda,ada@example.com,42\n", known=("name", "email"))
    assert rows == [(2, {"name": "Ada", "email": "ada@example.com"}, None)]


def test_problems_have_one_json_shape():
    assert problems_json([[4, "email: Enter a valid email."]]) == [{"line": 4, "reason": "email: Enter a valid email."}]
