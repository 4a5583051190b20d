"""Render a sample (and its few-shot examples) into chat messages or a plain-text prompt."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from evalkit.errors import ConfigError, DataError
from evalkit.specs.benchmark import BenchmarkSpec, Prompt
from evalkit.specs.options import KindOptions
from evalkit.specs.strict import did_you_mean
from evalkit.types import GenerateRequest, Sample

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
_ENV.globals.update(enumerate=enumerate, zip=zip, len=len, chr=chr, ord=ord, range=range)


def template_context(sample: Sample) -> dict[str, Any]:
    return {**sample.metadata, "id": sample.id, "input": sample.input, "target": sample.target,
            "choices": list(sample.choices or ()), "letters": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _undeclared(text: str, where: str) -> set[str]:
    """Names a template reads from its context; a name it only tests (``x is defined``) is optional."""
    try:
        tree = _ENV.parse(text)
    except TemplateError as exc:
        raise ConfigError(f"{where}: bad jinja2 template: {exc}") from None
    optional = {test.node.name for test in tree.find_all(nodes.Test)
                if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name)}
    return set(meta.find_undeclared_variables(tree)) - set(_ENV.globals) - optional


def _check(text: str | None, names: set[str], where: str, expression: bool = False) -> None:
    if not text:
        return
    unknown = sorted(_undeclared("{{ (" + text + ") }}" if expression else text, where) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}{did_you_mean(unknown[0], names)}; "
                          f"the samples have: {', '.join(sorted(names))}")


def check_templates(spec: BenchmarkSpec, options: KindOptions, sample: Sample, example: Sample | None = None) -> None:
    """Every template of the spec (prompt, few-shot, kind options) names only fields the loaded samples
    have: a typo is one line naming the field, the spec file and the fields there are, before any model call.
    ``example`` is a few-shot example: the question template must fit it too, the example template only it."""
    names = set(template_context(sample))
    example_names = set(template_context(example)) if example is not None else names
    prompts: list[tuple[str, Prompt]] = [("prompt", spec.prompt)]
    prompts += [(f"options.{key}", value) for key, value in options if isinstance(value, Prompt)]
    values = dict(options)  # field name → value (the declared TEMPLATES/EXPRESSIONS name fields)
    for key, prompt in prompts:
        parts = ((prompt.template, names, "template"), (prompt.system, names, "system"),
                 (prompt.example_template, example_names, "example_template"))
        for text, allowed, part in parts:
            _check(text, allowed, f"{spec.where}: {key}.{part}")
        if example is not None and spec.fewshot.k > 0:
            _check(prompt.template, example_names, f"{spec.where}: {key}.template (few-shot examples)")
    for key, extra in options.TEMPLATES.items():
        _check(values[key], names | extra, f"{spec.where}: options.{key}")
    for key in options.EXPRESSIONS:
        _check(values[key], names, f"{spec.where}: options.{key}", expression=True)


class PromptBuilder:
    """Turns samples into prompts per the spec's ``prompt`` and ``fewshot`` sections."""

    def __init__(self, spec: BenchmarkSpec, fewshot_pool: Sequence[Sample] = ()) -> None:
        self.spec = spec
        self.pool = list(fewshot_pool)
        self._by_match: dict[Any, list[Sample]] | None = None  # pool indexed by fewshot.match, built once
        self._rendered: dict[str, tuple[str, str]] = {}  # example id → (question, answer): examples repeat
        try:
            self._question = _ENV.from_string(spec.prompt.template)
            self._answer = _ENV.from_string(spec.prompt.example_template or " {{ target }}")
            self._system = _ENV.from_string(spec.prompt.system) if spec.prompt.system else None
        except TemplateError as exc:
            raise ConfigError(f"benchmark {spec.name}: bad prompt template: {exc}") from None

    def _render(self, template: Any, sample: Sample) -> str:
        try:
            return str(template.render(template_context(sample)))
        except UndefinedError as exc:
            raise DataError(f"{self.spec.where}: sample {sample.id}: cannot render prompt: {exc}; the sample has: "
                            f"{', '.join(sorted(template_context(sample)))}") from None
        except TemplateError as exc:
            raise DataError(f"{self.spec.where}: sample {sample.id}: cannot render prompt: {exc}") from None

    def question(self, sample: Sample) -> str:
        return self._render(self._question, sample)

    def answer(self, sample: Sample) -> str:
        return self._render(self._answer, sample)

    def examples(self, sample: Sample) -> list[Sample]:
        """Deterministic few-shot examples for this sample (seeded by the spec seed and sample id)."""
        fewshot = self.spec.fewshot
        if fewshot.k <= 0:
            return []
        pool = [ex for ex in self._candidates(sample) if ex.id != sample.id]
        if fewshot.sampler == "first_n":
            return pool[: fewshot.k]
        rng = random.Random(fewshot.seed * 1_000_003 + zlib.crc32(sample.id.encode()))
        return rng.sample(pool, min(fewshot.k, len(pool)))

    def _candidates(self, sample: Sample) -> list[Sample]:
        """The pool, in order, narrowed to examples sharing ``fewshot.match`` with the sample."""
        match = self.spec.fewshot.match
        if not match:
            return self.pool
        if self._by_match is None:
            index: dict[Any, list[Sample]] = {}
            try:
                for ex in self.pool:
                    index.setdefault(ex.metadata.get(match), []).append(ex)
            except TypeError:  # unhashable values: compare one by one
                return [ex for ex in self.pool if ex.metadata.get(match) == sample.metadata.get(match)]
            self._by_match = index
        try:
            return self._by_match.get(sample.metadata.get(match), [])
        except TypeError:
            return [ex for ex in self.pool if ex.metadata.get(match) == sample.metadata.get(match)]

    def rendered_example(self, example: Sample) -> tuple[str, str]:
        """(question, answer) of a few-shot example, rendered once per builder."""
        cached = self._rendered.get(example.id)
        if cached is None:
            cached = self._rendered[example.id] = (self.question(example), self.answer(example))
        return cached

    def context_text(self, sample: Sample) -> str:
        """The whole prompt as plain text: few-shot examples, then the question."""
        parts = ["".join(self.rendered_example(ex)) for ex in self.examples(sample)]
        parts.append(self.question(sample))
        text = self.spec.prompt.separator.join(parts)
        if self._system is not None:
            text = self._render(self._system, sample) + self.spec.prompt.separator + text
        return text

    def messages(self, sample: Sample) -> tuple[tuple[str, str], ...]:
        """Chat turns: system, then few-shot examples as user/assistant turns, then the question."""
        turns: list[tuple[str, str]] = []
        if self._system is not None:
            turns.append(("system", self._render(self._system, sample)))
        if not self.spec.prompt.fewshot_as_multiturn:  # one user turn: the examples, then the question
            parts = ["".join(self.rendered_example(ex)) for ex in self.examples(sample)]
            turns.append(("user", self.spec.prompt.separator.join([*parts, self.question(sample)])))
            return tuple(turns)
        for example in self.examples(sample):
            question, answer = self.rendered_example(example)
            turns.append(("user", question))
            turns.append(("assistant", answer.strip()))
        turns.append(("user", self.question(sample)))
        return tuple(turns)

    def generate_request(self, sample: Sample, replica: int = 0, seed: int | None = None) -> GenerateRequest:
        gen = self.spec.generation
        common = dict(max_tokens=gen.max_tokens, temperature=gen.temperature, top_p=gen.top_p,
                      stop=tuple(gen.stop), replica=replica, seed=seed)
        if self.spec.prompt.style == "plain":
            return GenerateRequest(prompt=self.context_text(sample), **common)  # type: ignore[arg-type]
        return GenerateRequest(messages=self.messages(sample), **common)  # type: ignore[arg-type]
