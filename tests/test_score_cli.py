"""`evalkit score` end to end in a subprocess: JSONL/CSV/text inputs, several references, bad input → exit 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import run_cli

HYPS = ["The cat sat on the mat.", "A quick brown fox jumps over the lazy dog.", "It is raining today in Paris.",
        "Evaluation harnesses should report intervals.", "He reads a book every night before bed."]
REFS_A = ["The cat is sitting on the mat.", "The quick brown fox jumped over the lazy dog.",
          "Today it rains in Paris.", "An evaluation harness must report confidence intervals.",
          "Every night before sleeping he reads a book."]
REFS_B = ["A cat sat on a mat.", "A fast brown fox leaps over a lazy dog.", "It's rainy in Paris today.",
          "Harnesses for evaluation ought to report intervals.", "He reads books nightly before going to bed."]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _corpus_bleu(hyps: list[str], streams: list[list[str]]) -> tuple[float, str]:
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    score = metric.corpus_score(hyps, streams, n_bootstrap=1000)
    return score.score, metric.get_signature().format()


def test_jsonl_with_a_list_of_references_matches_sacrebleu(tmp_path):
    rows = [{"id": f"q{i}", "output": h, "reference": [a, b]} for i, (h, a, b) in enumerate(zip(HYPS, REFS_A, REFS_B))]
    out = tmp_path / "scores.json"
    proc = run_cli("score", str(_jsonl(tmp_path / "preds.jsonl", rows)), "--id-field", "id",
                   "--metrics", "bleu,chrf,rouge,em,f1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "bleu" in proc.stdout and "signature: nrefs:2|bs:1000|seed:12345" in proc.stdout
    report = json.loads(out.read_text())
    value, signature = _corpus_bleu(HYPS, [REFS_A, REFS_B])
    assert report["metrics"]["bleu"]["value"] == value and report["signatures"]["bleu"] == signature
    lo, hi = report["metrics"]["bleu"]["ci95"]
    assert lo <= value <= hi
    assert [s["id"] for s in report["samples"]] == ["q0", "q1", "q2", "q3", "q4"]
    assert set(report["samples"][0]["scores"]) >= {"sentence_bleu", "sentence_chrf", "rouge1", "rougeLsum_recall",
                                                   "exact_match", "f1"}


def test_text_files_with_two_reference_files(tmp_path):
    for name, lines in (("hyp.txt", HYPS), ("a.txt", REFS_A), ("b.txt", REFS_B)):
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "scores.json"
    proc = run_cli("score", str(tmp_path / "hyp.txt"), "-r", str(tmp_path / "a.txt"), "-r", str(tmp_path / "b.txt"),
                   "--metrics", "bleu,meteor", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["metrics"]["bleu"]["value"] == _corpus_bleu(HYPS, [REFS_A, REFS_B])[0]
    assert 0 < report["metrics"]["meteor"]["value"] < 1


def test_csv_with_repeated_reference_columns_and_an_empty_cell(tmp_path):
    path = tmp_path / "preds.csv"
    second = [*REFS_B[:-1], None]  # the last item has one reference only
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prediction", "ref1", "ref2"])
        writer.writerows(zip(HYPS, REFS_A, [r or "" for r in second]))
    out = tmp_path / "scores.json"
    proc = run_cli("score", str(path), "--pred-field", "prediction", "--ref-field", "ref1", "--ref-field", "ref2",
                   "--metrics", "bleu", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert (report["metrics"]["bleu"]["value"], report["signatures"]["bleu"]) == _corpus_bleu(HYPS, [REFS_A, second])
    assert "nrefs:var" in report["signatures"]["bleu"]


def _bad(tmp_path: Path, case: str) -> tuple[list[str], str]:
    """(CLI args, a phrase the one-line error must contain) for each kind of bad input."""
    preds = tmp_path / "preds.jsonl"
    if case == "empty predictions":
        preds.write_text("", encoding="utf-8")
        return [str(preds)], "no predictions"
    if case == "missing reference field":
        _jsonl(preds, [{"output": "a", "reference": "a"}, {"output": "b"}])
        return [str(preds)], "row 2: no field 'reference'"
    if case == "null reference":
        _jsonl(preds, [{"output": "a", "reference": None}])
        return [str(preds)], "no reference"
    if case == "empty reference list":
        _jsonl(preds, [{"output": "a", "reference": []}])
        return [str(preds)], "no reference"
    if case == "missing prediction":
        _jsonl(preds, [{"output": None, "reference": "a"}])
        return [str(preds)], "prediction is missing"
    if case == "mismatched lengths":
        (tmp_path / "h.txt").write_text("a\nb\nc\n", encoding="utf-8")
        (tmp_path / "r.txt").write_text("a\nb\n", encoding="utf-8")
        return [str(tmp_path / "h.txt"), "-r", str(tmp_path / "r.txt")], "has 2 rows but"
    if case == "non-UTF-8 jsonl":
        preds.write_bytes(b'{"output": "caf\xe9", "reference": "cafe"}\n')
        return [str(preds)], "cannot read"
    if case == "non-UTF-8 text":
        (tmp_path / "h.txt").write_bytes(b"caf\xe9\n")
        (tmp_path / "r.txt").write_text("cafe\n", encoding="utf-8")
        return [str(tmp_path / "h.txt"), "-r", str(tmp_path / "r.txt")], "not UTF-8"
    if case == "unknown metric":
        _jsonl(preds, [{"output": "a", "reference": "a"}])
        return [str(preds), "--metrics", "bleu,blue"], "unknown metric 'blue'"
    if case == "unknown tokenizer":
        _jsonl(preds, [{"output": "a", "reference": "a"}])
        return [str(preds), "--bleu-tokenize", "nope"], "unknown BLEU tokenizer"
    if case == "text without references":
        (tmp_path / "h.txt").write_text("a\n", encoding="utf-8")
        return [str(tmp_path / "h.txt")], "needs reference files"
    if case == "no such file":
        return [str(tmp_path / "absent.jsonl")], "no such file"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["empty predictions", "missing reference field", "null reference",
                                  "empty reference list", "missing prediction", "mismatched lengths",
                                  "non-UTF-8 jsonl", "non-UTF-8 text", "unknown metric", "unknown tokenizer",
                                  "text without references", "no such file"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case):
    args, phrase = _bad(tmp_path, case)
    proc = run_cli("score", *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and phrase in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
