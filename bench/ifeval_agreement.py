"""Agreement of evalkit's IFEval verifiers with the official checker's own verdicts.

    python bench/ifeval_agreement.py --strict eval_results_strict.jsonl [--loose eval_results_loose.jsonl]
                                     [--input-data ../shared/data/ifeval/input_data.jsonl]

The official checker (google-research ``instruction_following_eval``) writes one JSON line per prompt with
``prompt``, ``response`` and ``follow_instruction_list``. This script re-scores every response with
evalkit's verifiers, using the kwargs of the prompt in ``input_data.jsonl``, and prints the share of
prompts and of instructions on which the two agree, and each disagreement. Lines whose prompt is not in
the input data are counted apart: upstream reworded key 2785 after its example responses were made.
Official verdicts on a non-letter ``letter_frequency`` target (keys 1122, 1129) are random, so expect
those to disagree now and then. The files themselves are not part of evalkit.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.scoring.ifeval import checked_kwargs, follow_loose, follow_strict

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Agreement:
    prompts: int = 0
    prompts_agree: int = 0
    instructions: int = 0
    instructions_agree: int = 0
    unmatched_prompts: list[str] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)


def compare(results_path: Path, rows: dict[str, dict], loose: bool) -> Agreement:
    score = follow_loose if loose else follow_strict
    prompts = agree = instructions = inst_agree = 0
    unmatched: list[str] = []
    differences: list[dict] = []
    for line in open(results_path, encoding="utf-8"):
        official = json.loads(line)
        row = rows.get(official["prompt"])
        if row is None:
            unmatched.append(official["prompt"][:60])
            continue
        ids = row["instruction_id_list"]
        ours = score(ids, [checked_kwargs(i, k) for i, k in zip(ids, row["kwargs"])], official["response"])
        prompts += 1
        agree += ours == official["follow_instruction_list"]
        instructions += len(ids)
        inst_agree += sum(a == b for a, b in zip(ours, official["follow_instruction_list"]))
        if ours != official["follow_instruction_list"]:
            differences.append({"key": row["key"], "instructions": ids, "evalkit": ours,
                                "official": official["follow_instruction_list"]})
    return Agreement(prompts, agree, instructions, inst_agree, unmatched, differences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strict", type=Path, required=True, help="the official eval_results_strict.jsonl")
    parser.add_argument("--loose", type=Path, help="the official eval_results_loose.jsonl")
    parser.add_argument("--input-data", type=Path, default=REPO.parent / "shared" / "data" / "ifeval" / "input_data.jsonl")
    args = parser.parse_args()
    rows = {row["prompt"]: row for row in map(json.loads, open(args.input_data, encoding="utf-8"))}
    for name, path in (("strict", args.strict), ("loose", args.loose)):
        if path is None:
            continue
        report = compare(path, rows, loose=name == "loose")
        print(f"{name}: prompts {report.prompts_agree}/{report.prompts} agree, instructions "
              f"{report.instructions_agree}/{report.instructions}; {len(report.unmatched_prompts)} "
              f"lines with a prompt not in the input data")
        for difference in report.differences:
            print("  differs:", json.dumps(difference))


if __name__ == "__main__":
    main()
