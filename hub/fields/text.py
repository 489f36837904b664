"""Text fields: one-line and multi-line text, names, ids-or-names and email addresses
(hub.fields; issue 12 items 1 and 3)."""

from __future__ import annotations

import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from hub.fields.base import (
    MAX_EMAIL,
    MAX_INT,
    REQUIRED,
    FieldType,
    invalid,
)

_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# Letters that render as blank space (Hangul fillers, the braille blank, Khmer inherent vowels):
# Unicode counts them as letters or symbols, readers see nothing.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def is_visible(char: str) -> bool:
    """Whether `char` shows as something: a letter, digit, punctuation or symbol (not a format,
    direction-override, combining, space or control character, nor a blank-looking letter)."""
    return unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_LOOKING


def _trim(text: str) -> str:
    """`text` without whitespace and invisible characters (zero-width spaces, BOMs, direction
    marks) at either end."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or unicodedata.category(text[start]) in ("Cf", "Zs")):
        start += 1
    while end > start and (text[end - 1].isspace() or unicodedata.category(text[end - 1]) in ("Cf", "Zs")):
        end -= 1
    return text[start:end]


def _text(value: Any, *, multiline: bool = False) -> str:
    """A string checked for what no field may hold: NUL and other control characters (newline
    and tab only when `multiline`; CRLF and CR become LF there) and unpaired surrogates."""
    if not isinstance(value, str):
        raise invalid("Must be text.")
    if "\x00" in value:
        raise invalid("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("Text may not contain unpaired surrogates.") from None
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    for char in value:
        if multiline and char in "\n\t":
            continue
        if char in _LINE_BREAKS:
            raise invalid("Must be on one line.")
        if unicodedata.category(char) == "Cc":
            raise invalid(f"Text may not contain control characters (U+{ord(char):04X}).")
    return value


class OneLine(FieldType):
    """Text on one line (a title, a company, a name), stripped, of `min_length` to `max_length`
    characters. `missing` words the error for a blank (e.g. "Say why." for a reason)."""

    def __init__(self, max_length: int, *, min_length: int = 1, missing: str = REQUIRED) -> None:
        self.max_length = max_length
        self.min_length = min_length
        self.missing_message = missing

    def check(self, value: Any) -> str:
        text = self._within_limits(_trim(_text(value)))
        if not any(is_visible(char) for char in text):
            raise invalid("Must contain visible characters.")
        return text

    def _within_limits(self, text: str) -> str:
        if self.min_length > 1 and not self.min_length <= len(text) <= self.max_length:
            raise invalid(f"Field must be between {self.min_length:,} and {self.max_length:,} characters.")
        if len(text) > self.max_length:
            raise invalid(f"At most {self.max_length:,} characters.")
        return text

    # What openapi.json states of the text rules (a JSON Schema regex, ECMA and Python alike).
    PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
    RULE = "One line of text: no control characters or line breaks, and at least one visible character."

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length, "pattern": self.PATTERN}
        if self.min_length > 1:
            schema["minLength"] = self.min_length
        return schema | {"description": self.RULE}


class MultiLine(OneLine):
    """Text of several lines (Markdown, notes, evidence): stripped at both ends unless
    `strip=False` (where leading spaces carry meaning, e.g. Markdown's indented code)."""

    PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    RULE = "Text: no control characters but newlines and tabs, and at least one visible character."

    def __init__(self, max_length: int, *, min_length: int = 1, strip: bool = True, missing: str = REQUIRED) -> None:
        super().__init__(max_length, min_length=min_length, missing=missing)
        self.strip = strip

    def check(self, value: Any) -> str:
        text = _text(value, multiline=True)
        counted = self._within_limits(_trim(text))
        if not any(is_visible(char) for char in counted):
            raise invalid("Must contain visible characters.")
        return counted if self.strip else text


class NameOrId(OneLine):
    """A row named by its name or its id (`?group=EMEA` or `?group=7`): one-line text, where a
    text of digits is an id and so within PostgreSQL's `integer`."""

    def check(self, value: Any) -> str:
        text = super().check(value)
        if text.isascii() and text.isdigit() and int(text) > MAX_INT:
            raise invalid(f"An id is at most {MAX_INT:,}; or give the name.")
        return text

    def schema(self) -> dict[str, Any]:
        return super().schema() | {"description": f"A name, or an id from 1 to {MAX_INT}. {self.RULE}"}


class EmailAddress(FieldType):
    """A syntactically valid email address (no DNS lookups), normalized and lower-cased, its
    domain IDNA-encoded (`ana@bücher.example` → `ana@xn--bcher-kva.example`: the form SMTP sends
    and one spelling per address). A non-ASCII local part is kept; sending it needs a server
    offering SMTPUTF8 (hub.email.sending)."""

    def check(self, value: Any) -> str:
        text = _trim(_text(value))
        if len(text) > MAX_EMAIL:
            raise invalid(f"At most {MAX_EMAIL} characters.")
        try:
            checked = validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            raise invalid(str(exc)) from None
        address = f"{checked.local_part}@{checked.ascii_domain}".lower()
        if len(address) > MAX_EMAIL:
            raise invalid(f"At most {MAX_EMAIL} characters.")
        return address

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": MAX_EMAIL}
