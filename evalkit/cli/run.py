"""`evalkit run`: evaluate a model on benchmarks and write a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalkit.config import BackendOptions


def read_text_option(value: str | None, flag: str) -> str | None:
    """TEXT as given, or @FILE read from a file (one-line error when it cannot be read)."""
    from evalkit.errors import ConfigError

    if value is None or not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{flag} {value}: cannot read {value[1:]}: {exc.strerror}") from None


def run_command(
    model: Annotated[str | None, typer.Option(help="PROVIDER:NAME, e.g. openai:gpt-4o-mini, hf:./ckpt, predictions:out.jsonl. Default: the embedded SmolLM2-135M-Instruct.")] = None,
    benchmark: Annotated[str | None, typer.Option(help="Comma-separated benchmark names or spec paths (`evalkit list`). Default: a small offline suite.")] = None,
    limit: Annotated[str | None, typer.Option(help="Evaluate N samples of each benchmark (spread over its groups, e.g. MMLU subjects), or per benchmark: gsm8k=50,mmlu=200.")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once (API backends).")] = 32,
    data_dir: Annotated[Path | None, typer.Option(help="Directory with local copies of benchmark data (else the hub).")] = None,
    out: Annotated[Path | None, typer.Option(help="The run directory. Running again with the same --out resumes.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampled decoding.")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds before one request is abandoned and retried.")] = 120.0,
    max_retries: Annotated[int, typer.Option(help="Retries per request for 429/5xx/timeouts/bad bodies.")] = 6,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the shared response cache (resume still works).")] = False,
    rpm: Annotated[float | None, typer.Option(help="Requests-per-minute limit.")] = None,
    max_error_rate: Annotated[float, typer.Option(help="Exit 1 when the share of errored samples exceeds this.")] = 0.0,
    mode: Annotated[str, typer.Option(help="auto, generate or loglikelihood (multiple-choice scoring).")] = "auto",
    base_url: Annotated[str | None, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Override the benchmark's sampling temperature.")] = None,
    top_p: Annotated[float | None, typer.Option(help="Override top-p.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Override the benchmark's token limit per reply (reasoning models need room to think).")] = None,
    reasoning_effort: Annotated[str | None, typer.Option(help="Sent as reasoning_effort to OpenAI-compatible reasoning models: none, minimal, low, medium, high.")] = None,
    max_completion_tokens: Annotated[bool, typer.Option("--max-completion-tokens", help="Send the token limit as max_completion_tokens instead of max_tokens (OpenAI o-series and gpt-5 reject max_tokens).")] = False,
    dtype: Annotated[str, typer.Option(help="hf and vllm models: auto, float32, bfloat16, float16.")] = "auto",
    device: Annotated[str, typer.Option(help="hf models: auto (CUDA when present), cpu, cuda, cuda:1…")] = "auto",
    batch_size: Annotated[int, typer.Option(help="hf models: batch size.")] = 16,
    batch_timeout: Annotated[float, typer.Option(help="hf models: wall-clock seconds one generation batch may take; the answers it cuts short are errored samples.")] = 600.0,
    chat_template: Annotated[bool | None, typer.Option("--chat-template/--no-chat-template", help="hf and vllm models: apply the tokenizer's chat template (default: when it has one).")] = None,
    max_model_len: Annotated[int | None, typer.Option(help="vllm models: context length (default: the model's).")] = None,
    tensor_parallel_size: Annotated[int, typer.Option(help="vllm models: GPUs one replica is split over.")] = 1,
    gpu_memory_utilization: Annotated[float | None, typer.Option(help="vllm models: share of GPU memory the engine may take (default: vLLM's).")] = None,
    engine_arg: Annotated[list[str] | None, typer.Option(help="vllm models: another engine option KEY=VALUE (repeatable), e.g. enable_prefix_caching=true.")] = None,
    samples_per_task: Annotated[int, typer.Option(help="Completions per coding task (pass@k).")] = 1,
    allow_code_execution: Annotated[bool, typer.Option("--allow-code-execution", help="Run model-written code in the sandbox (coding benchmarks).")] = False,
    judge: Annotated[list[str] | None, typer.Option(help="Judge model (repeat for a jury), e.g. openai:gpt-4o.")] = None,
    judge_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for the --judge models (default: --base-url).")] = None,
    swap: Annotated[bool, typer.Option("--swap", help="Judge every pair in both orders (position-bias control).")] = False,
    swap_policy: Annotated[str, typer.Option(help="With --swap: conservative (a flip with the order is a tie) or balanced (orders averaged).")] = "conservative",
    jury: Annotated[str, typer.Option(help="Several --judge: majority or mean.")] = "majority",
    judge_template: Annotated[str | None, typer.Option(help="Judge template name (judges/) or YAML path, replacing the benchmark's.")] = None,
    judge_criteria: Annotated[str | None, typer.Option(help="Criteria text for the judge, replacing the template's default.")] = None,
    judge_criteria_file: Annotated[Path | None, typer.Option(help="File holding the judge's criteria.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    executor: Annotated[str, typer.Option(help="local, or ray: answer requests on a Ray cluster (docs/distributed.md).")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="--executor ray: the cluster's address (default: auto, else a local Ray for this run).")] = None,
    replicas: Annotated[int | None, typer.Option(help="--executor ray: model replicas or API actors (default: one per GPU, else per node).")] = None,
    tpm: Annotated[float | None, typer.Option(help="--executor ray: tokens-per-minute limit, cluster-wide.")] = None,
    shard_timeout: Annotated[float | None, typer.Option(help="--executor ray: seconds a shard may stream no answer before its worker counts as hung and is restarted; longer than --timeout (default: 600 or twice --timeout for APIs, none for local models).")] = None,
    num_fewshot: Annotated[int | None, typer.Option(help="Few-shot examples per prompt, replacing each benchmark's own count.")] = None,
    system_prompt: Annotated[str | None, typer.Option(help="System prompt replacing each benchmark's: TEXT, or @FILE to read it from a file.")] = None,
    gen_kwargs: Annotated[str | None, typer.Option(help='Generation settings replacing the benchmarks\' own: max_tokens=256,temperature=0.7,top_p=0.9,stop=["\\n\\n"].')] = None,
    fewshot_as_multiturn: Annotated[bool | None, typer.Option("--fewshot-as-multiturn/--no-fewshot-as-multiturn", help="Chat prompts: few-shot examples as their own user/assistant turns (the default) or all in the first user turn.")] = None,
    pricing: Annotated[Path | None, typer.Option(envvar="EVALKIT_PRICING", help="Price file (YAML, USD per 1M tokens) replacing the shipped prices of the models it lists (docs/cost.md).")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Budget in USD for the whole run: refuse to start when the estimate is past it, stop cleanly when reached (exit 3; rerun with a higher budget to resume).")] = None,
    max_tokens_total: Annotated[int | None, typer.Option(help="Budget in tokens (prompt + completion), like --max-cost.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Start even when the cost estimate is past the budget (the run still stops at it).")] = False,
    fixed_concurrency: Annotated[bool, typer.Option("--fixed-concurrency", help="Keep --concurrency fixed instead of lowering it on a run of 429s.")] = False,
    batch: Annotated[bool, typer.Option("--batch", help="Send requests through the endpoint's batch API (/v1/files + /v1/batches) at its discount; resumable (docs/cost.md).")] = False,
    batch_retry: Annotated[str, typer.Option(help="With --batch: failed or expired lines go in a new batch (batch) or online.")] = "batch",
    batch_poll: Annotated[float, typer.Option(help="With --batch: seconds before the first poll (then ×1.5, at most 60).")] = 5.0,
    batch_chunk: Annotated[int, typer.Option(help="With --batch: most requests per batch input file (≤ 50000).")] = 50_000,
    label: Annotated[str | None, typer.Option(help="Short name of this run in reports (default: the model id); runs with one label share a leaderboard row.")] = None,
) -> None:
    """Evaluate a model. With no arguments: the embedded model on a small suite, offline."""
    from evalkit.cli.output import print_results
    from evalkit.config import DEFAULT_SUITE, DEFAULT_SUITE_LIMITS, RunConfig
    from evalkit.judging.templates import read_criteria
    from evalkit.runner import run
    from evalkit.specs.overrides import parse_gen_kwargs, parse_limits

    all_limit, per_benchmark = parse_limits(limit)
    config = RunConfig(
        model=model,
        benchmarks=[b.strip() for b in benchmark.split(",") if b.strip()] if benchmark is not None else list(DEFAULT_SUITE),
        limits={**(DEFAULT_SUITE_LIMITS if benchmark is None else {}), **per_benchmark},
        out=out, data_dir=data_dir, limit=all_limit, concurrency=concurrency, requests_per_minute=rpm, seed=seed,
        timeout=timeout, max_retries=max_retries, max_error_rate=max_error_rate, use_cache=not no_cache,
        mode=mode, samples_per_task=samples_per_task, allow_code_execution=allow_code_execution,
        judges=judge or [], quiet=quiet, label=label, num_fewshot=num_fewshot,
        system_prompt=read_text_option(system_prompt, "--system-prompt"), gen_kwargs=parse_gen_kwargs(gen_kwargs),
        fewshot_as_multiturn=fewshot_as_multiturn, executor=executor, ray_address=ray_address,
        replicas=replicas, tokens_per_minute=tpm, shard_timeout=shard_timeout, judge_swap=swap, judge_policy=swap_policy, jury=jury,
        judge_template=judge_template, judge_criteria=read_criteria(judge_criteria, judge_criteria_file),
        pricing=pricing, max_cost=max_cost, max_tokens_total=max_tokens_total, force=force,
        adaptive_concurrency=not fixed_concurrency, batch=batch, batch_retry=batch_retry, batch_poll=batch_poll,
        batch_chunk=batch_chunk,
        judge_backend=BackendOptions(base_url=judge_base_url, timeout=timeout) if judge_base_url else None,
        backend=BackendOptions(base_url=base_url, timeout=timeout, dtype=dtype, device=device, batch_size=batch_size,
                               batch_timeout=batch_timeout,
                               chat_template=chat_template, temperature=temperature, top_p=top_p, seed=seed,
                               max_tokens=max_tokens, reasoning_effort=reasoning_effort,
                               max_completion_tokens=max_completion_tokens,
                               max_model_len=max_model_len, tensor_parallel_size=tensor_parallel_size,
                               gpu_memory_utilization=gpu_memory_utilization, engine_args=tuple(engine_arg or ())),
    )
    try:
        summary = run(config)
    except KeyboardInterrupt:  # typer would exit 130 silently: say what was saved and how to resume
        from evalkit.cli.output import interrupted_line

        typer.echo(interrupted_line(), err=True)
        raise typer.Exit(130) from None
    print_results(summary.results, title=f"Results — {summary.out}", cost=summary.cost)
    for model_name in summary.cost.get("unpriced", []):
        typer.echo(f"note: no price for {model_name!r} in the price list: its cost is reported in tokens only "
                   "(add one with --pricing FILE)", err=True)
    if summary.n_errors:
        typer.echo(f"{summary.n_errors} of {summary.n_samples} samples errored (see samples.jsonl)", err=True)
    if summary.exceeded_error_rate:
        typer.echo(f"error rate {summary.n_errors / summary.n_samples:.1%} exceeds --max-error-rate {max_error_rate:g}",
                   err=True)
        raise typer.Exit(1)
    for reason in summary.judge_failures:  # a judge that answered nothing measured nothing: a failed run
        typer.echo(reason, err=True)
    if summary.judge_failures:
        raise typer.Exit(1)
