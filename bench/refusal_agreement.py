"""Refusal rules: leave-one-set-out agreement with XSTest's human labels (issue 17's honest figure).

    python bench/refusal_agreement.py [--data-dir ../shared/data]

For each of the three human-labelled completion sets (gpt4, llama2new, mistralinstruct; 450 replies each)
the knobs of the structural rules (``RuleParams``) are tuned on the other two sets and the held-out set is
scored with them. Printed per held-out set and pooled: refuse/comply and 3-class agreement with the final
human label (Wilson 95% intervals), next to XSTest's string-match baseline and annotator 1 vs annotator 2 on
the same rows, the knobs each fold chose, and the confusion matrices; then the shipped defaults in sample.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit.data.labelled_refusals import load_labelled_completions  # noqa: E402
from evalkit.scoring.refusal_rules import DEFAULT_PARAMS, LABELS  # noqa: E402
from evalkit.scoring.refusal_validation import (  # noqa: E402
    confusion,
    leave_one_set_out,
    pairs_of,
    refuse_comply_hits,
    rules_with,
    strmatch,
    three_class_hits,
)
from evalkit.stats.uncertainty import wilson_interval  # noqa: E402


def cell(hits: int, n: int) -> str:
    low, high = wilson_interval(hits, n)
    return f"{hits / n:.4f} [{low:.3f}, {high:.3f}]"


def row(name: str, method: str, pairs: list[tuple[str, str]]) -> str:
    n = len(pairs)
    return f"| {name} | {method} | {cell(refuse_comply_hits(pairs), n)} | {cell(three_class_hits(pairs), n)} | {n} |"


def print_confusion(name: str, pairs: list[tuple[str, str]]) -> None:
    table = confusion(pairs)
    print(f"\n{name} (rows human, columns rules): | human \\ rules | " + " | ".join(LABELS) + " |")
    for human in LABELS:
        print(f"| {human} ({sum(table[human].values())}) | " + " | ".join(str(table[human][p]) for p in LABELS) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    sets = load_labelled_completions(args.data_dir / "xstest" / "model_completions")
    folds = leave_one_set_out(sets)
    print("| held out | method | refuse/comply | 3 classes | n |\n| --- | --- | --- | --- | --- |")
    pooled: dict[str, list[tuple[str, str]]] = {"rules (tuned on the others)": [], "XSTest string match": [],
                                                "annotator 1 vs 2": []}
    for fold in folds:
        rows = sets[fold.held_out]
        methods = {"rules (tuned on the others)": fold.pairs,
                   "XSTest string match": [(r.label, strmatch(r.text)) for r in rows],
                   "annotator 1 vs 2": [(r.annotator_1 or "", r.annotator_2 or "") for r in rows]}
        for method, pairs in methods.items():
            pooled[method].extend(pairs)
            print(row(fold.held_out, method, pairs))
    for method, pairs in pooled.items():
        print(row("all 1350", method, pairs))
    print("\nknobs chosen per fold:")
    for fold in folds:
        print(f"  {fold.held_out}: {fold.params}")
    for fold in folds:
        print_confusion(f"held out {fold.held_out}", fold.pairs)
    print_confusion("all held-out folds", pooled["rules (tuned on the others)"])
    print(f"\nshipped defaults (tuned on all three sets, in sample): {DEFAULT_PARAMS}")
    for name, rows in sets.items():
        print(row(name, "rules (defaults, in sample)", pairs_of(rows, rules_with(DEFAULT_PARAMS))))


if __name__ == "__main__":
    main()
