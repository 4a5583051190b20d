"""MMLU in generate mode against a real local OpenAI-protocol server: the 5-shot chat
prompt goes out, free-text letter answers come back, and acc / invalid come out exactly."""

from __future__ import annotations

import csv
import json

from helpers import run_cli

# how chat models phrase a letter answer; {L} is the letter, {T} the option's text
PHRASINGS = ["{L}", "The answer is ({L}).", "**{L}**", "Answer: {L}. {T}", "I would choose {L}.", "{T}"]


def test_mmlu_chat_letters(tmp_path, data_dir, fake_server):
    rows = []  # --limit 36 is spread over subjects: the first item of each of the first 36 subjects
    for path in sorted((data_dir / "mmlu" / "test").glob("*_test.csv"))[:36]:
        with open(path, encoding="utf-8", newline="") as handle:
            rows.append(next(csv.DictReader(handle)))
    answers = []
    expected_right = expected_invalid = 0
    for i, row in enumerate(rows):
        gold = int(row["answer"])
        chosen = gold if i % 4 else (gold + 1) % 4  # every 4th answer is a wrong letter
        text = PHRASINGS[i % len(PHRASINGS)].format(L="ABCD"[chosen], T=row[f"choice{chosen}"])
        if i % 9 == 8:
            text, chosen = "I am not sure about this one.", None
        texts = [row[f"choice{k}"] for k in range(4)]
        if chosen is not None and PHRASINGS[i % len(PHRASINGS)] == "{T}" and texts.count(texts[chosen]) > 1:
            chosen = None  # an option text that is not unique cannot name a choice
        expected_right += chosen == gold
        expected_invalid += chosen is None
        question = row["question"].strip()
        answers.append({"match": f"{question}\nA. {row['choice0']}\nB. {row['choice1']}", "output": text})
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    server = fake_server("--answers", str(tmp_path / "answers.jsonl"), "--default-reply", "NO MATCH")
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "mmlu",
                   "--limit", "36", "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["mmlu"]
    assert entry["mode"] == "generate" and entry["n"] == 36
    assert entry["metrics"]["acc"]["value"] == expected_right / 36
    assert entry["n_invalid"] == expected_invalid
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().split("\n") if line]
    assert all("NO MATCH" not in s["output"] for s in samples)
    prompt = samples[0]["input"]
    # system turn, five dev examples as user/assistant turns, then the question
    assert prompt.startswith("[system]\nThe following are multiple choice questions (with answers) about abstract algebra.")
    assert prompt.count("[assistant]\n") == 5 and prompt.count("[user]\n") == 6
    assert server.stats()["completed"] == 36
