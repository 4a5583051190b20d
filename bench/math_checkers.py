"""math-verify vs evalkit's own LaTeX checker (scoring/math_equiv.py) on real model outputs for MATH-500.

    python bench/math_checkers.py [--outputs RUN/samples.jsonl | --generate --limit 30 --max-tokens 384]

Each output is checked three ways: the last ``\\boxed{}`` with math_equiv, the same boxed answer with
math-verify, and math-verify's own extraction from the whole reply (what lighteval does). Always checked:
MATH-500's own ``solution`` texts (outputs known to be right) and each gold answer rewritten the ways
models write answers (``\\dfrac``, "x = ", a unit, a degree sign, spaced thousands), boxed. ``--outputs``
adds a real run's samples.jsonl; ``--generate`` makes one by serving the embedded SmolLM2-135M-Instruct
GGUF with llama.cpp (xllamacpp) on 127.0.0.1 (slow on a busy CPU). It prints the counts and every
disagreement (problem id, gold, extracted answers), never the problem text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
def generate(data: Path, limit: int, max_tokens: int, out: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from evalkit.backends.hf import embedded_gguf
    from evalkit.testing.llamacpp_server import llamacpp_server

    with llamacpp_server(embedded_gguf(), n_parallel=2) as base_url:
        subprocess.run([sys.executable, "-m", "evalkit", "run", "--model", "openai:smollm2", "--base-url",
                        base_url, "--benchmark", "math500", "--limit", str(limit),
                        "--max-tokens", str(max_tokens), "--concurrency", "2", "--data-dir", str(data),
                        "--out", str(out), "-q"], check=True, cwd=REPO)
    return out / "samples.jsonl"


def compare(items: list[tuple[str, str, str]], label: str) -> None:
    from evalkit.scoring.extract import extract_last_boxed
    from evalkit.scoring.math_equiv import is_equiv
    from evalkit.scoring.verified_math import extract_answer, is_verified

    counts = [0, 0, 0]
    disagreements = []
    for item_id, gold, output in items:
        boxed = extract_last_boxed(output)
        found = extract_answer(output)
        verdicts = (is_equiv(boxed, gold), is_verified(boxed, gold), is_verified(found, gold))
        counts = [c + v for c, v in zip(counts, verdicts)]
        if len(set(verdicts)) > 1:
            disagreements.append((item_id, gold, boxed, found, verdicts))
    n = len(items)
    print(f"\n{label}: {n} outputs; correct by math_equiv(boxed) {counts[0]}, math-verify(boxed) {counts[1]}, "
          f"math-verify(whole reply, lighteval) {counts[2]}; {len(disagreements)} disagreements")
    for item_id, gold, boxed, found, verdicts in disagreements:
        print(f"  {item_id}: gold {gold!r} boxed {boxed!r} math-verify found {found!r} -> "
              f"math_equiv {verdicts[0]}, mv(boxed) {verdicts[1]}, mv(reply) {verdicts[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--outputs", type=Path, help="a math500 run's samples.jsonl")
    parser.add_argument("--generate", action="store_true", help="make the outputs with the embedded model")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    data = args.data_dir.resolve()
    rows = [json.loads(line) for line in (data / "math500" / "test.jsonl").read_text().splitlines() if line]
    compare([(r["unique_id"], r["answer"], r["solution"]) for r in rows], "MATH-500 reference solutions")
    forms = {"\\dfrac": lambda g: g.replace("\\frac", "\\dfrac"), "x = ": lambda g: "x = " + g,
             "unit": lambda g: g + "\\text{ units}", "degrees": lambda g: g + "^\\circ",
             "spaced commas": lambda g: g.replace(",", ", ")}
    for label, rewrite in forms.items():
        compare([(r["unique_id"], r["answer"], f"The answer is $\\boxed{{{rewrite(r['answer'])}}}$.") for r in rows
                 if rewrite(r["answer"]) != r["answer"]], f"gold answers rewritten: {label}")
    if not (args.outputs or args.generate):
        return
    with tempfile.TemporaryDirectory() as tmp:
        samples = args.outputs or generate(data, args.limit, args.max_tokens, Path(tmp) / "run")
        outputs = [json.loads(line) for line in samples.read_text().splitlines() if line]
        gold = {r["unique_id"]: r["answer"] for r in rows}
        compare([(s["id"], gold[s["id"]], s["output"] or "") for s in outputs if s["benchmark"] == "math500"],
                "SmolLM2-135M-Instruct (llama.cpp, greedy)")


if __name__ == "__main__":
    main()
