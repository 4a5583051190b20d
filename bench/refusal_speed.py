"""Rule-based refusal classifier: speed and agreement with XSTest's human labels (issue 8 targets).

    python bench/refusal_speed.py [--data-dir ../shared/data] [--repeats 5]

Classifies the 3 × 450 human-labelled XSTest completions (gpt4, llama2new, mistralinstruct) and prints,
per model and overall: agreement with the final human label on the refuse/comply split and on the
exact class, and the confusion matrix. In the same run, two references on the same data:

* XSTest's own string-match baseline (their evaluation/classify_completions_strmatch.py: a completion
  that starts with one of 21 refusal prefixes is a full refusal, anything else compliance);
* the two human annotators against each other (``annotation_1`` vs ``annotation_2``): how often two
  careful humans agree, a practical ceiling for any automatic classifier.

Timing: wall time of classifying all 1350 completions (median of --repeats), target < 2 s.
The rules were developed on this very data: read the agreement as an in-sample estimate; the
out-of-sample figures come from bench/refusal_agreement.py (leave-one-set-out).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.scoring.refusal_rules import LABELS, agreement, classify, confusion  # noqa: E402
from evalkit.scoring.refusal_validation import strmatch  # noqa: E402

MODELS = ("gpt4", "llama2new", "mistralinstruct")

def load_completions(data_dir: Path) -> dict[str, list[dict[str, str]]]:
    folder = data_dir / "xstest" / "model_completions"
    return {m: list(csv.DictReader(open(folder / f"xstest_v2_completions_{m}.csv", encoding="utf-8", newline="")))
            for m in MODELS}


def print_confusion(name: str, pairs: list[tuple[str, str]]) -> None:
    table = confusion(pairs)
    print(f"  {name}: rows = human, columns = predicted ({', '.join(label[:1] for label in LABELS)})")
    for human in LABELS:
        print(f"    {human:<18} " + " ".join(f"{table[human][p]:>4}" for p in LABELS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_completions(args.data_dir)
    texts = [(row["completion"], row["type"].startswith("contrast")) for rows in data.values() for row in rows]

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for text, unsafe in texts:
            classify(text, unsafe)
        times.append(time.perf_counter() - start)
    wall = statistics.median(times)
    print(f"classified {len(texts)} completions in {wall * 1000:.1f} ms (median of {args.repeats}); "
          f"target 2000 ms → {wall / 2.0:.4f} of the budget, {len(texts) / wall:,.0f} completions/s")

    pooled: dict[str, list[tuple[str, str]]] = {"rules": [], "strmatch": [], "human_vs_human": []}
    print(f"\n{'model':<16} {'method':<15} {'refuse/comply':>13} {'3-class':>8}    n")
    for model, rows in data.items():
        per = {
            "rules": [(r["final_label"], classify(r["completion"], r["type"].startswith("contrast")).label) for r in rows],
            "strmatch": [(r["final_label"], strmatch(r["completion"])) for r in rows],
            "human_vs_human": [(r["annotation_1"], r["annotation_2"]) for r in rows],
        }
        for method, pairs in per.items():
            pooled[method].extend(pairs)
            scores = agreement(pairs)
            print(f"{model:<16} {method:<15} {scores['refuse_comply']:>13.4f} {scores['three_class']:>8.4f} {len(pairs):>4}")
    for method, pairs in pooled.items():
        scores = agreement(pairs)
        print(f"{'all':<16} {method:<15} {scores['refuse_comply']:>13.4f} {scores['three_class']:>8.4f} {len(pairs):>4}")
    print("\nconfusion matrices (rules)")
    for model, rows in data.items():
        print_confusion(model, [(r["final_label"], classify(r["completion"], r["type"].startswith("contrast")).label)
                                for r in rows])
    print_confusion("all", pooled["rules"])


if __name__ == "__main__":
    main()
