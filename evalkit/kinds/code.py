"""Coding benchmarks (HumanEval, MBPP): sample N programs per task, run each against the task's tests
in the sandbox, report the unbiased pass@k for every k ≤ N in {1, 10, 100}.

``options`` (``CodeOptions``; jinja2 templates see the sample's fields; unknown keys are errors):
  prefix:        code an answer continues or redefines (HumanEval: the prompt); empty for MBPP
  entry_point:   the function the task asks for (tells whole-function answers from bodies)
  test:          the test code appended after the solution
  stop:          stop sequences cutting base-model continuations (default: the Codex paper's)
  where:         expression keeping only some rows as test items (MBPP: task ids 11–510)
  fewshot_where: expression choosing the few-shot rows (MBPP: task ids 2–4)
  timeout, memory_mb: per-program sandbox limits (wall seconds, address space)
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field

from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder, template_context
from evalkit.kinds.sampling import samples_per_item
from evalkit.sandbox import Limits, Sandbox, Verdict
from evalkit.scoring.code_extract import DEFAULT_STOPS, assemble, extract_code
from evalkit.scoring.passk import ks_for, pass_at_k
from evalkit.specs.benchmark import BenchmarkSpec
from evalkit.specs.options import KindOptions
from evalkit.types import GenerateResult, MetricInfo, Request, Result, Sample, Scored

if TYPE_CHECKING:
    from evalkit.sandbox.ray_pool import RaySandbox

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


class CodeOptions(KindOptions):
    TEMPLATES = {"prefix": frozenset(), "entry_point": frozenset(), "test": frozenset()}
    EXPRESSIONS = ("where", "fewshot_where")

    prefix: str = ""
    entry_point: str = ""
    test: str  # required: the test code appended after the solution
    stop: list[str] = Field(default_factory=lambda: list(DEFAULT_STOPS))
    where: str | None = None
    fewshot_where: str | None = None
    timeout: float = Field(10.0, gt=0)
    memory_mb: int = Field(1024, gt=0)
    workers: int | None = Field(None, ge=1)


class CodeKind(KindBase):
    Options: ClassVar[type[CodeOptions]] = CodeOptions
    options: CodeOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None,
                 options: CodeOptions | None = None) -> None:
        super().__init__(spec, context, options)
        options = self.options
        fewshot_pool = self.context.fewshot_pool
        if self.context.preflight and not self.context.allow_code_execution:
            raise ConfigError(_REFUSAL.format(name=spec.name))  # no code execution without consent
        self.n = samples_per_item(spec, self.context)
        self.allowed = self.context.allow_code_execution
        try:
            self._prefix = _ENV.from_string(options.prefix)
            self._entry = _ENV.from_string(options.entry_point)
            self._test = _ENV.from_string(options.test)
            self._where = _ENV.compile_expression(options.where) if options.where else None
            fewshot_where = _ENV.compile_expression(options.fewshot_where) if options.fewshot_where else None
        except TemplateError as exc:
            raise ConfigError(f"benchmark {spec.name}: bad code option: {exc}") from None
        pool = list(fewshot_pool)
        if fewshot_where is not None:
            pool = [s for s in pool if fewshot_where(**template_context(s))]
        self.prompts = PromptBuilder(spec, pool)
        self.stops = tuple(options.stop)
        self.limits = Limits(wall_seconds=float(options.timeout), cpu_seconds=int(options.timeout),
                             memory_mb=options.memory_mb)
        self.sandbox = _sandbox(self.limits, options.workers, self.context.ray_cluster)
        if self.context.preflight:  # probe now: a sandbox that cannot run must stop the run before any model call
            probe = self.sandbox.isolation()
            if probe.details.get("probe") == "sandbox_error" or not probe.details:
                raise ConfigError(f"the code sandbox does not work here ({probe.details.get('error', 'no report')}); "
                                  "see docs/coding.md")
            if not (probe.network and probe.filesystem):  # say so before running anything, not only in results.json
                print(f"warning: code sandbox: {probe.summary()} (see docs/coding.md)", file=sys.stderr)

    def select_samples(self, samples: list[Sample]) -> list[Sample]:
        if self._where is None:
            return samples
        return [s for s in samples if self._where(**template_context(s))]

    def metrics(self, mode: str) -> list[MetricInfo]:
        return [MetricInfo(f"pass@{k}") for k in ks_for(self.n)]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        return [self.prompts.generate_request(sample, replica=i) for i in range(self.n)]

    def _render(self, template: Any, sample: Sample) -> str:
        try:
            return str(template.render(template_context(sample)))
        except TemplateError as exc:
            raise DataError(f"benchmark {self.spec.name}: sample {sample.id}: {exc}") from None

    def program(self, sample: Sample, output: str) -> tuple[str, str]:
        """The program that tests one answer, and the answer's form ("whole" or "body")."""
        prefix = self._render(self._prefix, sample)
        entry = self._render(self._entry, sample).strip() or None
        answer = extract_code(output, entry, self.stops, continues_prompt=bool(prefix))
        return assemble(prefix, answer) + "\n\n" + self._render(self._test, sample), answer.form

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        if not self.allowed:
            raise ConfigError(_REFUSAL.format(name=self.spec.name))
        texts = [[r.text if isinstance(r, GenerateResult) else "" for r in rs] for rs in results]
        built = [[self.program(s, t) for t in ts] for s, ts in zip(samples, texts)]
        flat = [prog for progs in built for prog, _ in progs]
        try:
            all_verdicts = self.sandbox.run_many(flat)
        finally:
            self.sandbox.close()  # the fork servers; a later call starts new ones
        verdicts = iter(all_verdicts)
        scored = []
        for sample, outputs, progs in zip(samples, texts, built):
            mine = [next(verdicts) for _ in progs]
            scored.append(self._scored(sample, outputs, [form for _, form in progs], mine))
        return scored

    def _scored(self, sample: Sample, outputs: list[str], forms: list[str], verdicts: list[Verdict]) -> Scored:
        n, c = len(verdicts), sum(v.passed for v in verdicts)
        scores: dict[str, float | None] = {f"pass@{k}": pass_at_k(n, c, k) for k in ks_for(n)}
        extra: dict[str, Any] = {
            "passed": c == n if n == 1 else None, "n_samples": n, "n_passed": c,
            "verdicts": [{**v.as_dict(), "form": form} for v, form in zip(verdicts, forms)],
            "failure_kinds": dict(Counter(v.kind for v in verdicts if not v.passed)),
        }
        if n > 1:
            extra["outputs"] = outputs
        return Scored(sample=sample, prompt="", output=outputs[0] if outputs else None, scores=scores,
                      extracted=None, extra=extra)

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """results.json additions: what the sandbox could enforce here, and the failure kinds seen."""
        kinds: Counter[str] = Counter()
        verdicts = [v for item in scored for v in item.extra.get("verdicts") or ()]
        for item in scored:
            kinds.update(item.extra.get("failure_kinds") or {})
        execution = {"programs": len(verdicts), "program_seconds": round(sum(v["seconds"] for v in verdicts), 3)}
        return {"samples_per_task": self.n, "sandbox": self.sandbox.isolation().as_dict(),
                "failure_kinds": dict(kinds.most_common()), "execution": execution if verdicts else {}}


def _sandbox(limits: Limits, workers: int | None, ray_cluster: str | None) -> Sandbox | RaySandbox:
    """Programs run here, or on the Ray cluster's nodes with ``--executor ray`` (same sandbox on each)."""
    if ray_cluster is not None:
        from evalkit.sandbox.ray_pool import RaySandbox

        return RaySandbox(limits, ray_cluster)
    return Sandbox(limits, workers=workers)


_REFUSAL = ("benchmark {name} runs model-written code: pass --allow-code-execution to run it in evalkit's "
            "sandbox (see docs/coding.md for what the sandbox does and does not isolate)")
