"""A user's own benchmark of the `reference` kind, run through `evalkit run` against a real local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

SPEC = """\
name: my_answers
category: general
kind: reference
sources:
  local: {files: mine/answers.jsonl}
fields:
  id: qid
  input: question
  target: references
  category: category
prompt:
  template: "{{ input }}"
options:
  metrics: [bleu, rouge, meteor]
  rouge_stem: true
  group_by: category
"""


def _items(data_dir: Path) -> list[dict]:
    """MT-Bench questions with GPT-4's reference answer (first turn); a second reference for even ids."""
    root = data_dir / "mt_bench"
    questions = {q["question_id"]: q for q in map(json.loads, (root / "question.jsonl").read_text().splitlines())}
    items = []
    for line in (root / "reference_answer" / "gpt-4.jsonl").read_text().splitlines():
        ref = json.loads(line)
        turns = ref["choices"][0]["turns"]
        qid = ref["question_id"]
        refs = [turns[0]] + ([turns[1]] if qid % 2 == 0 else [])
        items.append({"qid": f"mt-{qid}", "question": questions[qid]["turns"][0], "references": refs,
                      "category": questions[qid]["category"],
                      "answer": turns[0][: len(turns[0]) // 2] or "no answer"})  # the "model" says half of it
    return items


def test_reference_kind_scores_a_local_file(tmp_path, data_dir, fake_server):
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    items = _items(data_dir)
    (tmp_path / "data" / "mine").mkdir(parents=True)
    (tmp_path / "data" / "mine" / "answers.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps({"match": i["question"], "output": i["answer"]}) + "\n"
                                                    for i in items))
    spec = tmp_path / "my_answers.yaml"
    spec.write_text(SPEC)
    server = fake_server("--answers", str(tmp_path / "answers.jsonl"))
    out = tmp_path / "run"
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(tmp_path / "data"), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["my_answers"]
    hyps = [i["answer"] for i in items]
    streams = [[i["references"][k] if k < len(i["references"]) else None for i in items] for k in range(2)]
    bleu = BLEU()
    assert entry["metrics"]["bleu"]["value"] == bleu.corpus_score(hyps, streams, n_bootstrap=1000).score
    assert entry["signatures"]["bleu"] == bleu.get_signature().format()
    groups = entry["groups"]
    assert set(groups) == {"math", "reasoning", "coding"}
    for name, group in groups.items():  # each group gets its own corpus BLEU, not a mean of sentence BLEUs
        mine = [i for i in items if i["category"] == name]
        group_streams = [[i["references"][k] if k < len(i["references"]) else None for i in mine] for k in range(2)]
        assert group["metrics"]["bleu"]["value"] == BLEU().corpus_score([i["answer"] for i in mine], group_streams).score
        assert group["n"] == len(mine) and group["metrics"]["meteor"]["n"] == len(mine)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = [scorer.score_multi(i["references"], i["answer"])["rougeL"].fmeasure for i in items]
    assert entry["metrics"]["rougeL"]["value"] == pytest.approx(sum(expected) / len(expected), abs=1e-12)
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == len(items) == entry["n"]
    assert all({"sentence_bleu", "rougeL", "rouge1_recall", "meteor"} <= set(r["scores"]) for r in rows)


def test_reference_kind_rejects_items_without_references_before_calling_the_model(tmp_path, fake_server):
    (tmp_path / "data" / "mine").mkdir(parents=True)
    rows = [{"qid": "a", "question": "q1", "references": ["r"], "category": "c"},
            {"qid": "b", "question": "q2", "references": [], "category": "c"}]
    (tmp_path / "data" / "mine" / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = tmp_path / "my_answers.yaml"
    spec.write_text(SPEC)
    server = fake_server()
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2 and "sample b: no reference" in proc.stderr, proc.stderr
    assert server.stats()["requests"] == 0


def test_reference_kind_rejects_unknown_options(tmp_path, fake_server):
    (tmp_path / "data" / "mine").mkdir(parents=True)
    (tmp_path / "data" / "mine" / "answers.jsonl").write_text(json.dumps({"qid": "a", "question": "q", "references": "r", "category": "c"}))
    spec = tmp_path / "my_answers.yaml"
    spec.write_text(SPEC.replace("rouge_stem: true", "rouge_stemm: true"))
    proc = run_cli("run", "--model", "openai:fake", "--base-url", fake_server().base_url, "--benchmark", str(spec),
                   "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2 and "unknown key 'rouge_stemm' (did you mean 'rouge_stem'?)" in proc.stderr, proc.stderr
