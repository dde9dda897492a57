"""One route for parameters: every section is a frozen pydantic model.

A parameter section (``finetune``, ``stages.A``, ``unlearn``, ``theory``, ...) is
validated by one :class:`Section` subclass: unknown keys are rejected
(``extra="forbid"``), choices are ``Literal`` types and ranges are declared on
the fields (``Field(ge=..., gt=..., le=...)``). Kedro 1.7 hands a node whose
``params:<section>`` input has such a type hint the validated model; the
experiment plan (``plan.py``) builds the same models first, so a bad value fails
before any model is built, as a one-line :class:`~path_unlearning.errors.ConfigError`
that names the dotted key, the bad value and what is allowed (:func:`build`).

Numbers keep the type they were given: ``epochs: 1`` stays the integer ``1`` on a
``float`` field (:data:`Real`), as the dataclasses before these models kept it, so
config reprs, and the training fingerprints hashed from them, do not change.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from path_unlearning.errors import ConfigError, quoted

S = TypeVar("S", bound="Section")


def _plain_number(value: Any) -> Any:
    """Reject what only lax parsing would take for a number: booleans and strings."""
    if isinstance(value, bool) or isinstance(value, str | bytes):
        raise PydanticCustomError("not_a_number", "not a number")
    return value


def _integral(value: Any) -> Any:
    value = _plain_number(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)  # YAML may give 60.0 for an integer
    return value


def _keep_int(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Validate as a float (finite, in range) but return an integer input unchanged."""
    result = handler(_plain_number(value))
    return value if isinstance(value, int) else result


#: A float field that keeps integer inputs as given (``1`` stays ``1``).
Real = Annotated[float, WrapValidator(_keep_int)]
#: An integer field; ``40.0`` is read as ``40``, ``True``, ``"4"`` and ``1.5`` are rejected.
Count = Annotated[int, BeforeValidator(_integral)]
#: accelerate's mixed-precision modes.
Precision = Literal["no", "fp16", "bf16"]


class Section(BaseModel):
    """A parameter section: frozen, unknown keys rejected, finite numbers only.

    Build one from parameters with :func:`build` (one-line ``ConfigError``);
    direct construction (``TrainConfig(lr=0)``) raises pydantic's ``ValidationError``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    # The keys as given, in their order (YAML's), so :func:`plain` gives the mapping back.
    _given_order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: ModelWrapValidatorHandler[Section]) -> Section:
        model = handler(data)
        if isinstance(data, Mapping):
            model._given_order = tuple(k for k in data if k in cls.model_fields)
        return model

    def __eq__(self, other: object) -> bool:
        # Field values only: the order the keys were given in is not part of the value.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __str__(self) -> str:
        # The dataclass text (``TrainConfig(lr=0.001, ...)``): fingerprints hash str(config).
        return repr(self)


# --- one-line errors -----------------------------------------------------------------


def _section_type(annotation: Any) -> type[Section] | None:
    """The Section class of a field (``X``, ``X | None``), if it is one."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _section_type(arg)
            if found is not None:
                return found
    return None


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` field (also inside ``Optional``/``Annotated``)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        return tuple(v for arg in get_args(annotation) for v in _choices(arg))
    return ()


def _kind(annotation: Any) -> str | None:
    """``an integer`` or ``a number`` for numeric fields, else None."""
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    for arg in get_args(annotation):
        if arg is int:
            return "an integer"
        if arg is float:
            return "a number"
        if get_origin(arg) in (Annotated, Union, types.UnionType):
            found = _kind(arg)
            if found:
                return found
    return None


def _optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def describe(model: type[Section], name: str) -> str:
    """What a field allows, in words: ``an integer >= 1``, ``a number > 0 and <= 1``."""
    info = model.model_fields[name]
    choices = _choices(info.annotation)
    if choices:
        return "one of " + ", ".join(str(c) for c in choices)
    parts = []
    for item in info.metadata:
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            bound = getattr(item, attr, None)
            if isinstance(item, annotated_types.BaseMetadata) and bound is not None:
                parts.append(f"{symbol} {bound}")
    text = " ".join(filter(None, [_kind(info.annotation), " and ".join(parts)]))
    if _optional(info.annotation):
        text = f"{text} or null" if text else "null"
    return text or "a valid value"


def _line(error: Mapping[str, Any], model: type[Section], section: str) -> str:  # noqa: PLR0911
    """One pydantic error as one line naming the dotted key."""
    keys: list[str] = [section] if section else []
    current: type[Section] | None = model
    owner, name = model, None
    loc = list(error["loc"])
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            if current is not None and error["type"] == "extra_forbidden" and part == loc[-1]:
                keys.append(str(part))
            break
        keys.append(part)
        owner, name = current, part
        current = _section_type(current.model_fields[part].annotation)
    key = ".".join(keys)
    value = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(owner.model_fields if name is None else current.model_fields))
        where = key.rsplit(".", 1)[0] if "." in key else "parameters"
        return f"{where}: unknown parameter {quoted(loc[-1])} ({key}); allowed: {allowed}"
    if kind == "missing":
        where = key.rsplit(".", 1)[0] if "." in key else "parameters"
        return f"{where}: missing parameter {quoted(loc[-1])} ({key})"
    if kind == "value_error" and isinstance((error.get("ctx") or {}).get("error"), ConfigError):
        return str(error["ctx"]["error"])  # a cross-field check's own line
    if name is None:
        return f"{key}: {error['msg']}"
    allowed = describe(owner, name)
    if allowed.startswith("one of "):
        return f"{key}={quoted(value)}: use {allowed}"
    if _kind(owner.model_fields[name].annotation):
        return f"{key}={quoted(value)} is out of range: expected {allowed}"
    if allowed == "a valid value":
        return f"{key}={quoted(value)}: {error['msg']}"
    return f"{key}={quoted(value)}: {error['msg']} (expected {allowed})"


def one_line(error: ValidationError, model: type[Section], section: str) -> str:
    """The first error of a ``ValidationError`` as one line (``section`` is its dotted name)."""
    return _line(error.errors()[0], model, section)


def build(model: type[S], params: Mapping[str, Any] | Section | None, section: str,
          **overrides: Any) -> S:  # fmt: skip
    """Validate a parameter section as ``model``; bad input raises a one-line ``ConfigError``.

    Args:
        model: The section's model.
        params: The section (a mapping, a model read from it, or None for empty).
        section: Its dotted name in the parameters (``stages.A``), used in errors.
        **overrides: Values set by the caller (a derived seed), applied last.
    """
    values = {**given(params), **overrides}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(one_line(error, model, section)) from None


def given(params: Mapping[str, Any] | Section | None) -> dict[str, Any]:
    """The keys a section was given (a model: its fields set, not its defaults)."""
    if params is None:
        return {}
    if isinstance(params, Section):
        return {name: getattr(params, name) for name in _set_fields(params)}
    return dict(params)


def _set_fields(model: Section) -> list[str]:
    """The fields a model was given, in declaration order."""
    order = [name for name in model._given_order if name in model.model_fields_set]
    rest = [n for n in type(model).model_fields if n in model.model_fields_set and n not in order]
    return order + rest


def plain(value: Any) -> Any:
    """``value`` with every model turned back into the mapping it was read from.

    Kedro puts the validated models into the parameters tree; this gives the
    tree as configured (the keys given, not the defaults), e.g. for the report.
    """
    if isinstance(value, Section):
        return {name: plain(getattr(value, name)) for name in _set_fields(value)}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(item) for item in value)
    return value
