"""Judged benchmarks: a judge model grades the answers (pointwise) or compares them (pairwise).

``options``:
  mode:       pointwise (PASS/FAIL per answer) | pairwise (the model against ``baseline_output``) |
              pairs (both responses come with the data, nothing is generated: meta-evaluation)
  template:   judge template name (default: the mode's generic one); ``templates``: {category: name}
              picks a reference-guided one per ``category`` (e.g. math → pointwise_math)
  criteria:   criteria text replacing the template's default (a user's --judge-criteria wins)
  baseline:   the baseline's name for pairwise (default "baseline")
  references: {files, key, value[, value2]}: reference answers in a separate file under --data-dir (MT-Bench's
              reference_answer/gpt-4.jsonl), matched by ``key`` to the sample's ``ref_key`` field; ``value2``
              is the second turn's reference

Second turn (pointwise): a sample with a ``turn2`` field is asked again after its first answer (the runner's
``next_requests`` round, with the first answer in the conversation); the judge grades that answer with the
same template, the prompt being the conversation so far and the reference the second one (``value2``, or a
``reference2`` field). ``pass_rate`` averages a sample's judged turns; ``pass_rate_turn1``/``_turn2`` split them.

Run settings (``KindContext.judge``): ``swap`` (both orders; without it each pair is shown in one order chosen
per item from its id and the seed, as AlpacaEval randomises), ``policy`` (conservative: a flip is a tie;
balanced: the orders' scores averaged), ``jury`` (majority | mean over several --judge), ``template``,
``criteria``. The kind keeps nothing between stages: the judge calls are recomputed from each sample, and
the first reply of a re-asked call comes back in ``JudgeAnswer.first``. The parse is strict (``evalkit.judging.parse``); an invalid
reply is asked once more with a reminder, then counted invalid and scored as nothing.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from evalkit.data.fields import compile_fields
from evalkit.data.loading import load_local
from evalkit.errors import ConfigError
from evalkit.judging.agreement import cohen_kappa, fleiss_kappa, percent_agreement
from evalkit.judging.bias import figure, pair_score
from evalkit.judging.parse import parse_verdict
from evalkit.judging.records import PairItem, score_of, winner_of
from evalkit.judging.style import markdown_counts
from evalkit.judging.templates import JudgeTemplate, load_template
from evalkit.kinds.base import KindBase, KindContext
from evalkit.kinds.prompting import PromptBuilder
from evalkit.specs.benchmark import BenchmarkSpec, LocalSource
from evalkit.specs.options import KindOptions, StrictModel
from evalkit.types import (
    GenerateRequest,
    GenerateResult,
    JudgeAnswer,
    JudgmentRow,
    MetricInfo,
    Outcome,
    Request,
    Result,
    Sample,
    Scored,
)


@dataclass(frozen=True)
class Call:
    """One judge request: which order it showed, and with which template."""

    order: str  # "ab" | "ba"
    template: JudgeTemplate
    request: GenerateRequest
    turn: int = 1


class References(StrictModel):
    """Reference answers in their own file under --data-dir, matched by ``key`` to a sample's ``ref_key``."""

    files: str
    key: str
    value: str
    value2: str | None = None  # the second turn's reference


class JudgedOptions(KindOptions):
    mode: Literal["pointwise", "pairwise", "pairs"] = "pointwise"
    template: str | None = None
    templates: dict[str, str] = Field(default_factory=dict)
    criteria: str | None = None
    baseline: str = "baseline"
    references: References | None = None
    probe: str | None = None  # marks judgment rows of a bias probe (e.g. "padding")


def _references(spec: BenchmarkSpec, option: References | None,
                data_dir: Path | None) -> dict[str, list[str | None]]:
    """Reference answers (per turn) kept in their own file (local data only; hub rows carry them inline)."""
    if option is None or data_dir is None:
        return {}
    rows = load_local(LocalSource(files=option.files), data_dir)
    names = {k: v for k, v in (("key", option.key), ("value", option.value), ("value2", option.value2)) if v}
    fields = compile_fields(names, f"benchmark {spec.name} references")
    return {str(fields["key"](**row, row=row)): [str(fields[k](**row, row=row)) if k in fields else None
                                                 for k in ("value", "value2")] for row in rows}


def _two_turns(spec: BenchmarkSpec) -> bool:
    hub = spec.sources.hub if spec.sources is not None else None
    return "turn2" in spec.fields or "turn2" in ((hub.fields if hub is not None else None) or {})


