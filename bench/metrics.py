"""Reference-metric speed (issue 7 target): evalkit against the libraries called directly, same outputs.

    python bench/metrics.py [--n 10000] [--repeats 3] [--data-dir ../shared/data]

Pairs are AlpacaEval answers of two different models to the same instruction, matched line by line
(MT-like segments, ~19 words). For BLEU, chrF, ROUGE-1/2/L/Lsum and METEOR it times, in one process:

  library   the loop a user would write: ``sentence_bleu``/``sentence_chrf`` per pair plus
            ``corpus_score(n_bootstrap=1000)``; ``RougeScorer.score_multi`` per pair; nltk
            ``meteor_score`` per pair
  evalkit   ``evalkit.metrics.compute`` with one worker (``jobs=1``) and with the default (all CPUs)

and checks that all three produce identical numbers. WordNet is loaded once before any timing (it
costs both sides the same ~5 s). The target: evalkit ≤ 1.1× the library loop, faster where it
parallelises. Each repeat rotates which variant runs first (and meets nltk's cold synset cache); the
table shows medians of wall and CPU seconds (CPU includes worker processes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.metrics import MetricOptions, compute  # noqa: E402
from evalkit.metrics.parallel import available_cpus  # noqa: E402
from evalkit.metrics.wordnet import load_wordnet  # noqa: E402

MODELS = ("alpaca-7b", "claude-2.1", "gpt-3.5-turbo-1106", "gpt4_1106_preview")
FAMILIES = ("bleu", "chrf", "rouge", "meteor")
ROUGE = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def load_pairs(data_dir: Path, n: int) -> tuple[list[str], list[list[str]]]:
    root = data_dir / "alpaca_eval" / "results"
    outputs = {m: [r["output"] for r in json.loads((root / m / "model_outputs.json").read_text())] for m in MODELS}
    pairs = []
    for a, b in itertools.combinations(MODELS, 2):
        for x, y in zip(outputs[a], outputs[b]):
            lines_x = [t.strip() for t in x.split("\n") if t.strip()]
            lines_y = [t.strip() for t in y.split("\n") if t.strip()]
            pairs.extend(zip(lines_x, lines_y))
    pairs = pairs[:: max(1, len(pairs) // n)][:n]
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} pairs available")
    return [h for h, _ in pairs], [[r] for _, r in pairs]


def library(family: str, hyps: list[str], refs: list[list[str]]) -> dict[str, Any]:
    """The direct loop; returns the per-sample values and corpus value for the identity check."""
    if family in ("bleu", "chrf"):
        import sacrebleu
        from sacrebleu.metrics import BLEU, CHRF

        sentence = sacrebleu.sentence_bleu if family == "bleu" else sacrebleu.sentence_chrf
        per_sample = [sentence(h, r).score for h, r in zip(hyps, refs)]
        corpus = (BLEU() if family == "bleu" else CHRF()).corpus_score(hyps, [[r[0] for r in refs]], n_bootstrap=1000)
        return {"per_sample": per_sample, "corpus": corpus.score, "mean": corpus._mean}
    if family == "rouge":
        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer(list(ROUGE))
        rows = [scorer.score_multi(r, h) for h, r in zip(hyps, refs)]
        return {"per_sample": [[row[t].fmeasure for t in ROUGE] for row in rows]}
    from nltk.translate.meteor_score import meteor_score

    return {"per_sample": [meteor_score([x.split() for x in r], h.split()) for h, r in zip(hyps, refs)]}


def ours(family: str, hyps: list[str], refs: list[list[str]], jobs: int | None) -> dict[str, Any]:
    scores = compute([family], hyps, refs, MetricOptions(jobs=jobs))
    if family in ("bleu", "chrf"):
        return {"per_sample": [row[f"sentence_{family}"] for row in scores.per_sample],
                "corpus": scores.corpus[family]["value"], "mean": scores.corpus[family]["bootstrap_mean"]}
    if family == "rouge":
        return {"per_sample": [[row[t] for t in ROUGE] for row in scores.per_sample]}
    return {"per_sample": [row["meteor"] for row in scores.per_sample]}


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(func: Callable[[], dict[str, Any]]) -> tuple[float, float, dict[str, Any]]:
    cpu, start = _cpu(), time.perf_counter()
    result = func()
    return time.perf_counter() - start, _cpu() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    hyps, refs = load_pairs(args.data_dir, args.n)
    start = time.perf_counter()
    load_wordnet()
    print(f"{len(hyps)} pairs, {available_cpus()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"WordNet load {time.perf_counter() - start:.1f} s (paid once, outside the timings)")
    variants: dict[str, Callable[[str], dict[str, Any]]] = {
        "library": lambda f: library(f, hyps, refs),
        "evalkit jobs=1": lambda f: ours(f, hyps, refs, 1),
        "evalkit": lambda f: ours(f, hyps, refs, None),
    }
    walls: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for repeat in range(args.repeats):
        for family in FAMILIES:
            results = {}
            names = list(variants)
            order = names[repeat % len(names):] + names[:repeat % len(names)]  # who runs first (cold caches) rotates
            for name in order:  # interleaved, so load changes hit all variants alike
                run = variants[name]
                wall, cpu, results[name] = timed(lambda run=run, family=family: run(family))
                walls.setdefault((family, name), []).append(wall)
                cpus.setdefault((family, name), []).append(cpu)
            for name in variants:
                if results[name] != results["library"]:
                    raise SystemExit(f"{family}: {name} differs from the library's numbers")
    print(f"\n{'metric':<8}" + "".join(f"{name:>24}" for name in variants) + f"{'jobs=1/lib':>12}{'auto/lib':>10}")
    totals = {name: 0.0 for name in variants}
    for family in FAMILIES:
        cells = {name: statistics.median(walls[(family, name)]) for name in variants}
        for name, value in cells.items():
            totals[name] += value
        print(f"{family:<8}" + "".join(
            f"{cells[n]:>12.2f} s ({statistics.median(cpus[(family, n)]):>5.1f} cpu)" for n in variants)
            + f"{cells['evalkit jobs=1'] / cells['library']:>12.2f}{cells['evalkit'] / cells['library']:>10.2f}")
    print(f"{'total':<8}" + "".join(f"{totals[n]:>12.2f} s{'':>11}" for n in variants)
          + f"{totals['evalkit jobs=1'] / totals['library']:>12.2f}{totals['evalkit'] / totals['library']:>10.2f}")
    print("identical numbers: yes (per-sample and corpus, all metrics)")


if __name__ == "__main__":
    main()
