"""One way to reject a bad config key or value: a single line naming the file, the key, what is allowed,
and the closest allowed key ("did you mean …") when there is one.

Used for benchmark specs, kind options, judge templates, gate configs and run options, so a typo reads
the same everywhere.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from evalkit.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when an allowed name is close to ``name``, else an empty string."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(key: str, allowed: Iterable[str], where: str, what: str = "key") -> ConfigError:
    """The error for a key that is not allowed: the key, a close match, and the allowed keys."""
    names = sorted(allowed)
    return ConfigError(f"{where}: unknown {what} {key!r}{did_you_mean(key, names)}; allowed: {', '.join(names) or 'none'}")


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise ``unknown_key`` for the first key of ``data`` outside ``allowed``."""
    names = set(allowed)
    for key in data:
        if key not in names:
            raise unknown_key(str(key), names, where)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (``X | None``, ``list[X]``, ``dict[str, X]`` …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated) or \
            typing.get_args(annotation):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that holds the field at ``loc`` (list indexes and dict keys are walked through)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        field = current.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is None:
            if isinstance(part, int) or current is not model:  # an index or a dict key inside a container
                continue
            return None
        candidates = _models_in(field.annotation)
        current = candidates[0] if candidates else None
    return current


def _allowed(model: type[BaseModel]) -> list[str]:
    return sorted(name for name in model.model_fields if name != "path")


def explain(exc: ValidationError, model: type[BaseModel], where: str, prefix: str = "") -> ConfigError:
    """One line for a pydantic ValidationError: the first problem, with allowed keys for unknown ones."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    dotted = ".".join(str(p) for p in (*([prefix] if prefix else []), *loc))
    if error["type"] == "extra_forbidden":
        holder = _model_at(model, loc[:-1]) if len(loc) > 1 else model
        parent = ".".join(str(p) for p in (*([prefix] if prefix else []), *loc[:-1]))
        place = f"{where}: {parent}" if parent else where
        if holder is not None:
            return unknown_key(str(loc[-1]), _allowed(holder), place)
        return ConfigError(f"{place}: unknown key {loc[-1]!r}")
    if error["type"] == "missing":
        return ConfigError(f"{where}: {dotted}: required key is missing")
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return ConfigError(f"{where}: {dotted}: {error['msg']}{shown}")


def validate(model: type[M], data: Any, where: str, prefix: str = "", **extra: Any) -> M:
    """``model`` built from ``data`` (a mapping), or a one-line ConfigError naming ``where``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: {prefix or 'the file'} must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        raise explain(exc, model, where, prefix) from None
