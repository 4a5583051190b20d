"""Multiple choice: pick one of ``sample.choices`` by log-likelihood, or ask for a letter (ARC, MMLU, TruthfulQA).

A sample's ``target`` is the 0-based index of the right choice (a metric may define its own target,
e.g. TruthfulQA MC2's 0/1 label per choice).

Log-likelihood mode (as lm-evaluation-harness's ``multiple_choice`` output type): one request per
choice, context = the rendered prompt (few-shot included), continuation = ``target_delimiter`` +
the rendered ``choice_text``. Every samples.jsonl row carries ``choice_logliks``.

Generate mode: the prompt from ``options.generate_prompt`` lists the choices as letters; the letter
is pulled out of the reply by ``options.extractor`` (scoring/letter_extractors.py; default evalkit's own,
scoring/choice.py). A reply with no valid letter is *invalid*: it counts as wrong in ``acc`` and is
counted apart in ``invalid`` and ``n_invalid`` (unless the extractor defines a guess, as MMLU-Pro's
authors do; a guessed reply is still counted invalid). A leading reasoning block is set apart first and a
cut-off reply is *truncated*: wrong, counted in ``truncated`` / ``n_truncated`` (scoring/reasoning.py).

``options``:
  target_delimiter: " "                   put between the context and each choice
  choice_text:      "{{ choice }}"        jinja2; sees the sample's fields plus choice, index, letter
  metrics:          [acc, acc_norm]       log-likelihood metrics, by name in CHOICE_METRICS (mc2: TruthfulQA)
  generate_prompt:  {style, system, template, …}   a ``prompt`` section for generate mode
  extractor:        choice | mmlu_pro | gpqa   how generate mode reads the chosen letter
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from jinja2 import TemplateError
from pydantic import Field, field_validator

from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import _ENV, PromptBuilder, template_context
from evalkit.scoring.choice import LETTERS
from evalkit.scoring.letter_extractors import EXTRACTORS, letter_extractor
from evalkit.scoring.reasoning import split_reply
from evalkit.specs.benchmark import BenchmarkSpec, Prompt
from evalkit.specs.options import KindOptions
from evalkit.types import (
    GenerateResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    MetricInfo,
    Request,
    Result,
    Sample,
    Scored,
)

# A choice metric scores one sample from its per-choice log-likelihoods.
# Arguments: logliks, the rendered choice texts (without the delimiter), the sample's target.
ChoiceMetric = Callable[[Sequence[float], Sequence[str], Any], float]


def _argmax(values: Sequence[float]) -> int:
    """Index of the largest value; the first one on ties (as numpy.argmax)."""
    best = 0
    for i, value in enumerate(values):
        if value > values[best]:
            best = i
    return best


def acc(logliks: Sequence[float], texts: Sequence[str], target: Any) -> float:
    """1 when the most likely choice is the target."""
    return float(_argmax(logliks) == target)


def acc_norm(logliks: Sequence[float], texts: Sequence[str], target: Any) -> float:
    """1 when the target has the highest log-likelihood per character of choice text.

    lm-evaluation-harness divides by ``len(choice)`` of the choice string (characters, without the
    target delimiter), not by tokens; so do we, so numbers are comparable.
    """
    return float(_argmax([ll / max(len(text), 1) for ll, text in zip(logliks, texts)]) == target)


def acc_bytes(logliks: Sequence[float], texts: Sequence[str], target: Any) -> float:
    """As acc_norm but per UTF-8 byte (lm-evaluation-harness's ``acc_bytes``)."""
    return float(_argmax([ll / max(len(t.encode("utf-8")), 1) for ll, t in zip(logliks, texts)]) == target)


def mc2(logliks: Sequence[float], texts: Sequence[str], target: Any) -> float:
    """TruthfulQA MC2: the probability mass on the true answers, normalised over all choices.

    ``target`` is a 0/1 label per choice. As the TruthfulQA paper and lm-evaluation-harness's
    ``process_results_mc2``: sum(exp(ll) of true) / sum(exp(ll) of all); shifting every ll by the
    maximum first changes nothing but avoids underflow to 0/0.
    """
    if not isinstance(target, (list, tuple)) or len(target) != len(logliks) or set(target) - {0, 1}:
        raise DataError(f"mc2 needs a 0/1 label per choice as the target, got {target!r}")
    top = max(logliks)
    mass = [math.exp(ll - top) for ll in logliks]
    return sum(m for m, label in zip(mass, target) if label == 1) / sum(mass)


CHOICE_METRICS: dict[str, ChoiceMetric] = {"acc": acc, "acc_norm": acc_norm, "acc_bytes": acc_bytes, "mc2": mc2}
INDEX_TARGET_METRICS = {"acc", "acc_norm", "acc_bytes"}  # metrics whose target is one choice index


class MultipleChoiceOptions(KindOptions):
    TEMPLATES = {"choice_text": frozenset({"choice", "index", "letter"})}

    target_delimiter: str = " "
    choice_text: str = "{{ choice }}"  # jinja2; sees the sample's fields plus choice, index, letter
    metrics: list[str] = Field(default_factory=lambda: ["acc", "acc_norm"], min_length=1)
    generate_prompt: Prompt | None = None  # the prompt for generate mode (the letters are asked for)
    extractor: str = "choice"  # how generate mode reads the letter: choice | mmlu_pro | gpqa

    @field_validator("extractor")
    @classmethod
    def _known_extractor(cls, name: str) -> str:
        if name not in EXTRACTORS:
            raise ValueError(f"unknown extractor {name!r}; known: {', '.join(EXTRACTORS)}")
        return name

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names: list[str]) -> list[str]:
        unknown = [m for m in names if m not in CHOICE_METRICS]
        if unknown:
            raise ValueError(f"unknown multiple-choice metric(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(CHOICE_METRICS))}")
        return names