def _conversation(question: str, answer: str, followup: str) -> str:
    """What the judge reads as the prompt of a second turn: the exchange so far, then the new question."""
    return f"### User:\n{question}\n\n### Assistant:\n{answer}\n\n### User:\n{followup}"


def _mean(values: list[float | None]) -> float | None:
    valid = [v for v in values if v is not None]
    return sum(valid) / len(valid) if valid else None


def _text(outcome: Outcome) -> str | None:
    result = outcome.result
    return result.text if isinstance(result, GenerateResult) else None


class JudgedKind(KindBase):
    Options: ClassVar[type[JudgedOptions]] = JudgedOptions
    options: JudgedOptions

    def __init__(self, spec: BenchmarkSpec, context: KindContext | None = None, options: JudgedOptions | None = None) -> None:
        super().__init__(spec, context, options)
        options = self.options
        fewshot_pool = self.context.fewshot_pool
        self.mode = options.mode
        self.prompts = PromptBuilder(spec, fewshot_pool)
        settings = self.context.judge
        self.swap = settings.swap and self.mode != "pointwise"
        self.policy = settings.policy
        self.jury = settings.jury
        self.criteria = settings.criteria or options.criteria
        forced = settings.template
        default = forced or options.template or ("pointwise" if self.mode == "pointwise" else "pairwise")
        by_category = {} if forced else dict(options.templates)
        self.default_template = load_template(default)
        self.templates = {k: load_template(v) for k, v in by_category.items()}
        want = "pointwise" if self.mode == "pointwise" else "pairwise"
        for template in (self.default_template, *self.templates.values()):
            if template.kind != want:
                raise ConfigError(f"benchmark {spec.name}: judge template {template.name} is {template.kind}; "
                                  f"this benchmark needs a {want} template")
        self.model = settings.candidate
        self.baseline = options.baseline
        self.judges: list[str] = list(settings.judges)
        self.references = _references(spec, options.references, self.context.data_dir)
        self.two_turns = self.mode == "pointwise" and _two_turns(spec)
        self.seed = self.context.seed

    # -- stage 1: the model answers --------------------------------------------------------------
    def metrics(self, mode: str) -> list[MetricInfo]:
        base = "pass_rate" if self.mode == "pointwise" else "win_rate"
        turns = [MetricInfo(f"{base}_turn1"), MetricInfo(f"{base}_turn2")] if self.two_turns else []
        extra = [MetricInfo(f"{base}:{j}") for j in self.judges] if len(self.judges) > 1 else []
        return [MetricInfo(base), *turns, *extra]

    def requests(self, sample: Sample, mode: str) -> list[Request]:
        return [] if self.mode == "pairs" else [self.prompts.generate_request(sample)]

    def next_requests(self, sample: Sample, results: list[Result], mode: str) -> list[Request]:
        """The second turn: the first exchange, then the sample's ``turn2`` question."""
        turn2 = sample.metadata.get("turn2")
        answer = results[0].text if results and isinstance(results[0], GenerateResult) else None
        if not self.two_turns or self.context.replayed or not turn2 or answer is None or len(results) != 1:
            return []  # a predictions file answers the first turn only: no dependent round is asked of it
        first = self.prompts.generate_request(sample)
        history = first.messages or (("user", first.prompt or ""),)
        return [dataclasses.replace(first, prompt=None,
                                    messages=(*history, ("assistant", answer), ("user", str(turn2))))]

    def score(self, samples: list[Sample], results: list[list[Result]], mode: str) -> list[Scored]:
        scored = []
        for sample, outs in zip(samples, results):
            texts = [o.text if isinstance(o, GenerateResult) else None for o in outs]
            extra = {"output_turn2": texts[1]} if len(texts) > 1 else {}
            scored.append(Scored(sample=sample, prompt="", output=texts[0] if texts else None, scores={}, extra=extra))
        return scored

    # -- stage 2: the judges -----------------------------------------------------------------------
    def item(self, s: Scored) -> PairItem:
        meta = s.sample.metadata
        prompt = str(meta.get("judge_prompt") or s.sample.input)
        if self.mode == "pairs":
            return PairItem(id=s.sample.id, prompt=prompt, response_a=str(meta["response_a"]),
                            response_b=str(meta["response_b"]), model_a=str(meta.get("model_a", "output_1")),
                            model_b=str(meta.get("model_b", "output_2")), gold=meta.get("gold"),
                            reference=meta.get("reference"), category=meta.get("category"))
        reference = meta.get("reference") or (self.references.get(str(meta.get("ref_key"))) or [None])[0]
        return PairItem(id=s.sample.id, prompt=prompt, response_a=s.output or "",
                        response_b=str(meta.get("baseline_output", "")), model_a=self.model, model_b=self.baseline,
                        gold=meta.get("gold"), reference=reference, category=meta.get("category"))

    def items(self, s: Scored) -> list[PairItem]:
        """What the judge grades for one sample: the first answer, and the second turn's when there is one."""
        first = self.item(s)
        answer = s.extra.get("output_turn2")
        if answer is None:
            return [first]
        meta = s.sample.metadata
        reference = meta.get("reference2") or (self.references.get(str(meta.get("ref_key"))) or [None, None])[1]
        return [first, dataclasses.replace(first, id=f"{first.id}-turn2", response_a=str(answer), reference=reference,
                                           prompt=_conversation(first.prompt, s.output or "", str(meta["turn2"])))]

    def _template(self, item: PairItem) -> JudgeTemplate:
        return self.templates.get(str(item.category), self.default_template)

    def _calls_for(self, item: PairItem, turn: int = 1) -> list[Call]:
        template = self._template(item)
        context: dict[str, Any] = {"prompt": item.prompt, "reference": item.reference,
                                   "criteria": self.criteria or template.criteria}
        if self.mode == "pointwise":
            return [Call("ab", template, template.request({**context, "response": item.response_a}), turn)]
        # one order only: chosen per item (seeded by its id), so position bias cannot favour one side
        orders = ("ab", "ba") if self.swap else (("ab", "ba")[zlib.crc32(f"{self.seed}:{item.id}".encode()) % 2],)
        return [Call(order, template, template.request({
            **context, "response_a": item.response_a if order == "ab" else item.response_b,
            "response_b": item.response_b if order == "ab" else item.response_a})) for order in orders]

    def _calls(self, s: Scored) -> list[Call]:
        """The judge calls one sample needs (the same for every judge; none for an unanswered sample)."""
        if s.error is not None or (self.mode != "pairs" and s.output is None):
            return []
        return [c for t, item in enumerate(self.items(s), 1) for c in self._calls_for(item, t)]

    def judge_requests(self, scored: list[Scored], judge: str) -> list[list[Request]]:
        return [[c.request for c in self._calls(s)] for s in scored]

    def judge_followups(self, scored: list[Scored], judge: str,
                        outcomes: list[list[Outcome]]) -> list[list[Request | None]]:
        """Parse the first replies; an invalid one (not a failed call) gets one reminder."""
        again: list[list[Request | None]] = []
        for s, outs in zip(scored, outcomes):
            calls = self._calls(s)
            parsed = [None if _text(o) is None else parse_verdict(_text(o), c.template.labels)
                      for c, o in zip(calls, outs)]
            again.append([c.template.followup(c.request, _text(o) or "", p.problem or "")
                          if p is not None and not p.valid else None for c, o, p in zip(calls, outs, parsed)])
        return again

    def apply_judgments(self, scored: list[Scored], judgments: dict[str, list[list[JudgeAnswer]]]) -> list[Scored]:
        return [self._judged(s, {judge: answers[i] for judge, answers in judgments.items()})
                for i, s in enumerate(scored)]

    def _judged(self, s: Scored, answers: dict[str, list[JudgeAnswer]]) -> Scored:
        """One sample with every judge's verdicts folded in: per turn, per judge, then the jury."""
        base = self.metrics("generate")[0].name
        items = self.items(s) if s.error is None else []
        calls = self._calls(s)
        per_turn: dict[int, dict[str, float | None]] = {}  # turn → judge → score
        judged: list[JudgmentRow] = []
        for judge, judge_answers in answers.items():
            if not items or not calls:
                continue
            for turn, item in enumerate(items, 1):
                rows = [self._row(judge, item, c, a) for c, a in zip(calls, judge_answers) if c.turn == turn]
                judged.extend(rows)
                per_turn.setdefault(turn, {})[judge] = pair_score({r.order: r.as_dict() for r in rows}, self.policy)
        juried = {turn: self._jury(list(by_judge.values())) for turn, by_judge in per_turn.items()}
        per_judge = {j: _mean([per_turn[t].get(j) for t in per_turn]) for j in per_turn.get(1, {})}
        scores = dict(s.scores)
        scores[base] = _mean(list(juried.values())) if per_turn else None
        if self.two_turns:
            scores.update({f"{base}_turn{t}": juried.get(t) for t in (1, 2)})
        if len(self.judges) > 1:
            scores.update({f"{base}:{j}": v for j, v in per_judge.items()})
        return dataclasses.replace(s, scores=scores, extra={**s.extra, "judge_scores": per_judge},
                                   judgments=s.judgments + tuple(judged))

    def _row(self, judge: str, item: PairItem, call: Call, answer: JudgeAnswer) -> JudgmentRow:
        outcome = answer.outcome
        text = _text(outcome)
        parsed = parse_verdict(text, call.template.labels) if text is not None else None
        verdict = parsed.verdict if parsed else None
        pointwise = self.mode == "pointwise"
        winner = None if pointwise else winner_of(verdict, call.order, item.model_a, item.model_b)
        score = (None if verdict is None else float(verdict == "PASS")) if pointwise else score_of(winner, item.model_a)
        return JudgmentRow(
            benchmark=self.spec.name, id=item.id, judge=judge, kind="pointwise" if pointwise else "pairwise",
            model_a=item.model_a, model_b=None if pointwise else item.model_b,
            order="ab" if call.order == "ab" else "ba", verdict=verdict, winner=winner, valid=verdict is not None,
            rationale=parsed.rationale if parsed else None, score=score, len_a=len(item.response_a),
            len_b=None if pointwise else len(item.response_b), md_a=markdown_counts(item.response_a),
            md_b=None if pointwise else markdown_counts(item.response_b), gold=item.gold,
            probe=self.options.probe or None, category=item.category, retried=answer.retried,
            problem=(parsed.problem if parsed else f"judge call failed: {outcome.error}"), template=call.template.name,
        )

    def _jury(self, scores: list[float | None]) -> float | None:
        valid = [s for s in scores if s is not None]
        if not valid:
            return None
        if self.jury == "mean":
            return sum(valid) / len(valid)
        votes = Counter(1.0 if s > 0.5 else 0.0 if s < 0.5 else 0.5 for s in valid).most_common()
        return votes[0][0] if len(votes) == 1 or votes[0][1] > votes[1][1] else 0.5

    def summarize(self, scored: list[Scored], mode: str) -> dict[str, Any]:
        """Per judge: invalid and retried counts, order inconsistency; across judges: agreement."""
        if not self.judges:
            return {"judging": {"note": "no --judge given: the judged metrics are empty; judge later with `evalkit judge`"}}
        all_rows = self.judgment_rows(scored)
        if not all_rows:
            return {}
        per_judge = {}
        for judge in self.judges:
            rows = [r for r in all_rows if r.judge == judge]
            pairs: dict[str, dict[str, JudgmentRow]] = {}
            for r in rows:
                pairs.setdefault(r.id, {})[r.order] = r
            both = [p for p in pairs.values() if len(p) == 2 and all(r.valid for r in p.values())]
            per_judge[judge] = {
                "n_calls": len(rows), "n_invalid": sum(not r.valid for r in rows),
                "n_retried": sum(r.retried for r in rows),
                "inconsistent_rate": (sum(p["ab"].winner != p["ba"].winner for p in both) / len(both)
                                      if both else None),
            }
        out: dict[str, Any] = {"judging": {"judges": per_judge, "policy": self.policy, "swap": self.swap}}
        if len(self.judges) > 1:
            out["judging"]["agreement"] = self._agreement(scored)
        return out

    def _agreement(self, scored: list[Scored]) -> dict[str, Any]:
        def label(v: float) -> str:
            return "1" if v > 0.5 else "0" if v < 0.5 else "tie"

        table = [[label(s.extra["judge_scores"][j]) for j in self.judges] for s in scored
                 if all(s.extra.get("judge_scores", {}).get(j) is not None for j in self.judges)]
        def kappa(i: int, k: int) -> Callable[[list[list[str]]], float]:
            return lambda t: cohen_kappa([r[i] for r in t], [r[k] for r in t])

        pairs = {f"{a}|{b}": figure(table, kappa(i, k), 1000)
                 for i, a in enumerate(self.judges) for k, b in enumerate(self.judges) if i < k}
        return {"percent_agreement": figure(table, percent_agreement, 1000),
                "fleiss_kappa": figure(table, fleiss_kappa, 1000), "cohen_kappa": pairs, "n_items": len(table)}
