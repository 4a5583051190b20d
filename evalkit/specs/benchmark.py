"""BenchmarkSpec: the validated record behind each ``benchmarks/*.yaml`` file.

The schema is documented in docs/benchmark-spec.md; unknown keys are errors so typos surface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.errors import ConfigError
from evalkit.specs.strict import validate
from evalkit.specs.yaml_strict import load_yaml

Category = Literal["knowledge", "reasoning", "coding", "safety", "instruction-following", "tool_use", "general"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSource(_Strict):
    """Where users get the data: ``datasets.load_dataset(path, name, split=split, revision=…)``."""

    path: str
    name: str | list[str] | None = None  # a list loads each config in turn (``_config`` names a row's)
    split: str = "test"
    # the dataset repo's commit (40 hex digits): a branch name would let the data change under the same spec
    revision: str | None = Field(None, pattern=r"^[0-9a-f]{40}$")
    fields: dict[str, str] | None = None  # overrides the spec-level field expressions


class LocalSource(_Strict):
    """Where tests get the data: files under ``--data-dir`` (glob allowed; .jsonl/.json/.csv/.parquet/.gz)."""

    files: str
    format: Literal["jsonl", "json", "csv", "text", "parquet", "auto"] = "auto"  # text: a whole file is one row {"text"}
    records: str | None = None  # JSON key holding the list of rows (e.g. "examples")
    fields: dict[str, str] | None = None


class Sources(_Strict):
    hub: HubSource | None = None
    local: LocalSource | None = None


class FewShot(_Strict):
    k: int = 0
    split: Literal["dev", "train", "validation", "same"] = "dev"
    hub: HubSource | None = None
    local: LocalSource | None = None
    seed: int = 1234
    sampler: Literal["first_n", "random"] = "random"  # first_n: the pool's first k, as MMLU's dev set
    match: str | None = None  # metadata field an example must share with the sample (e.g. subject)
    fixed: list[dict[str, Any]] | None = None  # raw few-shot rows written into the spec itself


class Prompt(_Strict):
    style: Literal["chat", "plain"] = "chat"
    system: str | None = None
    template: str = "{{ input }}"  # jinja2; sees the sample's fields
    example_template: str | None = None  # how one solved few-shot example is rendered
    separator: str = "\n\n"
    fewshot_as_multiturn: bool = True  # chat: each example its own user/assistant turns (else all in the first user turn)


class Generation(_Strict):
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = Field(default_factory=list)


class BenchmarkSpec(_Strict):
    name: str
    version: int = 1
    description: str = ""
    category: Category
    kind: str
    modes: list[Literal["generate", "loglikelihood"]] = Field(default_factory=lambda: ["generate"])  # type: ignore[arg-type]  # pydantic types the factory loosely
    sources: Sources
    fields: dict[str, str] = Field(default_factory=dict)  # Sample field → jinja2 expression over a row
    prompt: Prompt = Prompt()
    fewshot: FewShot = FewShot()
    generation: Generation = Generation()
    options: dict[str, Any] = Field(default_factory=dict)  # kind-specific settings
    size: int | None = None  # number of test items, for `evalkit list`
    path: Path | None = None  # where the spec was loaded from (set by the loader)

    @property
    def where(self) -> str:
        """How errors name this spec: its file when it has one."""
        return f"{self.path}" if self.path is not None else f"benchmark {self.name}"


def load_spec(path: Path) -> BenchmarkSpec:
    """The spec in ``path``; an unknown key anywhere (``options`` aside: the kind checks those) is one line
    naming the file, the key, the allowed keys and the closest one."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a benchmark spec must be a YAML mapping")
    if "path" in data:
        raise ConfigError(f"{path}: `path` is not a spec key (it is set to where the spec was loaded from)")
    return validate(BenchmarkSpec, data, str(path), path=path)
