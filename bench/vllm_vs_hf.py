"""hf: vs vllm: on the same model and the same items: wall time, tokens/s and agreement.

Both backends run in this one process, one after the other, on the embedded SmolLM2-135M-Instruct
converted to a plain HF directory (float32 unless --dtype), over the same requests evalkit builds:
GSM8K 8-shot CoT (generation, greedy) and ARC-Challenge (log-likelihood, 4-5 choices per item).
Each backend is warmed up on a few requests first (vLLM's first prompt-logprobs call is slow), and
model load / engine start-up is reported apart from the timed work.

Reported: wall seconds per phase; generation completion tokens/s; log-likelihood requests/s and
prompt tokens/s (counted from the hf backend's tokens, the same ids for both); vllm/hf speed ratios;
agreement: share of identical greedy outputs, the largest per-choice log-likelihood difference,
acc/acc_norm per backend and the items where they differ, with whether those items' top choices
lie within 1e-3 (a tie that rounding can flip).

Run in the vllm venv (.ci/run builds .venv-vllm; both backends import there):
    VLLM_CPU_KVCACHE_SPACE=2 .venv-vllm/bin/python bench/vllm_vs_hf.py --gsm8k 100 --arc 300
    VLLM_CPU_KVCACHE_SPACE=2 .venv-vllm/bin/python bench/vllm_vs_hf.py --gsm8k 20 --arc 100 --max-tokens 128
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("EVALKIT_DATA_DIR", REPO.parent / "shared" / "data"))
TIE = 1e-3


def timed(backend: Any, requests: list[Any]) -> tuple[dict[int, Any], float]:
    started = time.perf_counter()
    results = dict(backend.call_batch(requests))
    return results, time.perf_counter() - started


def compare_logliks(task: Any, requests: list[Any], runs: dict[str, tuple[dict[int, Any], float]]) -> dict[str, Any]:
    """Speed and agreement of the two backends' log-likelihoods on one task's requests."""
    from evalkit.types import LoglikelihoodResult

    (hf, hf_s), (vl, vl_s) = runs["hf"], runs["vllm"]
    diffs = [abs(hf[i].logprob - vl[i].logprob) for i in range(len(requests)) if isinstance(vl[i], LoglikelihoodResult)]
    per_sample, start = [], 0
    for sample in task.samples:
        n = len(task.kind.requests(sample, "loglikelihood"))
        per_sample.append(range(start, start + n))
        start += n
    scored = {name: task.kind.score(task.samples, [[results[i] for i in rows] for rows in per_sample],
                                    "loglikelihood") for name, (results, _) in runs.items()}
    differing = []
    for k, rows in enumerate(per_sample):
        for metric in ("acc", "acc_norm"):
            if scored["hf"][k].scores.get(metric) != scored["vllm"][k].scores.get(metric):
                hf_ll = sorted((hf[i].logprob for i in rows), reverse=True)
                differing.append({"id": task.samples[k].id, "metric": metric, "top_two_gap": round(hf_ll[0] - hf_ll[1], 6)})
    metrics = [m for m in ("acc", "acc_norm") if m in scored["hf"][0].scores]
    return {
        "items": len(task.samples), "requests": len(requests),
        "prompt_tokens": sum(r.usage.prompt_tokens for r in hf.values()),
        "wall_s": {"hf": round(hf_s, 1), "vllm": round(vl_s, 1)},
        "requests_per_s": {"hf": round(len(requests) / hf_s, 1), "vllm": round(len(requests) / vl_s, 1)},
        "vllm_over_hf_speed": round(hf_s / vl_s, 2),
        "max_abs_loglik_diff": max(diffs) if diffs else None, "errors": len(requests) - len(diffs),
        "within_1e-3": sum(d <= TIE for d in diffs),
        **{metric: {name: sum(s.scores[metric] or 0 for s in scored[name]) / len(task.samples) for name in scored}
           for metric in metrics},
        "differing_items": differing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gsm8k", type=int, default=100, help="GSM8K items (8-shot CoT generation); 0 skips")
    parser.add_argument("--arc", type=int, default=300, help="ARC-Challenge items (log-likelihood); 0 skips")
    parser.add_argument("--mmlu", type=int, default=0, help="MMLU 5-shot items (log-likelihood, long shared "
                        "contexts); 0 skips")
    parser.add_argument("--max-tokens", type=int, default=None, help="cap each generation (default: the spec's)")
    parser.add_argument("--dtype", default="float32", help="the same for both backends")
    parser.add_argument("--batch-size", type=int, default=16, help="hf backend batch size")
    parser.add_argument("--max-model-len", type=int, default=None,
                        help="vllm context length (default: the model's, as the hf backend uses; a shorter one "
                             "scores over-long requests on a shorter window than hf)")
    parser.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="vllm engine option, as evalkit run's (e.g. enable_prefix_caching=false)")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary JSON here")
    args = parser.parse_args()

    from evalkit.backends.factory import BackendOptions, create_backend
    from evalkit.backends.gguf_to_hf import converted_dir
    from evalkit.backends.hf import embedded_gguf
    from evalkit.tasks import load_task
    from evalkit.types import GenerateRequest, GenerateResult

    model_dir = converted_dir(embedded_gguf())
    gsm8k = load_task("gsm8k_cot", DATA, limit=args.gsm8k) if args.gsm8k else None
    gen_requests = [r for s in gsm8k.samples for r in gsm8k.kind.requests(s, "generate")
                    if isinstance(r, GenerateRequest)] if gsm8k else []
    if args.max_tokens:
        gen_requests = [dataclasses.replace(r, max_tokens=args.max_tokens) for r in gen_requests]
    ll_tasks = {name: load_task(name, DATA, limit=n) for name, n in (("arc_challenge", args.arc), ("mmlu", args.mmlu))
                if n}
    ll_requests = {name: [r for s in task.samples for r in task.kind.requests(s, "loglikelihood")]
                   for name, task in ll_tasks.items()}
    warm = gen_requests[:2] + [r for requests in ll_requests.values() for r in requests[:8]]

    runs: dict[str, dict[str, Any]] = {}
    for name in ("hf", "vllm"):
        options = BackendOptions(dtype=args.dtype, batch_size=args.batch_size, max_model_len=args.max_model_len,
                                 engine_args=tuple(args.engine_arg) if name == "vllm" else ())
        started = time.perf_counter()
        backend = create_backend(f"{name}:{model_dir}", options)
        if name == "vllm":
            backend.replica.start()  # type: ignore[attr-defined]
        load = time.perf_counter() - started
        _, warm_s = timed(backend, [dataclasses.replace(r, max_tokens=8) if isinstance(r, GenerateRequest)
                                    else r for r in warm])
        gen, gen_s = timed(backend, gen_requests) if gen_requests else ({}, 0.0)
        ll = {task: timed(backend, requests) for task, requests in ll_requests.items()}
        runs[name] = {"load_s": load, "warmup_s": warm_s, "gen": gen, "gen_s": gen_s, "ll": ll}
        print(f"{name}: load {load:.1f}s, generation {gen_s:.1f}s, log-likelihood "
              f"{ {task: round(seconds, 1) for task, (_, seconds) in ll.items()} }", file=sys.stderr, flush=True)
        if name == "vllm":
            runs[name]["sharing"] = dataclasses.asdict(backend.replica.sharing)  # type: ignore[attr-defined]
            backend.replica.close()  # type: ignore[attr-defined]
        del backend

    hf, vl = runs["hf"], runs["vllm"]
    summary: dict[str, Any] = {"model": str(model_dir), "dtype": args.dtype, "hf_batch_size": args.batch_size,
                               "cpu_count": os.cpu_count(), "load_s": {"hf": round(hf["load_s"], 1),
                                                                       "vllm": round(vl["load_s"], 1)}}
    if gen_requests:
        completion = {name: sum(r.usage.completion_tokens for r in runs[name]["gen"].values()
                                if isinstance(r, GenerateResult)) for name in runs}
        same = sum(hf["gen"][i].text == vl["gen"][i].text for i in range(len(gen_requests)))
        scored = {name: gsm8k.kind.score(gsm8k.samples, [[runs[name]["gen"][i]] for i in range(len(gen_requests))],  # type: ignore[union-attr]
                                         "generate") for name in runs}
        tps = {name: completion[name] / runs[name]["gen_s"] for name in runs}
        summary["generation"] = {
            "items": len(gen_requests), "max_tokens": gen_requests[0].max_tokens,
            "wall_s": {name: round(runs[name]["gen_s"], 1) for name in runs},
            "completion_tokens": completion, "tokens_per_s": {k: round(v, 1) for k, v in tps.items()},
            "vllm_over_hf_tokens_per_s": round(tps["vllm"] / tps["hf"], 2),
            "identical_outputs": same, "identical_share": round(same / len(gen_requests), 3),
            "exact_match": {name: {m: sum(s.scores[m] or 0 for s in scored[name]) / len(scored[name])
                                   for m in scored[name][0].scores} for name in runs},
        }
    for task_name, requests in ll_requests.items():
        summary[f"loglikelihood_{task_name}"] = compare_logliks(ll_tasks[task_name], requests,
                                                                {name: runs[name]["ll"][task_name] for name in runs})
    if ll_requests:
        summary["vllm_sharing"] = vl["sharing"]
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
