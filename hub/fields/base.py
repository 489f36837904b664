"""Constants, the base of every field type and the error messages people read (hub.fields)."""

from __future__ import annotations

import datetime as dt
import types
from abc import ABC, abstractmethod
from decimal import Decimal
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

MAX_INT = 2**31 - 1  # PostgreSQL `integer`


MAX_MONEY = Decimal("9999999999999999.99")  # what Numeric(18, 2) holds


MAX_EMAIL = 254  # RFC 5321's path limit less the angle brackets


# Dates Vouch stores and computes with: far enough either side for any real program, and far
# enough from year 1 and 9999 that adding a period or a zone offset never overflows.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2999, 12, 31)


REQUIRED = "This field is required."


Model = TypeVar("Model", bound=BaseModel)


SEVERAL = "One value, not several (give this field or query parameter once)."


def invalid(message: str) -> PydanticCustomError:
    """The error a field type raises; the message is shown as written (braces included)."""
    return PydanticCustomError("invalid", "{message}", {"message": message})


def _allows_none(source: Any) -> bool:
    return get_origin(source) in (Union, types.UnionType) and type(None) in get_args(source)


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


class FieldType(ABC):
    """A field type's rule, used as `Annotated[T, Rule(...)]` (or `Annotated[T | None, ...]` for
    an optional field, where None and blanks become None).

    Subclasses implement `check` (a given, non-blank value → the clean value, or raise
    `invalid(...)`), `schema` (its JSON Schema) and, when the clean value is not JSON as it is,
    `dump` (the clean value → its JSON form)."""

    blank_is_missing = True  # "" and whitespace count as not given (numbers say False)
    missing_message = REQUIRED
    empty: Any = None  # what a field that cannot be null holds when not given (lists: none)
    takes_many = False  # a list is this field's value (ListOf); any other field takes one value

    @abstractmethod
    def check(self, value: Any) -> Any:
        """A given, non-blank value → the clean value; raises `invalid(...)`."""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the clean value."""

    def dump(self, value: Any) -> Any:
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        nullable = _allows_none(source)

        def validate(value: Any) -> Any:
            if value is None or (self.blank_is_missing and _is_blank(value)):
                if nullable:
                    return None
                if self.empty is not None:
                    return self.empty
                raise invalid(self.missing_message)
            if isinstance(value, list | tuple) and not self.takes_many:
                # A JSON list where one value belongs, or a query parameter given twice
                # (`?from=…&from=…` arrives as a list): say so, not "Must be text.".
                raise invalid(SEVERAL)
            return self.check(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(self.dump, when_used="json-unless-none"),
            metadata={"vouch_nullable": nullable},
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        own = self.schema()
        if (schema.get("metadata") or {}).get("vouch_nullable"):
            return {"anyOf": [own, {"type": "null"}]}
        return own


_NATIVE_MESSAGES = {
    "missing": REQUIRED,
    "model_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "dict_type": "Must be an object.",
    "list_type": "Must be a list.",
    "tuple_type": "Must be a list.",
    "string_type": "Must be text.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
}


def _message(error: Any) -> str:
    if error["type"] == "invalid":
        return str(error["msg"])
    if error["type"] == "string_too_long":
        return f"At most {error['ctx']['max_length']:,} characters."
    return _NATIVE_MESSAGES.get(error["type"], str(error["msg"]))


def first_message(exc: ValidationError) -> str:
    """The first error's message, as people read it."""
    return _message(exc.errors(include_url=False)[0])


def field_errors(exc: ValidationError) -> dict[str, list[str] | str]:
    """pydantic's errors as the api.md `fields` object: {field: [message]}, the first error per
    field, nested fields by their dotted path ("quiz.questions")."""
    fields: dict[str, list[str] | str] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, [_message(error)])
    return fields
