"""Judge templates: ``judges/*.yaml`` validated into ``JudgeTemplate`` and rendered into chat requests.

One schema for every judge: pass/fail (``pointwise``), A/B/tie (``pairwise``) and class labels
(``classify``, e.g. the refusal judge's three XSTest classes). A template is data (prompt text with
jinja2 slots), never Python. The slots each kind fills are ``SLOTS``; a template naming any other slot
is refused when it is loaded, before any model call, as is an unknown key in the YAML. Templates are
found in ``$EVALKIT_JUDGES_PATH`` directories first, then in the bundled ``judges/``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, model_validator

from evalkit.errors import ConfigError, DataError
from evalkit.judging.parse import PAIRWISE_LABELS, POINTWISE_LABELS
from evalkit.paths import bundled_dir
from evalkit.specs.strict import did_you_mean, validate
from evalkit.specs.yaml_strict import load_yaml
from evalkit.types import GenerateRequest

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)

# the slots each kind of judge fills when it renders a template (the reminder sees ``problem`` and ``labels``)
SLOTS: dict[str, frozenset[str]] = {
    "pointwise": frozenset({"prompt", "response", "criteria", "reference"}),
    "pairwise": frozenset({"prompt", "response_a", "response_b", "criteria", "reference"}),
    "classify": frozenset({"prompt", "response", "labels"}),
}
REMINDER_SLOTS = frozenset({"problem", "labels"})


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    """Compile each template text once (compiling per request cost more than the HTTP call)."""
    return _ENV.from_string(text)


class JudgeTemplate(BaseModel):
    """One judge prompt: how to ask, what a verdict looks like, and how to remind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = 1
    description: str = ""
    kind: Literal["pointwise", "pairwise", "classify"]
    needs_reference: bool = False  # the item must carry a reference answer
    system: str | None = None
    template: str  # the user turn
    criteria: str = ""  # default criteria; a user's --criteria replaces it
    reminder: str  # the follow-up turn after an invalid reply; sees ``problem`` and ``labels``
    classes: tuple[str, ...] | None = None  # classify: the labels the verdict line may carry
    keyword: str = "VERDICT"  # the word that opens the verdict line (the refusal judge's is CLASS)
    max_tokens: int = 1024
    temperature: float = 0.0

    @model_validator(mode="after")
    def _classes_for_classify(self) -> JudgeTemplate:
        if (self.kind == "classify") != (self.classes is not None):
            raise ValueError("`classes` is required for kind classify and allowed only there")
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        if self.classes is not None:
            return self.classes
        return PAIRWISE_LABELS if self.kind == "pairwise" else POINTWISE_LABELS

    def _render(self, text: str, context: dict[str, object]) -> str:
        try:
            return str(_compiled(text).render(context))
        except TemplateError as exc:
            raise DataError(f"judge template {self.name}: cannot render: {exc}") from None

    def request(self, context: dict[str, object]) -> GenerateRequest:
        """The first request to the judge for one item (``context`` fills the slots)."""
        if self.needs_reference and not context.get("reference"):
            raise DataError(f"judge template {self.name} needs a reference answer and the item has none")
        turns: list[tuple[str, str]] = []
        if self.system:
            turns.append(("system", self._render(self.system, context)))
        turns.append(("user", self._render(self.template, context)))
        return GenerateRequest(messages=tuple(turns), max_tokens=self.max_tokens, temperature=self.temperature)

    def followup(self, first: GenerateRequest, reply: str, problem: str) -> GenerateRequest:
        """The one retry: the conversation so far, the invalid reply, then the reminder."""
        reminder = self._render(self.reminder, {"problem": problem, "labels": list(self.labels)})
        turns = (*(first.messages or ()), ("assistant", reply), ("user", reminder))
        return GenerateRequest(messages=turns, max_tokens=self.max_tokens, temperature=self.temperature)


def judge_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("EVALKIT_JUDGES_PATH", "").split(os.pathsep) if p]
    return [*extra, bundled_dir("judges")]


def load_template(name: str) -> JudgeTemplate:
    """A template by name (``judges/NAME.yaml``, user dirs first) or by path to a YAML file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"judge template file {name} does not exist")
    else:
        found = [d / f"{name}.yaml" for d in judge_dirs() if (d / f"{name}.yaml").is_file()]
        if not found:
            known = sorted({p.stem for d in judge_dirs() for p in d.glob("*.yaml")})
            raise ConfigError(f"unknown judge template {name!r}; known: {', '.join(known)}")
        path = found[0]
    template = validate(JudgeTemplate, load_yaml(path), str(path))
    slots = SLOTS[template.kind]
    for key, text, allowed in (("system", template.system or "", slots), ("template", template.template, slots),
                               ("reminder", template.reminder, REMINDER_SLOTS)):
        check_slots(text, allowed, f"{path}: {key}")
    return template


def check_slots(text: str, allowed: frozenset[str], where: str) -> None:
    """Refuse a template that does not parse or names a slot nobody fills (a typo would render empty)."""
    try:
        names = meta.find_undeclared_variables(_ENV.parse(text)) - set(_ENV.globals)
    except TemplateError as exc:
        raise ConfigError(f"{where}: bad jinja2 template: {exc}") from None
    unknown = sorted(names - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}{did_you_mean(unknown[0], allowed)}; "
                          f"the judge fills: {', '.join(sorted(allowed))}")


def read_criteria(criteria: str | None, criteria_file: Path | None) -> str | None:
    """A user's criteria from ``--criteria TEXT`` or ``--criteria-file PATH`` (not both)."""
    if criteria and criteria_file:
        raise ConfigError("give --criteria or --criteria-file, not both")
    if criteria_file is not None:
        try:
            text = criteria_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read --criteria-file {criteria_file}: {exc.strerror}") from None
        if not text:
            raise ConfigError(f"--criteria-file {criteria_file} is empty")
        return text
    if criteria is not None and not criteria.strip():
        raise ConfigError("--criteria is empty; write the criteria the judge should apply")
    return criteria.strip() if criteria else None