class MultipleChoiceKind(KindBase):
    Options: ClassVar[type[MultipleChoiceOptions]] = MultipleChoiceOptions
    options: MultipleChoiceOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None,
                 options: MultipleChoiceOptions | None = None) -> None:
        super().__init__(spec, context, options)
        fewshot_pool = self.context.fewshot_pool
        self.prompts = PromptBuilder(spec, fewshot_pool)
        self.delimiter = self.options.target_delimiter
        self.metric_names = list(self.options.metrics)
        try:
            self._choice_text = _ENV.from_string(self.options.choice_text)
        except TemplateError as exc:
            raise ConfigError(f"benchmark {spec.name}: bad options.choice_text: {exc}") from None
        self.generate_prompts: PromptBuilder | None = None
        if self.options.generate_prompt is not None:
            self.generate_prompts = PromptBuilder(spec.model_copy(update={"prompt": self.options.generate_prompt}),
                                                  fewshot_pool)
        self.extractor = letter_extractor(self.options.extractor, f"benchmark {spec.name}")

    # --- what is reported -------------------------------------------------------------------
    def metrics(self, mode: str) -> list[MetricInfo]:
        """Letter accuracy, invalid and truncated replies in generate mode; the spec's choice metrics otherwise."""
        if mode == "generate":
            return [MetricInfo("acc"), MetricInfo("invalid", higher_is_better=False),
                    MetricInfo("truncated", higher_is_better=False)]
        return [MetricInfo(name) for name in self.metric_names]

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        if mode != "generate":
            return {}
        ok = [s for s in scored if s.error is None]
        return {"n_invalid": sum(1 for s in ok if s.scores.get("invalid") == 1.0),
                "n_truncated": sum(1 for s in ok if s.scores.get("truncated") == 1.0)}

    # --- requests ---------------------------------------------------------------------------
    def _checked_choices(self, sample: Sample, mode: str) -> tuple[str, ...]:
        choices = sample.choices
        if not choices:
            raise DataError(f"benchmark {self.spec.name}: sample {sample.id} has no choices")
        if len(choices) > len(LETTERS):
            raise DataError(f"benchmark {self.spec.name}: sample {sample.id} has {len(choices)} choices (at most 26)")
        if set(self.metric_names) & INDEX_TARGET_METRICS or mode == "generate":
            target = sample.target
            if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < len(choices):
                raise DataError(f"benchmark {self.spec.name}: sample {sample.id}: target must be a choice index "
                                f"0..{len(choices) - 1}, got {target!r}; fix the spec's `target` field")
        return choices

    def choice_texts(self, sample: Sample) -> list[str]:
        """Each choice as it is scored by log-likelihood (``options.choice_text``), without the delimiter."""
        base = template_context(sample)
        texts = []
        for index, choice in enumerate(self._checked_choices(sample, "loglikelihood")):
            try:
                texts.append(str(self._choice_text.render(base, choice=choice, index=index, letter=LETTERS[index])))
            except TemplateError as exc:
                raise DataError(f"benchmark {self.spec.name}: sample {sample.id}: cannot render choice_text: {exc}") from None
        return texts

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        if mode == "generate":
            if self.generate_prompts is None:
                raise ConfigError(f"benchmark {self.spec.name}: generate mode needs options.generate_prompt")
            self._checked_choices(sample, mode)
            return [self.generate_prompts.generate_request(sample)]
        context = self.prompts.context_text(sample)
        return [LoglikelihoodRequest(context=context, continuation=self.delimiter + text)
                for text in self.choice_texts(sample)]

    # --- scoring ----------------------------------------------------------------------------
    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        if mode == "generate":
            return [self._score_letter(sample, result) for sample, (result,) in zip(samples, results)]
        return [self._score_logliks(sample, sample_results) for sample, sample_results in zip(samples, results)]

    def _score_logliks(self, sample: Sample, results: list[Result]) -> Scored:
        logliks = []
        for result in results:
            assert isinstance(result, LoglikelihoodResult)
            logliks.append(result.logprob)
        texts = self.choice_texts(sample)
        scores: dict[str, float | None] = {name: CHOICE_METRICS[name](logliks, texts, sample.target)
                                           for name in self.metric_names}
        chosen = _argmax(logliks)
        return Scored(sample=sample, prompt="", output=texts[chosen], scores=scores, extracted=chosen,
                      extra={"choice_logliks": logliks})

    def _score_letter(self, sample: Sample, result: Result) -> Scored:
        assert isinstance(result, GenerateResult)
        choices = sample.choices or ()
        reply = split_reply(result)
        chosen = None if reply.unclosed else self.extractor.pick(reply.answer, choices)
        why = reply.truncation(answer_found=chosen is not None)
        invalid = chosen is None and why is None
        guessed = invalid and self.extractor.guess is not None
        if guessed:
            assert self.extractor.guess is not None
            chosen = self.extractor.guess(len(choices))
        scores: dict[str, float | None] = {"acc": float(chosen == sample.target), "invalid": float(invalid),
                                           "truncated": float(why is not None)}
        extracted = LETTERS[chosen] if chosen is not None and chosen < len(LETTERS) else None
        extra = {"finish_reason": result.finish_reason, "reasoning": reply.reasoning, "truncated": why,
                 "guessed": guessed}
        return Scored(sample=sample, prompt="", output=result.text, scores=scores, extracted=extracted, extra=extra)
