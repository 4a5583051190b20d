"""The Kind seam: how a family of benchmarks turns samples into requests and results into scores.

A kind is code; a benchmark is a YAML spec naming a kind. Kinds register themselves with
``@register_kind("name")`` and are looked up by ``create_kind``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from evalkit.errors import ConfigError
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.specs.strict import unknown_key, validate
from evalkit.types import Request, Result, Sample


@dataclass
class Scored:
    """One sample's verdict, as written to samples.jsonl."""

    sample: Sample
    prompt: str
    output: str | None
    scores: dict[str, float | None]  # None = not applicable (e.g. invalid answer excluded from a metric)
    extracted: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific columns (choice_logliks, …)


@dataclass
class MetricInfo:
    """A metric a kind reports: its name, and whether higher is better (for the gate and report)."""

    name: str
    higher_is_better: bool = True


class Kind(Protocol):
    """How one family of benchmarks asks and scores.

    Optional hook ``next_requests(sample, results, mode) -> list[Request]``: a dependent second round
    (MT-Bench's turn 2 needs the turn-1 answer). After round 1 the runner sends what it returns (an empty
    list: nothing more) through the same executor, journal and cache, and ``score`` receives round 1's
    results followed by round 2's for that sample. A sample whose round 1 failed gets no round 2.
    """

    Options: ClassVar[type[KindOptions]]  # the strict model of this kind's spec ``options``
    spec: BenchmarkSpec
    options: KindOptions  # the spec's options, validated against ``Options``

    def metrics(self) -> list[MetricInfo]: ...

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        """The model calls needed to score one sample in this mode."""
        ...

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        """Score every sample from its results (aligned lists). May be CPU-heavy (code execution)."""
        ...


_KINDS: dict[str, str] = {
    # name → "module:Class"; imported lazily so a run only pays for the kinds it uses
    "generate": "evalkit.kinds.generate:GenerateKind",
    "multiple_choice": "evalkit.kinds.multiple_choice:MultipleChoiceKind",
    "code": "evalkit.kinds.code:CodeKind",
    "refusal": "evalkit.kinds.refusal:RefusalKind",
    "reference": "evalkit.kinds.reference:ReferenceKind",
    "judged": "evalkit.kinds.judged:JudgedKind",
    "instruction_following": "evalkit.kinds.instruction_following:InstructionFollowingKind",
    "tool_call": "evalkit.kinds.tool_call:ToolCallKind",
}


def register_kind(name: str, target: str) -> None:
    """Make a kind available to specs (plugins call this with "module:Class")."""
    _KINDS[name] = target


def kind_names() -> list[str]:
    return sorted(_KINDS)


OptionsT = TypeVar("OptionsT", bound=KindOptions)


def kind_options(model: type[OptionsT], spec: BenchmarkSpec) -> OptionsT:
    """The spec's ``options`` validated against a kind's model: an unknown key or a bad value is one line
    naming the spec file, the key, the allowed keys and the closest one."""
    return validate(model, spec.options, f"{spec.where} (kind {spec.kind})", prefix="options")


def create_kind(spec: BenchmarkSpec, **context: Any) -> Kind:
    target = _KINDS.get(spec.kind)
    if target is None:
        raise unknown_key(spec.kind, kind_names(), spec.where, what="kind")
    module_name, _, class_name = target.partition(":")
    try:
        cls: Callable[..., Kind] = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"kind {spec.kind!r} is not available: {exc}") from None
    options = kind_options(cls.Options, spec)  # type: ignore[attr-defined]
    return cls(spec, options=options, **context)


class JudgedStage(Protocol):
    """Optional second stage for kinds whose scores need a judge model (refusal, judged benchmarks).

    After ``score`` runs on the model's outputs, the runner asks each ``--judge`` model the requests from
    ``judge_requests`` (through the same executor, cache and journal), then hands every judge's outcomes
    to ``apply_judgments``. A kind with ``next_requests`` (see ``Kind``) is judged after both rounds, so
    its judge requests may grade every round's answer. Without ``--judge`` the kind's own ``score`` result stands (e.g. a rule-based
    classifier, labelled as such).
    """

    def judge_requests(self, scored: list[Scored], judge: str) -> list[list[Request]]:
        """Per scored sample, the requests to send to the judge named ``judge``."""
        ...

    def apply_judgments(self, scored: list[Scored], judgments: dict[str, list[list[Any]]]) -> list[Scored]:
        """Fold each judge's outcomes (``Outcome`` lists aligned with ``judge_requests``) into the scores."""
        ...
