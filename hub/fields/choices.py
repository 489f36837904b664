"""Flags, choices from an enum and lists of a field type (hub.fields)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import Enum
from functools import cached_property
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hub.fields.base import (
    FieldType,
    first_message,
    invalid,
)


class Flag(FieldType):
    """True or false: a JSON boolean, or true/false, yes/no, on/off, 1/0 as text (a blank is
    false, as an unticked box)."""

    blank_is_missing = False
    TRUE = frozenset({"true", "1", "on", "yes", "y", "t"})
    FALSE = frozenset({"false", "0", "off", "no", "n", "f", ""})

    def check(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in self.TRUE | self.FALSE:
            return value.strip().lower() in self.TRUE
        raise invalid("Must be true or false.")

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class OneOf(FieldType):
    """One of a set of values: an Enum (the member is returned), a registry's keys or a list,
    read when validating so a registry filled at start-up is current."""

    def __init__(self, choices: type[Enum] | Mapping[str, Any] | Iterable[str]) -> None:
        self.choices = choices

    @property
    def options(self) -> list[str]:
        if isinstance(self.choices, type) and issubclass(self.choices, Enum):
            return [str(member.value) for member in self.choices]
        return [str(option) for option in self.choices]

    def check(self, value: Any) -> Any:
        options = self.options
        if not isinstance(value, str) or value not in options:
            raise invalid(f"One of: {', '.join(options)}.")
        if isinstance(self.choices, type) and issubclass(self.choices, Enum):
            return self.choices(value)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.options}


class ListOf(FieldType):
    """A list of items of one field type, at most `max_items`, duplicates dropped (first kept)
    unless `unique=False` (where positions matter, as a quiz's options).
    With `split` a text is read as a list too ("EMEA; Beta" → ["EMEA", "Beta"]), as CSV cells
    and comma-separated form fields send lists. A bad item is reported on the list itself, with
    `message` when given, else the item's own error. Left out, null or blank, a list that
    cannot be null is empty."""

    empty: Any = ()
    takes_many = True

    def __init__(
        self,
        item: Any,
        *,
        max_items: int,
        message: str | None = None,
        split: str | None = None,
        unique: bool = True,
    ) -> None:
        self.item = item
        self.max_items = max_items
        self.message = message
        self.split = split
        self.unique = unique

    @cached_property
    def _item(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.item)

    def check(self, value: Any) -> tuple[Any, ...]:
        if isinstance(value, str) and self.split:
            value = [part.strip() for part in re.split(f"[{re.escape(self.split)}]", value) if part.strip()]
        if not isinstance(value, list | tuple) or len(value) > self.max_items:
            raise invalid(self.message or f"A list of at most {self.max_items} items.")
        clean: list[Any] = []
        for item in value:
            try:
                checked = self._item.validate_python(item)
            except ValidationError as exc:
                raise invalid(self.message or first_message(exc)) from None
            if not self.unique or checked not in clean:
                clean.append(checked)
        return tuple(clean)

    def dump(self, value: Iterable[Any]) -> list[Any]:
        return [self._item.dump_python(item, mode="json") for item in value]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self._item.json_schema(), "maxItems": self.max_items}
