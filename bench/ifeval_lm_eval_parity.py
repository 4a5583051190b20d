"""IFEval verdict parity with lm-evaluation-harness's copy of the official checker, on many responses.

    pip download --no-deps lm_eval==0.4.13 -d /tmp/wheels
    python bench/ifeval_lm_eval_parity.py --lm-eval-wheel /tmp/wheels/lm_eval-0.4.13-py3-none-any.whl
                                          [--data-dir ../shared/data]

lm-evaluation-harness 0.4.13 ships the official checker's code (``lm_eval/tasks/ifeval``, the 2024
version). This script unpacks only that folder from the wheel into a temporary directory and runs it in a
child interpreter, unchanged. Two stand-ins let it run offline:
- NLTK data: a ``punkt_tab/english`` directory written from the English parameters that evalkit uses (so
  the reference runs NLTK's own loader and tokenizers on them);
- ``immutabledict``: a stub module, used only for a constant table.
langdetect is seeded (0) in both processes.

The responses scored by both, each paired with an IFEval prompt:
- for every prompt, the response that tests/ifeval_responses.py builds to follow it;
- that same response with a chatty first line;
- and, for variety, every AlpacaEval model output in ``alpaca_eval/results/*/model_outputs.json``, paired
  with the prompts in turn. Real model text, so counts, cases and languages vary.

The script prints the share of (response, instruction) verdicts that agree, strict and loose, per
instruction type, with each disagreement. The reference draws a random letter for a non-letter
``letter_frequency`` target (keys 1122 and 1129); those verdicts are counted apart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

_REFERENCE = r"""
import json, sys
import langdetect
langdetect.DetectorFactory.seed = 0
from lm_eval.tasks.ifeval import utils
items = json.load(open(sys.argv[1]))
out = []
for item in items:
    inp = utils.InputExample(key=item["key"], instruction_id_list=item["ids"], prompt=item["prompt"],
                             kwargs=item["kwargs"])
    strict = utils.test_instruction_following_strict(inp, item["response"]).follow_instruction_list
    loose = utils.test_instruction_following_loose(inp, item["response"]).follow_instruction_list
    out.append([strict, loose])
json.dump(out, open(sys.argv[2], "w"))
"""


def _reference_tree(wheel: Path, work: Path) -> Path:
    """lm_eval/tasks/ifeval from the wheel (empty parent packages), an immutabledict stub, punkt_tab data."""
    pkg = work / "pkg"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("lm_eval/tasks/ifeval/") and "/multilingual/" not in name:
                archive.extract(name, pkg)
    (pkg / "lm_eval" / "__init__.py").write_text("")
    (pkg / "lm_eval" / "tasks" / "__init__.py").write_text("")
    (pkg / "immutabledict.py").write_text("immutabledict = dict\n")
    import punkt

    model = punkt.load_model("english")
    tab = work / "nltk_data" / "tokenizers" / "punkt_tab" / "english"
    tab.mkdir(parents=True)
    (tab / "abbrev_types.txt").write_text("\n".join(sorted(model.abbrev_types)) + "\n")
    (tab / "collocations.tab").write_text("\n".join("\t".join(p) for p in sorted(model.collocations)) + "\n")
    (tab / "sent_starters.txt").write_text("\n".join(sorted(model.sent_starters)) + "\n")
    (tab / "ortho_context.tab").write_text("\n".join(f"{w}\t{f}" for w, f in sorted(model.ortho_context.items())) + "\n")
    return pkg


def _items(data_dir: Path) -> list[dict]:
    from ifeval_responses import satisfying_response  # type: ignore[import-not-found]  # tests/, on sys.path

    rows = [json.loads(line) for line in open(data_dir / "ifeval" / "input_data.jsonl", encoding="utf-8")]
    items = []
    for row in rows:
        built = satisfying_response(row)
        for source, response in (("built", built), ("built+first line", "Sure, here it is:\n" + built)):
            items.append({"source": source, "key": row["key"], "ids": row["instruction_id_list"],
                          "prompt": row["prompt"], "kwargs": row["kwargs"], "response": response})
    outputs = []
    for path in sorted((data_dir / "alpaca_eval" / "results").glob("*/model_outputs.json")):
        outputs += [r["output"] for r in json.load(open(path, encoding="utf-8")) if isinstance(r.get("output"), str)]
    for index, text in enumerate(outputs):
        row = rows[index % len(rows)]
        items.append({"source": "alpaca_eval outputs", "key": row["key"], "ids": row["instruction_id_list"],
                      "prompt": row["prompt"], "kwargs": row["kwargs"], "response": text})
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm-eval-wheel", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()

    from evalkit.scoring.ifeval import checked_kwargs, follow_loose, follow_strict

    items = _items(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pkg = _reference_tree(args.lm_eval_wheel, work)
        (work / "items.json").write_text(json.dumps(items))
        env = {"PYTHONPATH": str(pkg), "NLTK_DATA": str(work / "nltk_data"), "PATH": "/usr/bin:/bin"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _REFERENCE, str(work / "items.json"), str(work / "ref.json")],
                       check=True, env=env)
        reference_seconds = time.perf_counter() - started
        reference = json.loads((work / "ref.json").read_text())

    started = time.perf_counter()
    ours = []
    for item in items:
        kwargs = [checked_kwargs(i, k) for i, k in zip(item["ids"], item["kwargs"])]
        ours.append([follow_strict(item["ids"], kwargs, item["response"]),
                     follow_loose(item["ids"], kwargs, item["response"])])
    our_seconds = time.perf_counter() - started

    random_keys = {1122, 1129}
    totals: dict[str, Counter] = defaultdict(Counter)
    differences = []
    for item, (our_strict, our_loose), (ref_strict, ref_loose) in zip(items, ours, reference):
        for index, instruction in enumerate(item["ids"]):
            random_target = item["key"] in random_keys and instruction == "keywords:letter_frequency"
            bucket = "random letter (keys 1122, 1129)" if random_target else instruction
            for level, a, b in (("strict", our_strict, ref_strict), ("loose", our_loose, ref_loose)):
                totals[bucket][f"{level}_n"] += 1
                totals[bucket][f"{level}_agree"] += a[index] == b[index]
                if a[index] != b[index] and not random_target:
                    differences.append((item["source"], item["key"], instruction, level, a[index], b[index]))
    print(f"{len(items)} responses ({Counter(i['source'] for i in items)}), "
          f"{sum(len(i['ids']) for i in items)} (response, instruction) pairs; "
          f"scoring time evalkit {our_seconds:.1f} s, reference {reference_seconds:.1f} s (incl. start-up)")
    for level in ("strict", "loose"):
        n = sum(t[f"{level}_n"] for name, t in totals.items() if not name.startswith("random"))
        agree = sum(t[f"{level}_agree"] for name, t in totals.items() if not name.startswith("random"))
        print(f"{level}: {agree}/{n} verdicts agree ({agree / n:.4%}) outside the random-letter prompts")
    for name in sorted(totals):
        t = totals[name]
        print(f"  {name:48s} strict {t['strict_agree']}/{t['strict_n']}  loose {t['loose_agree']}/{t['loose_n']}")
    for difference in differences[:40]:
        print("  differs:", difference)


if __name__ == "__main__":
    main()
