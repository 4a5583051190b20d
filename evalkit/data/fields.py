"""Map raw rows to Samples with the spec's jinja2 field expressions (no Python in specs).

Strict: an expression naming a column the row does not have is an error naming the field, the missing
name and the columns the row has (a typo such as ``questoin`` would otherwise become an empty prompt).
Optional columns are written ``x if x is defined else ''``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from evalkit.data.transforms import regex_replace, shuffled
from evalkit.errors import ConfigError, DataError
from evalkit.specs.strict import did_you_mean
from evalkit.types import Sample

_ENV = SandboxedEnvironment(undefined=StrictUndefined)
_ENV.globals.update(enumerate=enumerate, zip=zip, len=len, str=str, int=int, float=float, list=list,
                    sorted=sorted, range=range, dict=dict, shuffled=shuffled)
_ENV.filters["regex_replace"] = regex_replace
CORE_FIELDS = ("id", "input", "target", "choices")


def compile_fields(fields: dict[str, str], where: str) -> dict[str, Callable[..., Any]]:
    compiled: dict[str, Callable[..., Any]] = {}
    for name, expression in fields.items():
        try:
            compiled[name] = _ENV.compile_expression(expression, undefined_to_none=False)
        except TemplateError as exc:
            raise ConfigError(f"{where}: field {name!r}: bad expression {expression!r}: {exc}") from None
    return compiled


def _all_at_once(fields: dict[str, str]) -> Callable[..., Any] | None:
    """Every field expression in one dict expression: one jinja context per row, not one per field
    (five times faster on MMLU's 14,042 rows). None when they do not combine."""
    if not fields:
        return None
    source = "{" + ", ".join(f"{name!r}: ({expression})" for name, expression in fields.items()) + "}"
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateError:
        return None


def _columns(row: dict[str, Any]) -> list[str]:
    return sorted(k for k in row if not k.startswith("_")) + sorted(k for k in row if k.startswith("_"))


def undefined_field(where: str, row: dict[str, Any], field: str, missing: str) -> ConfigError:
    """The error for a field expression naming a column this row lacks."""
    return ConfigError(f"{where}: field {field!r} names {missing!r}{did_you_mean(missing, row)}, which the data "
                       f"does not have (row {row.get('_index')}); the row has: {', '.join(_columns(row))}")


def _missing_name(exc: Exception) -> str:
    text = str(exc)
    return text.split("'")[1] if text.count("'") >= 2 else text


def rows_to_samples(rows: list[dict[str, Any]], fields: dict[str, str], where: str) -> list[Sample]:
    """Evaluate each field expression on each row; unknown field names become metadata."""
    compiled = compile_fields(fields, where)
    combined = _all_at_once(fields)
    samples = []
    for row in rows:
        values: dict[str, Any] | None = None
        if combined is not None:
            try:
                values = combined(**row, row=row)
            except Exception:  # noqa: BLE001 - evaluated again field by field to name the culprit
                values = None
        if values is None:
            values = {}
            for name, expression in compiled.items():
                try:
                    values[name] = expression(**row, row=row)
                except UndefinedError as exc:
                    raise undefined_field(where, row, name, _missing_name(exc)) from None
                except Exception as exc:  # noqa: BLE001 - a bad row must become one clear line
                    raise DataError(f"{where}: row {row.get('_index')}: field {name!r}: {exc}") from None
        for name, value in values.items():
            if isinstance(value, Undefined):
                raise undefined_field(where, row, name, value._undefined_name or name)
        choices = values.get("choices")
        if isinstance(choices, (list, tuple)):
            for choice in choices:
                if isinstance(choice, Undefined):
                    raise undefined_field(where, row, "choices", choice._undefined_name or "choices")
        if choices is not None and not isinstance(choices, (list, tuple)):
            raise DataError(f"{where}: row {row.get('_index')}: choices must be a list, got {type(choices).__name__}")
        sample_id = values.get("id")
        samples.append(Sample(
            id=str(sample_id if sample_id is not None else row.get("_index")),
            input=values.get("input"),
            target=values.get("target"),
            choices=tuple(str(c) for c in choices) if choices is not None else None,
            metadata={k: v for k, v in values.items() if k not in CORE_FIELDS},
        ))
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise DataError(f"{where}: sample ids are not unique; set an `id` field expression")
    return samples
