"""The Kind contract: how a family of benchmarks turns samples into requests and results into scores.

A kind is code; a benchmark is a YAML spec naming a kind. A kind subclasses ``KindBase`` and is
registered by name (``register_kind("name", "module:Class")``); ``create_kind`` builds it from a spec
and a ``KindContext``. The runner calls every stage below on every kind, in this order; the optional
ones have defaults in ``KindBase`` that do nothing, so a kind overrides only what it offers::

    select_samples(samples)                    keep only the test rows (MBPP ids 11–510)      default: all
    requests(sample, mode)                     the model calls for one sample                  required
    next_requests(sample, results, mode)       a dependent second round (MT-Bench turn 2)      default: none
    score(samples, results, mode)              results → Scored, one per sample                required
    judge_requests(scored, judge)              per sample, what to ask each --judge model      default: nothing
    judge_followups(scored, judge, outcomes)   re-ask an unusable judge reply once             default: never
    apply_judgments(scored, judgments)         fold the judges' answers into new Scored        default: unchanged
    metrics(mode)                              the metrics reported (names, direction)         required
    summarize(scored, mode)                    extra results.json fields for the benchmark     default: {}
    judgment_rows(scored)                      rows for judgments.jsonl                        default: each
                                                                                               Scored.judgments

Kinds are stateless between stages: everything a later stage needs travels in the records
(``Scored.extra``, ``Scored.judgments``) or is recomputed from the spec and context, so stages may be
called in any process, any number of times. Records are in ``evalkit.types``; a kind never executes a
request (the runner does, through the executor, journal and cache).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from evalkit.errors import ConfigError
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.specs.strict import unknown_key, validate
from evalkit.types import JudgeAnswer, JudgmentRow, MetricInfo, Outcome, Request, Result, Sample, Scored

__all__ = ["JudgeSettings", "Kind", "KindBase", "KindContext", "KindOptions", "MetricInfo", "Scored",
           "create_kind", "kind_names", "kind_options", "register_kind"]

OptionsT = TypeVar("OptionsT", bound=KindOptions)


def kind_options(model: type[OptionsT], spec: BenchmarkSpec) -> OptionsT:
    """The spec's ``options`` validated against a kind's model: an unknown key or a bad value is one line
    naming the spec file, the key, the allowed keys and the closest one."""
    return validate(model, spec.options, f"{spec.where} (kind {spec.kind})", prefix="options")


@dataclass(frozen=True)
class JudgeSettings:
    """How a run judges (from ``--judge``, ``--swap``, ``--swap-policy``, ``--jury`` …)."""

    judges: tuple[str, ...] = ()
    swap: bool = False  # judge every pair in both orders
    policy: str = "conservative"  # conservative (a flip with the order is a tie) | balanced (orders averaged)
    jury: str = "majority"  # how several judges combine: majority | mean
    template: str | None = None  # a judges/ template name or YAML path replacing the benchmark's
    criteria: str | None = None  # criteria text replacing the template's default
    candidate: str = "model"  # the judged model's name in judgments


@dataclass(frozen=True)
class KindContext:
    """What a kind may know about the run it is part of (typed; the runner builds it from RunConfig).

    ``preflight`` is True when the kind is built for a real run: it should check its environment then
    (e.g. that the code sandbox works), before any model call. Built outside a run (tests, listings),
    the defaults describe a plain run.
    """

    fewshot_pool: Sequence[Sample] = ()
    data_dir: Path | None = None
    seed: int = 0
    samples_per_task: int = 1
    allow_code_execution: bool = False
    temperature: float | None = None  # the run's --temperature override (None: the spec's)
    replayed: bool = False  # answers come from a predictions file, not a model (no dependent round)
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    preflight: bool = False
    ray_cluster: str | None = None  # --executor ray: the cluster ("auto" or an address) sandboxed programs run on


class Kind(Protocol):
    """The declared contract the runner programs against (``KindBase`` implements the optional stages)."""

    Options: ClassVar[type[KindOptions]]  # the strict model of this kind's spec ``options``
    spec: BenchmarkSpec
    options: KindOptions  # the spec's options, validated against ``Options``

    def select_samples(self, samples: list[Sample]) -> list[Sample]: ...
    def requests(self, sample: Sample, mode: str) -> list[Request]: ...
    def next_requests(self, sample: Sample, results: list[Result], mode: str) -> list[Request]: ...
    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]: ...
    def judge_requests(self, scored: list[Scored], judge: str) -> list[list[Request]]: ...
    def judge_followups(self, scored: list[Scored], judge: str,
                        outcomes: list[list[Outcome]]) -> list[list[Request | None]]: ...
    def apply_judgments(self, scored: list[Scored],
                        judgments: dict[str, list[list[JudgeAnswer]]]) -> list[Scored]: ...
    def metrics(self, mode: str) -> list[MetricInfo]: ...
    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]: ...
    def judgment_rows(self, scored: list[Scored]) -> list[JudgmentRow]: ...


class KindBase:
    """Defaults for every optional stage of ``Kind``; a kind subclasses this and overrides what it offers.

    Subclasses implement ``requests``, ``score`` and ``metrics`` and set ``Options`` to their options model
    (``KindOptions`` accepts only the runner's ``group_by``/``rollups``). ``__init__`` keeps the spec, the
    context and the validated options; a subclass calls it first and reads ``self.options``.
    """

    Options: ClassVar[type[KindOptions]] = KindOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None,
                 options: KindOptions | None = None) -> None:
        self.spec = spec
        self.context = context or KindContext()
        self.options = options if options is not None else kind_options(self.Options, spec)

    # -- required --------------------------------------------------------------------------------
    def requests(self, sample: Sample, mode: str) -> list[Request]:
        """The model calls needed to score one sample in this mode."""
        raise NotImplementedError

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        """Score every sample from its results (aligned lists; a sample's results are round 1's, then
        round 2's). Only samples whose every request succeeded are passed. May be CPU-heavy."""
        raise NotImplementedError

    def metrics(self, mode: str) -> list[MetricInfo]:
        """The metrics this benchmark reports when run in ``mode``."""
        raise NotImplementedError

    # -- optional, with defaults ------------------------------------------------------------------
    def select_samples(self, samples: list[Sample]) -> list[Sample]:
        """The rows that are test items (before ``--limit``). Default: all of them."""
        return samples

    def next_requests(self, sample: Sample, results: list[Result], mode: str) -> list[Request]:
        """A dependent second round, seeing round 1's results (MT-Bench's turn 2 needs turn 1's answer).

        The runner sends what this returns through the same executor, journal and cache and appends the
        answers to the sample's results. A sample whose round 1 failed gets no round 2. Default: none.
        """
        return []

    def judge_requests(self, scored: list[Scored], judge: str) -> list[list[Request]]:
        """Per scored sample, the requests for the judge named ``judge`` (only with ``--judge``).

        Runs after both rounds, so it may grade every round's answer. Default: nothing to judge.
        """
        return [[] for _ in scored]

    def judge_followups(self, scored: list[Scored], judge: str,
                        outcomes: list[list[Outcome]]) -> list[list[Request | None]]:
        """Given the judge's first outcomes (aligned with ``judge_requests``), a request to ask again in
        place of each unusable reply, or None to keep it. Asked once. Default: keep every reply."""
        return [[None for _ in outs] for outs in outcomes]

    def apply_judgments(self, scored: list[Scored],
                        judgments: dict[str, list[list[JudgeAnswer]]]) -> list[Scored]:
        """New Scored records with every judge's answers (judge → per sample, aligned with
        ``judge_requests``) folded into the scores; judge calls that count go in ``Scored.judgments``.
        Default: the scores stand as they are."""
        return scored

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """Extra fields for this benchmark's results.json entry (may replace ``metrics``). Default: none."""
        return {}

    def judgment_rows(self, scored: list[Scored]) -> list[JudgmentRow]:
        """The rows for judgments.jsonl. Default: every sample's ``Scored.judgments``, in order."""
        return [row for item in scored for row in item.judgments]


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


def kind_class(name: str, where: str) -> type[KindBase]:
    """The class registered as ``name`` (imported now)."""
    target = _KINDS.get(name)
    if target is None:
        raise unknown_key(name, kind_names(), where, what="kind")
    module_name, _, class_name = target.partition(":")
    try:
        cls = vars(importlib.import_module(module_name))[class_name]
    except (ImportError, KeyError) as exc:
        raise ConfigError(f"kind {name!r} is not available: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, KindBase)):
        raise ConfigError(f"kind {name!r} ({target}) does not subclass evalkit.kinds.base.KindBase")
    return cls


def create_kind(spec: BenchmarkSpec, context: KindContext | None = None) -> Kind:
    """The kind a spec names, its options validated, built for ``context`` (default: outside a run)."""
    cls = kind_class(spec.kind, spec.where)
    return cls(spec, context or KindContext(), kind_options(cls.Options, spec))
