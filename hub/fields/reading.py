"""Reading input through the field types: models, single values and CSV rows, and the WTForms
validator `Conforms` (hub.fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from wtforms.validators import StopValidation

from hub.errors import ValidationFailed
from hub.fields.base import (
    MAX_EMAIL,
    REQUIRED,
    FieldType,
    Model,
    _is_blank,
    field_errors,
    first_message,
)
from hub.fields.numbers import WholeNumber, currencies
from hub.fields.text import (
    EmailAddress,
    OneLine,
)

# --- reading input -----------------------------------------------------------------------------


def read(model: type[Model], data: Any) -> Model:
    """`data` (a mapping: JSON body, form data, a CSV row) as a `model`; raises ValidationFailed
    with every field's error. Unknown keys are ignored."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None


def read_value(kind: Any, value: Any, name: str) -> Any:
    """One value as the field type `kind`; raises ValidationFailed on `name`."""
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as exc:
        raise ValidationFailed({name: first_message(exc)}) from None


def read_row(model: type[Model], row: Mapping[str, Any]) -> Model:
    """A CSV row as a `model`: each column through its field type, a blank cell being a column
    left out."""
    return read(model, {key: value for key, value in row.items() if not (value is None or _is_blank(value))})


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = TypeAdapter(kind)
    return adapter


def _rule(kind: Any) -> FieldType | None:
    return next((m for m in getattr(kind, "__metadata__", ()) if isinstance(m, FieldType)), None)


class Conforms:
    """A WTForms validator that reads the field through a field type, the same one the API's
    models use: the field's data becomes the clean value (stripped text, a normalized email, a
    Decimal, a date), or the field shows the type's message. `required=False` lets a blank
    through as `default` (None). `Conforms.of(Model, "name")` uses that model field's type, and
    whether it is required and its default. Sets the flags the widgets render (`required`,
    `maxlength`, `min`, `max`)."""

    def __init__(self, kind: Any, *, required: bool = True, default: Any = None) -> None:
        self.kind = kind
        self.required = required
        self.default = default
        rule = _rule(kind)
        flags: dict[str, Any] = {"required": True} if required else {}
        if isinstance(rule, OneLine):
            flags["maxlength"] = rule.max_length
        elif isinstance(rule, EmailAddress):
            flags["maxlength"] = MAX_EMAIL
        elif isinstance(rule, WholeNumber):
            flags |= {"min": rule.minimum, "max": rule.maximum}
        self.field_flags = flags

    @classmethod
    def of(cls, model: type[BaseModel], name: str, *, required: bool | None = None) -> Conforms:
        info = model.model_fields[name]
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        return cls(kind, required=info.is_required() if required is None else required, default=default)

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        blank = value is None or value == [] or _is_blank(value)
        if blank and not self.required:
            field.data = self.default
            field.errors[:] = []
            raise StopValidation()
        try:
            field.data = _adapter(self.kind).validate_python(value)
        except ValidationError as exc:
            field.errors[:] = []
            raise StopValidation(first_message(exc)) from None
        if field.data is None:  # a required field whose type would let a blank through as None
            raise StopValidation(REQUIRED)


def currency_choices() -> dict[str, str]:
    """The options of a currency select, code → "EUR — Euro" (`hub.fields.numbers.currencies`):
    every form that asks for a currency offers this list rather than a free three-letter box."""
    return {code: f"{code} — {name}" for code, name in currencies().items()}
