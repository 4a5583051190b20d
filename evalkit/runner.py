"""The one module that wires the stages: tasks → requests → executor → scoring → run directory."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit.backends.base import Backend, BatchAPIBackend
from evalkit.backends.factory import create_backend
from evalkit.config import RunConfig
from evalkit.errors import BudgetReached, ConfigError
from evalkit.execution.batch_api import BatchJournal, BatchOptions
from evalkit.execution.cost import Budget
from evalkit.execution.executor import Executor, RetryPolicy
from evalkit.execution.ledger import CostLedger
from evalkit.execution.pricing import load_prices
from evalkit.execution.progress import Progress
from evalkit.execution.store import ResponseStore
from evalkit.judging.live import padding_items
from evalkit.judging.outputs import failed_judges, write_judge_outputs
from evalkit.judging.records import PairItem
from evalkit.kinds.base import Kind
from evalkit.paths import cache_dir
from evalkit.stats.aggregate import aggregate
from evalkit.store.rundir import RunDir, with_session
from evalkit.tasks import Task, load_task, pair_tasks, prompt_hash
from evalkit.types import (
    GenerateRequest,
    JudgeAnswer,
    JudgmentRow,
    Outcome,
    Request,
    RequestRef,
    Sample,
    Scored,
)

LOCAL_PROVIDERS = ("hf", "vllm")  # providers that load weights before the first answer (said on stderr)
_VERSIONED = ("evalkit", "openai", "transformers", "torch", "datasets", "sacrebleu", "rouge-score", "nltk", "numpy")


@dataclass(frozen=True)
class RunSummary:
    """What a finished run reports back (everything is also in its run directory)."""

    out: Path
    results: dict[str, Any]
    n_samples: int
    n_errors: int
    exceeded_error_rate: bool
    judgments: list[JudgmentRow] = field(default_factory=list)
    judge_failures: tuple[str, ...] = ()  # judges that answered nothing usable: the run failed
    cost: dict[str, Any] = field(default_factory=dict)  # manifest.json's "cost" section


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


def _planned(task: Task, mode: str, config: RunConfig) -> list[list[Request]]:
    """Every sample's requests, with the run's overrides and who asked (``Request.ref``)."""
    return [_stamped(task.kind.requests(sample, mode), task.spec.name, sample, 1, config) for sample in task.samples]


def _stamped(requests: list[Request], benchmark: str, sample: Sample, turn: int, config: RunConfig) -> list[Request]:
    n = len(requests)
    return [dataclasses.replace(_apply_overrides(r, config), ref=RequestRef(benchmark, sample.id, i, n, turn))
            for i, r in enumerate(requests)]


class Runner:
    def __init__(self, config: RunConfig) -> None:
        config.validate()
        self.config = config
        self.rundir = RunDir(config.out or _default_out(config))
        self.ledger = CostLedger(load_prices(config.pricing), Budget(config.max_cost, config.max_tokens_total),
                                 batch=config.batch)
        self.concurrency: dict[str, Any] = {}  # per executor round: AIMD trace and 429 count
        self.session_totals: dict[str, float] = {}  # this session's executor counts, model and judges

    async def run(self, tasks: list[Task] | None = None) -> RunSummary:
        """Run the config's benchmarks (or ``tasks`` already built, e.g. a live judge audit)."""
        config = self.config
        started = time.time()
        if tasks is None:
            data_dir = resolve_data_dir(config.data_dir)
            overrides = config.spec_overrides()
            tasks = [load_task(name, data_dir, config.limit_for(name), overrides, config=config)
                     for name in config.benchmarks]
        if not config.quiet and (config.model or "hf:").split(":", 1)[0] in LOCAL_PROVIDERS:
            print(f"loading {config.model or 'the embedded model'}…", file=sys.stderr, flush=True)
        backend = create_backend(config.model, config.backend)
        try:
            self.rundir.prepare(backend.identity, {task.spec.name: len(task.samples) for task in tasks})
            modes = [choose_mode(task, backend, config.mode) for task in tasks]
            plan = [_planned(task, mode, config) for task, mode in zip(tasks, modes)]
            estimate = self._check_budget(backend, plan)
            manifest = self._manifest(backend, tasks, modes, plan, started)
            previous = self.rundir.previous_sessions()
            self.rundir.record_start(manifest)
            try:
                outcomes, exec_stats = await self._execute(backend, tasks, plan, modes)
            except BaseException as exc:  # say in the manifest why the run stopped; the journal keeps what was done
                self._record_stop(manifest, exc, estimate, previous)
                raise
        finally:
            await backend.aclose()
        results: dict[str, Any] = {"benchmarks": {}}
        rows: list[dict[str, Any]] = []
        judged: list[JudgmentRow] = []
        total = errors = 0
        for task, mode, requests, task_outcomes in zip(tasks, modes, plan, outcomes):
            scored = self._score(task, mode, requests, task_outcomes)
            if config.judges:
                try:
                    scored = await self.judge(task.kind, scored, exec_stats)
                except BudgetReached as exc:  # judges share the run's budget
                    self._record_stop(manifest, exc, estimate, previous)
                    raise
            entry = aggregate(scored, task.kind.metrics(mode), task.kind.options.group_by,
                              task.kind.options.rollup_config())
            entry.update(mode=mode, category=task.spec.category, kind=task.spec.kind)
            entry.update(task.kind.summarize(scored, mode))
            results["benchmarks"][task.spec.name] = entry
            self.ledger.add_benchmark(task.spec.name, [(o.result.usage, o.cost_usd) for outs in task_outcomes
                                                       for o in outs if o.result is not None and not o.cached])
            rows.extend(self._row(task.spec.name, s) for s in scored)
            judged.extend(task.kind.judgment_rows(scored))
            total += entry["n"]
            errors += entry["n_errors"]
        self.rundir.write_samples(rows)
        failures: list[str] = []
        if judged:  # <run>/judgments.jsonl and results.json "judge_bias"
            results["judge_bias"] = write_judge_outputs(self.rundir.path, judged, config.seed)
            failures = failed_judges([row.as_dict() for row in judged])
        self.rundir.write_json(self.rundir.results_path, results)
        cost = self.ledger.summary()
        manifest.update(finished_at=_now(), wall_seconds=round(time.time() - started, 3), status="complete",
                        execution=exec_stats, n_samples=total, n_errors=errors, cost=cost, cost_estimate=estimate,
                        concurrency=self.concurrency)
        manifest.update(with_session(previous, manifest, self.session_totals))
        self.rundir.write_json(self.rundir.manifest_path, manifest)
        exceeded = total > 0 and errors / total > config.max_error_rate
        return RunSummary(self.rundir.path, results, total, errors, exceeded, judged, tuple(failures), cost)

    def _record_stop(self, manifest: dict[str, Any], exc: BaseException, estimate: dict[str, Any] | None,
                     previous: list[dict[str, Any]]) -> None:
        stopped = isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))
        status = "budget_reached" if isinstance(exc, BudgetReached) else "interrupted" if stopped else "failed"
        manifest.update(status=status, finished_at=_now(), cost=self.ledger.summary(),
                        cost_estimate=estimate, concurrency=self.concurrency,
                        error=None if stopped else (str(exc) or type(exc).__name__))
        manifest.update(with_session(previous, manifest, self.session_totals))
        self.rundir.record_stop(manifest)

    def _check_budget(self, backend: Backend, plan: list[list[list[Request]]]) -> dict[str, Any] | None:
        """Before any call: what earlier invocations on this run directory paid, and whether the
        estimate for the rest fits --max-cost / --max-tokens-total (exit 2 unless --force); and that
        --batch has a batch API to use."""
        if self.config.batch and not isinstance(backend, BatchAPIBackend):
            raise ConfigError(f"--batch needs an endpoint with a batch API (/v1/files + /v1/batches); {backend.name} has none")
        budget = self.ledger.budget
        if backend.is_lookup:  # answers looked up in a file cost nothing and leave no journal
            return None
        if budget.limited and backend.is_batched:
            raise ConfigError(f"--max-cost/--max-tokens-total apply to API models; {backend.name} has no per-token price")
        if not self.config.batch and self.rundir.journal_path.exists():
            batches = BatchJournal(self.rundir.journal_path)
            still_open = batches.open_batches(backend.identity)
            batches.close()
            if still_open:  # their requests would be asked (and paid) a second time online
                print(f"note: {len(still_open)} batches an earlier --batch run submitted are still open; add --batch "
                      "to collect them instead of asking their requests again", file=sys.stderr)
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
                       modes: list[str]) -> tuple[list[list[list[Outcome]]], dict[str, Any]]:
        flat = [r for task_plan in plan for reqs in task_plan for r in reqs]
        flat_outcomes, stats = await self._run_executor(backend, flat, "evaluating")
        it = iter(flat_outcomes)
        outcomes = [[[next(it) for _ in reqs] for reqs in task_plan] for task_plan in plan]
        await self._next_round(backend, tasks, modes, outcomes, stats)
        return outcomes, stats

    async def _next_round(self, backend: Backend, tasks: list[Task], modes: list[str],
                          outcomes: list[list[list[Outcome]]], stats: dict[str, Any]) -> None:
        """A dependent second round (e.g. MT-Bench's turn 2): a kind's ``next_requests`` sees round 1's
        results; the answers are appended to that sample's outcomes, through the same journal and cache."""
        asked: list[tuple[list[Outcome], list[Request]]] = []
        for task, mode, task_outcomes in zip(tasks, modes, outcomes):
            for sample, outs in zip(task.samples, task_outcomes):
                results = [o.result for o in outs if o.result is not None]
                if outs and len(results) == len(outs):  # a failed round 1 is already an error
                    reqs = _stamped(task.kind.next_requests(sample, results, mode), task.spec.name, sample, 2,
                                    self.config)
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
        """Answer requests through the journal (always) and the shared cache (unless --no-cache); answers
        a lookup backend (predictions) finds are no model call, so neither keeps them."""
        config = self.config
        keep = not backend.is_lookup
        journal = ResponseStore(self.rundir.journal_path) if keep else None
        cache = ResponseStore(cache_dir() / "cache.sqlite") if config.use_cache and keep else None
        executor = self._executor(backend, journal, cache, role)
        progress = Progress(len(requests), label, quiet=config.quiet, status=executor.progress_text)
        try:
            outcomes = await executor.run(requests, lambda n, t, e: progress.advance(n, t, e), progress.skip)
        finally:
            progress.close()
            if journal is not None:
                journal.close()
            if cache is not None:
                cache.close()
            if not backend.is_batched:
                self.concurrency[label] = executor.controller.as_dict()
            for key, value in executor.stats.as_dict().items():  # this session's calls, even if interrupted
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.session_totals[key] = self.session_totals.get(key, 0) + value
        return outcomes, executor.stats.as_dict()

    def _executor(self, backend: Backend, journal: ResponseStore | None, cache: ResponseStore | None,
                  role: str) -> Executor:
        """``--executor local`` answers in this process; ``ray`` on a Ray cluster, where each worker builds its
        own backend from the same model and options (same journal, same results; docs/distributed.md)."""
        config = self.config
        policy = RetryPolicy(max_retries=config.max_retries, timeout=config.timeout)
        meter = self.ledger.meter_for(backend, role)
        if config.executor == "ray" and not backend.is_lookup and journal is not None:  # lookups ask no model
            from evalkit.execution.ray_executor import RayExecutor, RaySettings

            options = (config.judge_backend or config.backend) if role == "judge" else config.backend
            settings = RaySettings(backend.name, options, config.ray_address, config.replicas, config.tokens_per_minute,
                                   shard_timeout=config.shard_timeout)
            return RayExecutor(backend, journal, cache, settings, config.concurrency, config.requests_per_minute,
                               policy, meter=meter)
        return Executor(backend, journal, cache, config.concurrency, config.requests_per_minute, policy,
                        meter=meter, adaptive=config.adaptive_concurrency,
                        batch=BatchOptions(retry_online=config.batch_retry == "online", poll_seconds=config.batch_poll,
                                           max_requests=config.batch_chunk, max_rounds=config.max_retries + 1)
                        if config.batch else None)

    async def judge(self, kind: Kind, scored: list[Scored], exec_stats: dict[str, Any]) -> list[Scored]:
        """Second stage: every --judge model answers the kind's judge requests; the kind folds them in.

        The kind's ``judge_followups`` may ask once more where a reply was unusable (e.g. a verdict that
        cannot be parsed): the follow-up's outcome replaces the first one, which is kept as
        ``JudgeAnswer.first``. A kind with nothing to judge costs no judge backend.
        """
        config = self.config
        judgments: dict[str, list[list[JudgeAnswer]]] = {}
        for judge_name in config.judges:
            per_sample = kind.judge_requests(scored, judge_name)
            if not any(per_sample):
                judgments[judge_name] = [[] for _ in per_sample]
                continue
            judge = create_backend(judge_name, config.judge_backend or config.backend)
            try:
                outcomes = await self._ask(judge, judge_name, per_sample, "judging", exec_stats)
                again = kind.judge_followups(scored, judge_name, outcomes)
                asked = [[r for r in reqs if r is not None] for reqs in again]
                answered: list[list[Outcome]] = []
                if any(asked):
                    answered = await self._ask(judge, judge_name, asked, "re-asking", exec_stats)
                answers = iter([o for outs in answered for o in outs])
                judgments[judge_name] = [[JudgeAnswer(next(answers), first=o) if r is not None else JudgeAnswer(o)
                                          for r, o in zip(reqs, outs)] for reqs, outs in zip(again, outcomes)]
            finally:
                await judge.aclose()
        return kind.apply_judgments(scored, judgments)

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
        results = [[o.result for o in outcomes[i] if o.result is not None] for i in ok_index]
        scored_ok = task.kind.score([task.samples[i] for i in ok_index], results, mode) if ok_index else []
        by_index = dict(zip(ok_index, scored_ok))
        scored = []
        for i, sample in enumerate(task.samples):
            prompt = requests[i][0].prompt_text() if requests[i] else ""
            if i in by_index:
                item = by_index[i]
                item = item if item.prompt else dataclasses.replace(item, prompt=prompt)
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


async def judge_pairs(config: RunConfig, name: str, items: list[PairItem], padding: int) -> RunSummary:
    """A live judge audit: ``items`` (and ``padding`` probe pairs, always in both orders) judged by every
    ``--judge`` as an ordinary run of ``mode: pairs`` jobs (the model, ``none:``, is asked nothing)."""
    config = dataclasses.replace(config, model=config.model or f"none:{name}")
    tasks = pair_tasks(name, items, padding_items(items, padding), config)
    return await Runner(config).run(tasks)
