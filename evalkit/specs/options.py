"""The base of every kind's ``options`` model: strict (unknown keys are errors) and frozen.

A kind declares ``Options: ClassVar[type[KindOptions]]``; ``create_kind`` validates the spec's
``options`` mapping against it once, at load time, and the kind reads typed fields from then on.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rollup(StrictModel):
    """A named total over groups (see evalkit.stats.aggregate): the groups it lists, or all of them."""

    groups: list[str] | None = None
    weight: Literal["size", "equal"] = "size"


class KindOptions(StrictModel):
    """Options every kind accepts: how the runner groups the scores in results.json."""

    # option fields holding jinja2 templates (or, for EXPRESSIONS, expressions) over a sample's fields,
    # each with the extra names it sees; checked against the loaded data before any model call
    TEMPLATES: ClassVar[dict[str, frozenset[str]]] = {}
    EXPRESSIONS: ClassVar[tuple[str, ...]] = ()

    group_by: str | None = None  # metadata field naming each sample's group (e.g. MMLU's subject)
    rollups: dict[str, Rollup | None] | None = None  # named totals over groups; needs group_by

    def rollup_config(self) -> dict[str, Any] | None:
        """The rollups as plain mappings, as evalkit.stats.aggregate takes them."""
        if self.rollups is None:
            return None
        return {name: (rule.model_dump(exclude_none=True) if rule is not None else {})
                for name, rule in self.rollups.items()}
