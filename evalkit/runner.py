"""The one module that wires the stages: tasks → requests → executor → scoring → run directory."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit.backends.base import Backend
from evalkit.backends.factory import create_backend
from evalkit.config import RunConfig
from evalkit.errors import BudgetReached, ConfigError
from evalkit.execution.cost import Budget
from evalkit.execution.executor import Executor, Outcome, RetryPolicy
from evalkit.execution.ledger import CostLedger
from evalkit.execution.pricing import load_prices
from evalkit.execution.progress import Progress
from evalkit.execution.store import ResponseStore
from evalkit.kinds.base import Scored
from evalkit.paths import cache_dir
from evalkit.stats.aggregate import aggregate
from evalkit.store.rundir import RunDir
from evalkit.tasks import Task, load_task, prompt_hash
from evalkit.types import GenerateRequest, Request, Result

_VERSIONED = ("evalkit", "openai", "transformers", "torch", "datasets", "sacrebleu", "rouge-score", "nltk", "numpy")


@dataclass
class RunSummary:
    out: Path
    results: dict[str, Any]
    n_samples: int
    n_errors: int
    exceeded_error_rate: bool
    judge_failures: tuple[str, ...] = ()  # judges that answered nothing usable: the run failed
    cost: dict[str, Any] = dataclasses.field(default_factory=dict)  # manifest.json's "cost" section


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def resolve_data_dir(explicit: Path | None) -> Path | None:
    """Where local benchmark copies live: ``--data-dir``, else ``$EVALKIT_DATA_DIR``, else
    ``<checkout>/../shared/data`` when it exists; None means the Hugging Face hub."""
    if explicit is not None:
        return explicit
    env = os.environ.get("EVALKIT_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise ConfigError(f"EVALKIT_DATA_DIR={env} is not a directory")
        return path
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return shared if shared.is_dir() else None


def choose_mode(task: Task, backend: Backend, requested: str) -> str:
    modes = task.spec.modes
    if requested == "auto":
        if "loglikelihood" in modes and backend.prefers_loglikelihood:
            return "loglikelihood"
        return "generate" if "generate" in modes else modes[0]
    if requested not in modes:
        raise ConfigError(f"benchmark {task.spec.name} does not support --mode {requested} (it supports {', '.join(modes)})")
    if requested == "loglikelihood" and not backend.supports_loglikelihood:
        raise ConfigError(f"{backend.name} cannot score log-likelihoods; use --mode generate")
    return requested


def _apply_overrides(request: Request, config: RunConfig) -> Request:
    if not isinstance(request, GenerateRequest):
        return request
    options = config.backend
    changes: dict[str, Any] = {}
    if options.temperature is not None:
        changes["temperature"] = options.temperature
    if options.top_p is not None:
        changes["top_p"] = options.top_p
    if options.max_tokens is not None:
        changes["max_tokens"] = options.max_tokens
    temperature = changes.get("temperature", request.temperature)
    if temperature > 0 and request.seed is None:
        changes["seed"] = config.seed + request.replica
    return dataclasses.replace(request, **changes) if changes else request


def _default_out(config: RunConfig) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    model = (config.model or "embedded").replace(":", "_").replace("/", "_")
    return Path("runs") / f"{stamp}-{model}"


class Runner:
    def __init__(self, config: RunConfig) -> None:
        config.validate()
        self.config = config
        self.rundir = RunDir(config.out or _default_out(config))
        self.ledger = CostLedger(load_prices(config.pricing), Budget(config.max_cost, config.max_tokens_total))
        self.concurrency: dict[str, Any] = {}  # per executor round: AIMD trace and 429 count

    async def run(self) -> RunSummary:
        config = self.config
        started = time.time()
        data_dir = resolve_data_dir(config.data_dir)
        tasks = [load_task(name, data_dir, config.limit_for(name), config=config) for name in config.benchmarks]
        backend = create_backend(config.model, config.backend)
        try:
            self.rundir.prepare(backend.identity, {task.spec.name: len(task.samples) for task in tasks})
            modes = [choose_mode(task, backend, config.mode) for task in tasks]
            plan = [[[_apply_overrides(r, config) for r in task.kind.requests(s, mode)] for s in task.samples]
                    for task, mode in zip(tasks, modes)]
            estimate = self._check_budget(backend, plan)
            manifest = self._manifest(backend, tasks, modes, plan, started)
            self.rundir.record_start(manifest)
            try:
                outcomes, exec_stats = await self._execute(backend, tasks, plan, modes)
            except BaseException as exc:  # say in the manifest why the run stopped; the journal keeps what was done
                stopped = isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
                status = "budget_reached" if isinstance(exc, BudgetReached) else "interrupted" if stopped else "failed"
                manifest.update(status=status, finished_at=_now(), cost=self.ledger.summary(),
                                cost_estimate=estimate, concurrency=self.concurrency,
                                error=None if stopped else (str(exc) or type(exc).__name__))
                self.rundir.record_stop(manifest)
                raise
        finally:
            await backend.aclose()
        results: dict[str, Any] = {"benchmarks": {}}
        rows: list[dict[str, Any]] = []
        total = errors = 0
        for task, mode, requests, task_outcomes in zip(tasks, modes, plan, outcomes):
            scored = self._score(task, mode, requests, task_outcomes)
            if config.judges and hasattr(task.kind, "judge_requests"):
                scored = await self.judge(task.kind, scored, exec_stats)
            metrics = task.kind.metrics()
            entry = aggregate(scored, metrics, task.kind.options.group_by, task.kind.options.rollup_config())
            entry.update(mode=mode, category=task.spec.category, kind=task.spec.kind)
            extra = getattr(task.kind, "summarize", None)
            if extra is not None:
                entry.update(extra(scored))
            results["benchmarks"][task.spec.name] = entry
            self.ledger.add_benchmark(task.spec.name, [(o.result.usage, o.cost_usd) for outs in task_outcomes
                                                       for o in outs if o.result is not None and not o.cached])
            rows.extend(self._row(task.spec.name, s) for s in scored)
            total += entry["n"]
            errors += entry["n_errors"]
        self.rundir.write_samples(rows)
        judged = [row for task in tasks for row in getattr(task.kind, "judgment_rows", list)()]
        failures: list[str] = []
        if judged:  # <run>/judgments.jsonl and results.json "judge_bias"
            from evalkit.judging.outputs import failed_judges, write_judge_outputs

            results["judge_bias"] = write_judge_outputs(self.rundir.path, judged, config.seed)
            failures = failed_judges(judged)
        self.rundir.write_json(self.rundir.results_path, results)
        cost = self.ledger.summary()
        manifest.update(finished_at=_now(), wall_seconds=round(time.time() - started, 3), status="complete",
                        execution=exec_stats, n_samples=total, n_errors=errors, cost=cost, cost_estimate=estimate,
                        concurrency=self.concurrency)
        self.rundir.write_json(self.rundir.manifest_path, manifest)
        exceeded = total > 0 and errors / total > config.max_error_rate
        return RunSummary(self.rundir.path, results, total, errors, exceeded, tuple(failures), cost)

    def _check_budget(self, backend: Backend, plan: list[list[list[Request]]]) -> dict[str, Any] | None:
        """Before any call: what earlier invocations on this run directory paid, and whether the
        estimate for the rest fits --max-cost / --max-tokens-total (exit 2 unless --force)."""
        budget = self.ledger.budget
        if budget.limited and backend.is_batched:
            raise ConfigError(f"--max-cost/--max-tokens-total apply to API models; {backend.name} has no per-token price")
        journal = ResponseStore(self.rundir.journal_path)
        cache = ResponseStore(cache_dir() / "cache.sqlite") if self.config.use_cache and budget.limited else None
        try:
            budget.spent_usd, budget.spent_tokens = journal.paid()
            if not budget.limited:
                return None
            flat = [r for task_plan in plan for reqs in task_plan for r in reqs]
            return self.ledger.check_start(backend, flat, journal, cache, self.config.force)
        finally:
            journal.close()
            if cache is not None:
                cache.close()

    def _manifest(self, backend: Backend, tasks: list[Task], modes: list[str],
                  plan: list[list[list[Request]]], started: float) -> dict[str, Any]:
        benchmarks = {}
        for task, mode, requests in zip(tasks, modes, plan):
            info = task.fingerprint()
            info.update(mode=mode, prompt_sha256=prompt_hash([r[0].prompt_text() if r else "" for r in requests]))
            benchmarks[task.spec.name] = info
        return {
            "evalkit_version": _versions()["evalkit"], "versions": _versions(),
            "config": self.config.public(), "seed": self.config.seed,
            "model": {"name": backend.name, "identity": backend.identity, **backend.describe()},
            "benchmarks": benchmarks, "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
            "status": "running",
        }

    async def _execute(self, backend: Backend, tasks: list[Task], plan: list[list[list[Request]]],
                       modes: list[str] | None = None) -> tuple[list[list[list[Outcome]]], dict[str, Any]]:
        answer = getattr(backend, "results_for", None)
        if answer is not None:  # predictions: answers are looked up by sample id, no model calls
            check = getattr(backend, "check_coverage", None)
            for task in tasks if check is not None else ():
                check(task.spec.name, task.samples)  # every missing id is reported before any scoring
            outcomes = [[[Outcome(result=r) for r in answer(task.spec.name, sample, reqs)]
                         for sample, reqs in zip(task.samples, task_plan)] for task, task_plan in zip(tasks, plan)]
            return outcomes, {"requests": 0, "model_calls": 0}
        flat = [r for task_plan in plan for reqs in task_plan for r in reqs]
        flat_outcomes, stats = await self._run_executor(backend, flat, "evaluating")
        it = iter(flat_outcomes)
        outcomes = [[[next(it) for _ in reqs] for reqs in task_plan] for task_plan in plan]
        await self._next_round(backend, tasks, modes or [""] * len(tasks), outcomes, stats)
        return outcomes, stats

    async def _next_round(self, backend: Backend, tasks: list[Task], modes: list[str],
                          outcomes: list[list[list[Outcome]]], stats: dict[str, Any]) -> None:
        """A dependent second round (e.g. MT-Bench's turn 2): a kind's ``next_requests`` sees round 1's
        results; the answers are appended to that sample's outcomes, through the same journal and cache."""
        asked: list[tuple[list[Outcome], list[Request]]] = []
        for task, mode, task_outcomes in zip(tasks, modes, outcomes):
            follow = getattr(task.kind, "next_requests", None)
            if follow is None:
                continue
            for sample, outs in zip(task.samples, task_outcomes):
                if outs and all(o.result is not None for o in outs):  # a failed round 1 is already an error
                    reqs = [_apply_overrides(r, self.config) for r in follow(sample, [o.result for o in outs], mode)]
                    if reqs:
                        asked.append((outs, reqs))
        if not asked:
            return
        answered, more = await self._run_executor(backend, [r for _, reqs in asked for r in reqs], "next turn")
        it = iter(answered)
        for outs, reqs in asked:
            outs.extend(next(it) for _ in reqs)
        for key, value in more.items():
            stats[key] = stats.get(key, 0) + value

    async def _run_executor(self, backend: Backend, requests: list[Request], label: str,
                            role: str = "model") -> tuple[list[Outcome], dict[str, Any]]:
        """Answer requests through the journal (always) and the shared cache (unless --no-cache)."""
        config = self.config
        journal = ResponseStore(self.rundir.journal_path)
        cache = ResponseStore(cache_dir() / "cache.sqlite") if config.use_cache else None
        executor = Executor(backend, journal, cache, config.concurrency, config.requests_per_minute,
                            RetryPolicy(max_retries=config.max_retries, timeout=config.timeout),
                            meter=self.ledger.meter_for(backend, role), adaptive=config.adaptive_concurrency)
        progress = Progress(len(requests), label, quiet=config.quiet, status=executor.progress_text)
        try:
            outcomes = await executor.run(requests, lambda n, t, e: progress.advance(n, t, e))
        finally:
            progress.close()
            journal.close()
            if cache is not None:
                cache.close()
            if not backend.is_batched:
                self.concurrency[label] = executor.controller.as_dict()
        return outcomes, executor.stats.as_dict()

    async def judge(self, kind: Any, scored: list[Scored], exec_stats: dict[str, Any]) -> list[Scored]:
        """Second stage: every --judge model answers the kind's judge requests; the kind folds them in.

        A kind with ``judge_followups`` may ask once more where a reply was unusable (e.g. a verdict that
        cannot be parsed): the follow-up's outcome replaces the first one.
        """
        config = self.config
        judgments: dict[str, list[list[Outcome]]] = {}
        for judge_name in config.judges:
            judge = create_backend(judge_name, config.judge_backend or config.backend)
            try:
                per_sample = kind.judge_requests(scored, judge_name)
                outcomes = await self._ask(judge, judge_name, per_sample, "judging", exec_stats)
                followups = getattr(kind, "judge_followups", None)
                if followups is not None:
                    again = followups(scored, judge_name, outcomes)
                    asked = [[r for r in reqs if r is not None] for reqs in again]
                    if any(asked):
                        answered = await self._ask(judge, judge_name, asked, "re-asking", exec_stats)
                        answers = iter([o for outs in answered for o in outs])
                        outcomes = [[next(answers) if r is not None else o for r, o in zip(reqs, outs)]
                                    for reqs, outs in zip(again, outcomes)]
            finally:
                await judge.aclose()
            judgments[judge_name] = outcomes
        return kind.apply_judgments(scored, judgments)  # type: ignore[no-any-return]

    async def _ask(self, judge: Backend, judge_name: str, per_sample: list[list[Request]], label: str,
                   exec_stats: dict[str, Any]) -> list[list[Outcome]]:
        flat = [r for reqs in per_sample for r in reqs]
        outcomes, stats = await self._run_executor(judge, flat, f"{label} ({judge_name})", role="judge")
        totals = exec_stats.setdefault("judges", {}).setdefault(judge_name, {})
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
        it = iter(outcomes)
        return [[next(it) for _ in reqs] for reqs in per_sample]

    def _score(self, task: Task, mode: str, requests: list[list[Request]],
               outcomes: list[list[Outcome]]) -> list[Scored]:
        ok_index = [i for i, outs in enumerate(outcomes) if all(o.result is not None for o in outs)]
        results: list[list[Result]] = [[o.result for o in outcomes[i]] for i in ok_index]  # type: ignore[misc]
        scored_ok = task.kind.score([task.samples[i] for i in ok_index], results, mode) if ok_index else []
        by_index = dict(zip(ok_index, scored_ok))
        scored = []
        for i, sample in enumerate(task.samples):
            prompt = requests[i][0].prompt_text() if requests[i] else ""
            if i in by_index:
                item = by_index[i]
                item.prompt = item.prompt or prompt
            else:
                error = next(o.error for o in outcomes[i] if o.result is None)
                item = Scored(sample=sample, prompt=prompt, output=None, scores={}, error=error)
            scored.append(item)
        return scored

    @staticmethod
    def _row(benchmark: str, item: Scored) -> dict[str, Any]:
        return {
            "benchmark": benchmark, "id": item.sample.id, "input": item.prompt, "output": item.output,
            "target": item.sample.target, "choices": list(item.sample.choices) if item.sample.choices else None,
            "scores": item.scores, "extracted": item.extracted,
            "error": item.error, "metadata": item.sample.metadata, **item.extra,
        }


def run(config: RunConfig) -> RunSummary:
    """Synchronous entry point (CLI and scripts)."""
    return asyncio.run(Runner(config).run())
