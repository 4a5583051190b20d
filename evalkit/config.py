"""RunConfig: everything one `evalkit run` needs, validated once at the edge."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.specs.overrides import SpecOverrides
from evalkit.specs.strict import check_keys

# `evalkit run` with no --benchmark: a taste of both scoring modes, offline in about two minutes on
# two CPU cores with the embedded model (log-likelihood multiple choice, then free generation).
DEFAULT_SUITE = ["arc_challenge", "gsm8k"]
DEFAULT_SUITE_LIMITS = {"arc_challenge": 100, "gsm8k": 5}
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")  # the values OpenAI's API accepts


@dataclass
class BackendOptions:
    """Options a model provider may use; each ignores what does not concern it."""

    base_url: str | None = None
    timeout: float = 120.0
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 16
    batch_timeout: float | None = 600.0  # local models: wall-clock seconds one generation batch may take
    chat_template: bool | None = None  # None: use the tokenizer's template when it has one
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    max_tokens: int | None = None  # overrides the spec's generation.max_tokens
    reasoning_effort: str | None = None  # sent as ``reasoning_effort`` (OpenAI-compatible reasoning models)
    max_completion_tokens: bool = False  # send the token limit as ``max_completion_tokens`` (OpenAI o-series)
    # vllm: models (each default leaves the choice to vLLM)
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float | None = None
    engine_args: tuple[str, ...] = ()  # KEY=VALUE, checked against the installed vLLM's options


@dataclass
class RunConfig:
    model: str | None = None
    benchmarks: list[str] = field(default_factory=lambda: list(DEFAULT_SUITE))
    out: Path | None = None
    data_dir: Path | None = None
    limit: int | None = None
    limits: dict[str, int] = field(default_factory=dict)  # per benchmark, where --limit is not given
    concurrency: int = 32
    requests_per_minute: float | None = None
    seed: int = 0
    timeout: float = 120.0
    max_retries: int = 6
    max_error_rate: float = 0.0
    use_cache: bool = True
    mode: str = "auto"  # auto | generate | loglikelihood
    samples_per_task: int = 1
    allow_code_execution: bool = False
    judges: list[str] = field(default_factory=list)
    judge_swap: bool = False  # judge every pair in both orders
    judge_policy: str = "conservative"  # conservative (a flip with the order is a tie) | balanced (orders averaged)
    jury: str = "majority"  # how several --judge combine: majority | mean
    judge_template: str | None = None  # a judges/ template name or YAML path, replacing the benchmark's
    judge_criteria: str | None = None  # criteria text replacing the template's default
    candidate_name: str | None = None  # the judged model's name in judgments (default: --model)
    label: str | None = None  # the run's short name in reports (default: the model id)
    num_fewshot: int | None = None  # overrides each benchmark's few-shot count
    system_prompt: str | None = None  # replaces each benchmark's system prompt
    fewshot_as_multiturn: bool | None = None  # chat few-shot as turns (True) or in one user turn (False)
    gen_kwargs: dict[str, Any] = field(default_factory=dict)  # max_tokens / temperature / top_p / stop
    quiet: bool = False
    pricing: Path | None = None  # a price file replacing the shipped prices of the models it lists
    max_cost: float | None = None  # USD for the whole run (resumes included)
    max_tokens_total: int | None = None
    force: bool = False  # start even when the estimate is past the budget
    adaptive_concurrency: bool = True  # AIMD on 429s within [1, concurrency]
    batch: bool = False  # through the provider's batch API (/v1/files + /v1/batches), at its discount
    batch_retry: str = "batch"  # failed/expired batch lines: in a new batch, or "online"
    batch_poll: float = 5.0  # seconds before the first poll of a batch (then ×1.5, at most 60)
    batch_chunk: int = 50_000  # most requests per batch input file (OpenAI's limit; files also stay under 200 MB)
    executor: str = "local"  # local | ray (docs/distributed.md)
    ray_address: str | None = None  # --executor ray: a cluster address; None means "auto", else a local Ray
    replicas: int | None = None  # --executor ray: model replicas / API actors (default: one per GPU or node)
    tokens_per_minute: float | None = None  # --executor ray: the global limiter's tokens/min
    shard_timeout: float | None = None  # --executor ray: seconds without an answer before a worker counts as hung
    backend: BackendOptions = field(default_factory=BackendOptions)
    judge_backend: BackendOptions | None = None  # options for --judge models (e.g. another base URL)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], where: str = "run options") -> RunConfig:
        """A config from keyword options (the Python API): an unknown one is named, with the closest."""
        check_keys(options, (f.name for f in fields(cls)), where)
        config = cls(**options)
        config.validate()
        return config

    @classmethod
    def from_public(cls, data: Mapping[str, Any], where: str) -> RunConfig:
        """The config a run recorded (``manifest.json["config"]``, as ``public`` wrote it), rebuilt."""
        values = dict(data)
        check_keys(values, (f.name for f in fields(cls)), where)
        backend_keys = [f.name for f in fields(BackendOptions)]
        for key in ("backend", "judge_backend"):
            if isinstance(values.get(key), Mapping):
                check_keys(values[key], backend_keys, f"{where} {key}")
                values[key] = BackendOptions(**values[key])
        for key in ("out", "data_dir"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        return cls(**values)

    def validate(self) -> None:
        if not self.benchmarks:
            raise ConfigError("--benchmark is empty: name at least one (see `evalkit list`)")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {self.limit}")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.timeout <= 0:
            raise ConfigError(f"--timeout must be positive, got {self.timeout}")
        if self.max_retries < 0:
            raise ConfigError(f"--max-retries must be 0 or more, got {self.max_retries}")
        if not 0 <= self.max_error_rate <= 1:
            raise ConfigError(f"--max-error-rate must be between 0 and 1, got {self.max_error_rate}")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ConfigError(f"--rpm must be positive, got {self.requests_per_minute}")
        if self.mode not in ("auto", "generate", "loglikelihood"):
            raise ConfigError(f"--mode must be auto, generate or loglikelihood, got {self.mode!r}")
        if self.samples_per_task < 1:
            raise ConfigError(f"--samples-per-task must be at least 1, got {self.samples_per_task}")
        if self.judge_policy not in ("conservative", "balanced"):
            raise ConfigError(f"--swap-policy must be conservative or balanced, got {self.judge_policy!r}")
        if self.jury not in ("majority", "mean"):
            raise ConfigError(f"--jury must be majority or mean, got {self.jury!r}")
        if len(set(self.judges)) != len(self.judges):
            raise ConfigError("--judge names the same judge twice; give each judge once")
        if self.max_cost is not None and not self.max_cost > 0:
            raise ConfigError(f"--max-cost must be a positive number of USD, got {self.max_cost:g}")
        if self.max_tokens_total is not None and self.max_tokens_total < 1:
            raise ConfigError(f"--max-tokens-total must be at least 1, got {self.max_tokens_total}")
        if self.batch_retry not in ("batch", "online"):
            raise ConfigError(f"--batch-retry must be batch or online, got {self.batch_retry!r}")
        if not self.batch_poll > 0:
            raise ConfigError(f"--batch-poll must be positive, got {self.batch_poll:g}")
        if not 1 <= self.batch_chunk <= 50_000:
            raise ConfigError(f"--batch-chunk must be between 1 and 50000 (the provider's limit), got {self.batch_chunk}")
        if self.pricing is not None and not self.pricing.is_file():
            raise ConfigError(f"--pricing {self.pricing} is not a file")
        if self.backend.max_tokens is not None and self.backend.max_tokens < 1:
            raise ConfigError(f"--max-tokens must be at least 1, got {self.backend.max_tokens}")
        if self.backend.reasoning_effort is not None and self.backend.reasoning_effort not in REASONING_EFFORTS:
            raise ConfigError(f"--reasoning-effort must be one of {', '.join(REASONING_EFFORTS)}, "
                              f"got {self.backend.reasoning_effort!r}")
        if self.backend.batch_timeout is not None and self.backend.batch_timeout <= 0:
            raise ConfigError(f"--batch-timeout must be positive, got {self.backend.batch_timeout}")
        if self.num_fewshot is not None and self.num_fewshot < 0:
            raise ConfigError(f"--num-fewshot must be 0 or more, got {self.num_fewshot}")
        unknown = sorted(set(self.limits) - set(self.benchmarks))
        if unknown:
            raise ConfigError(f"--limit names {', '.join(unknown)}, which --benchmark does not run "
                              f"({', '.join(self.benchmarks)})")
        self._validate_executor()
        if self.data_dir is not None and not self.data_dir.is_dir():
            raise ConfigError(f"--data-dir {self.data_dir} is not a directory")

    def spec_overrides(self) -> SpecOverrides:
        return SpecOverrides(num_fewshot=self.num_fewshot, system_prompt=self.system_prompt,
                             fewshot_as_multiturn=self.fewshot_as_multiturn, gen_kwargs=dict(self.gen_kwargs))

    def _validate_executor(self) -> None:
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"--executor must be local or ray, got {self.executor!r}")
        if self.executor == "local":
            given = [flag for flag, value in (("--ray-address", self.ray_address), ("--replicas", self.replicas),
                                              ("--tpm", self.tokens_per_minute),
                                              ("--shard-timeout", self.shard_timeout)) if value is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} only apply with --executor ray")
            return
        if self.batch:  # one provider batch job per chunk: the provider runs it, a cluster would only wait for it
            raise ConfigError("--batch hands the requests to the provider's batch API, which a Ray cluster cannot "
                              "speed up: drop --executor ray (docs/distributed.md)")
        if self.replicas is not None and self.replicas < 1:
            raise ConfigError(f"--replicas must be at least 1, got {self.replicas}")
        if self.tokens_per_minute is not None and self.tokens_per_minute <= 0:
            raise ConfigError(f"--tpm must be positive, got {self.tokens_per_minute}")
        if self.shard_timeout is not None and not 0 < self.shard_timeout < math.inf:
            raise ConfigError(f"--shard-timeout must be a positive number of seconds, got {self.shard_timeout}")
        if self.shard_timeout is not None and self.shard_timeout <= self.timeout:
            raise ConfigError(f"--shard-timeout {self.shard_timeout:g} is not longer than --timeout {self.timeout:g}: "
                              "one call may take that long, and a worker waiting on it would count as hung")
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ConfigError("--executor ray needs Ray: pip install 'evalkit[ray]'")

    def limit_for(self, benchmark: str) -> int | None:
        return self.limit if self.limit is not None else self.limits.get(benchmark)

    def public(self) -> dict[str, Any]:
        """The config for the manifest: plain data, no secrets (keys live only in the environment)."""
        data = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}
