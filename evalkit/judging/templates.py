"""Judge templates: ``judges/*.yaml`` validated into ``JudgeTemplate`` and rendered into chat requests.

A template is data (prompt text with jinja2 slots), never Python. Slots it may use:
``prompt``, ``response`` (pointwise), ``response_a``/``response_b`` (pairwise), ``criteria`` and
``reference``. Unknown keys in the YAML are errors, as for benchmark specs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.errors import ConfigError, DataError
from evalkit.judging.parse import PAIRWISE_LABELS, POINTWISE_LABELS
from evalkit.paths import bundled_dir
from evalkit.specs.yaml_strict import load_yaml
from evalkit.types import GenerateRequest

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


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
    kind: Literal["pointwise", "pairwise"]
    needs_reference: bool = False  # the item must carry a reference answer
    system: str | None = None
    template: str  # the user turn
    criteria: str  # default criteria; a user's --criteria replaces it
    reminder: str  # the follow-up turn after an invalid reply; sees ``problem`` and ``labels``
    max_tokens: int = 1024
    temperature: float = 0.0

    @property
    def labels(self) -> tuple[str, ...]:
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
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a judge template must be a YAML mapping")
    try:
        template = JudgeTemplate(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    for text in (template.system or "", template.template, template.reminder):
        try:
            _ENV.parse(text)
        except TemplateError as exc:
            raise ConfigError(f"{path}: bad jinja2 template: {exc}") from None
    return template


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
