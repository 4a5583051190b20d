"""Strict judgment inputs: every malformed row the issue lists exits 2 naming file, line and field;
several files are read together with their models and judges kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.errors import DataError
from evalkit.judging.inputs import load_rows, read_judgment_files

ANNOTATIONS = "alpaca_eval/results/{}/weighted_alpaca_eval_gpt4_turbo/annotations.json"


def _evalkit_file(data_dir: Path, path: Path, n: int = 12) -> list[dict]:
    """Real judgments (AlpacaEval's, as evalkit rows) written as an evalkit judgments.jsonl."""
    rows = read_judgment_files(data_dir / ANNOTATIONS.format("claude-2.1"))[:n]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def _corrupt(path: Path, line: int, **changes) -> None:
    lines = path.read_text().splitlines()
    row = json.loads(lines[line - 1])
    row.update(changes)
    lines[line - 1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def _exit2(*args: str) -> str:
    proc = run_cli("bias", *args, "--resamples", "0")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr.strip()


@pytest.mark.parametrize("line, changes, field, words", [
    (3, {"verdict": "A>B"}, "verdict", "Input should be"),
    (4, {"winner": "somebody-else"}, "winner", "is neither model_a"),
    (5, {"valid": "false"}, "valid", "valid boolean"),
    (6, {"gold": "A"}, "gold", "position letters are ambiguous"),
    (7, {"score": 1.0, "verdict": "B", "winner": "gpt4_1106_preview"}, "score", "contradicts the verdict"),
    (8, {"len_a": "120"}, "len_a", "valid integer"),
    (9, {"order": "AB"}, "order", "Input should be 'ab' or 'ba'"),
    (10, {"valid": True, "verdict": None, "winner": None}, "valid", "valid is true but the verdict is missing"),
])
def test_malformed_evalkit_rows_exit_2(tmp_path, data_dir, line, changes, field, words):
    path = tmp_path / "judgments.jsonl"
    _evalkit_file(data_dir, path)
    _corrupt(path, line, **changes)
    message = _exit2("--judgments", str(path))
    assert f"{path}:{line}: {field}:" in message and words in message


def test_duplicate_rows_exit_2_within_and_across_files(tmp_path, data_dir):
    path = tmp_path / "judgments.jsonl"
    rows = _evalkit_file(data_dir, path)
    with open(path, "a") as handle:
        handle.write(json.dumps(rows[2]) + "\n")
    message = _exit2("--judgments", str(path))
    assert f"{path}:13: row:" in message and f"the first is at {path}:3" in message
    other = tmp_path / "again.jsonl"
    _evalkit_file(data_dir, other, n=3)
    _evalkit_file(data_dir, path)
    message = _exit2("--judgments", str(path), "--judgments", str(other))
    assert f"{other}:1: row: a second judgment" in message


def test_alpaca_eval_preference_out_of_range_or_not_a_number(tmp_path, data_dir):
    source = json.loads((data_dir / ANNOTATIONS.format("alpaca-7b")).read_text())[:5]
    for value, words in ((3.0, "outside AlpacaEval's range"), ("2", "valid number"), (0.5, "outside"),
                         (True, "valid number")):
        bad = [dict(r) for r in source]
        bad[3]["preference"] = value
        path = tmp_path / "annotations.json"
        path.write_text(json.dumps(bad, indent=2))
        line = [i + 1 for i, text in enumerate(path.read_text().splitlines()) if text == "  {"][3]  # row 4 starts
        message = _exit2("--judgments", str(path))
        assert f"{path}:{line}: preference:" in message and words in message
    missing = [dict(r) for r in source]
    del missing[1]["annotator"]
    path.write_text(json.dumps(missing))
    assert f"{path}:1: annotator: Field required" in _exit2("--judgments", str(path))


def test_json_array_rows_know_their_lines(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"a": 1},\n\n  {"a": 2,\n   "b": 3}, {"a": 4}\n]\n')
    assert load_rows(path) == [(2, {"a": 1}), (4, {"a": 2, "b": 3}), (5, {"a": 4})]
    path.write_text('[{"a": 1} {"a": 2}]')
    with pytest.raises(DataError, match="expected ','"):
        load_rows(path)


def test_judgebench_and_mt_bench_rows_are_checked(tmp_path):
    pair = {"pair_id": "p1", "original_id": 7, "source": "livebench-math", "question": "q", "response_model": "m",
            "response_A": "a", "response_B": "b", "label": "A>B", "judge_name": "arena_hard",
            "judgments": [{"judgment": {"judge_model": "gpt-4o"}, "decision": "A>B"}, {"decision": "A>>B"}]}
    path = tmp_path / "jb.jsonl"
    path.write_text(json.dumps(pair) + "\n")
    assert f"{path}:1: judgments.1.decision:" in _exit2("--judgments", str(path))
    pair["judgments"][1] = {"decision": "B>A"}
    pair["label"] = "A=B"
    path.write_text(json.dumps(pair) + "\n")
    assert f"{path}:1: label:" in _exit2("--judgments", str(path))
    mt = {"question_id": 81, "model_1": "vicuna-13b", "model_2": "gpt-3.5-turbo", "g1_winner": "model_1",
          "g2_winner": "model_3", "judge": ["gpt-4", "pair-v2"], "turn": 1}
    path = tmp_path / "gpt-4_pair.jsonl"
    path.write_text(json.dumps(mt) + "\n")
    assert f"{path}:1: g2_winner:" in _exit2("--judgments", str(path))
    mt["g2_winner"] = "model_1"  # model_1 chosen in both orders: consistent
    path.write_text(json.dumps(mt) + "\n")
    rows = read_judgment_files(path)
    assert [(r["order"], r["verdict"], r["winner"]) for r in rows] == [("ab", "A", "vicuna-13b"),
                                                                       ("ba", "B", "vicuna-13b")]
    assert rows[0]["judge"] == "gpt-4" and rows[0]["template"] == "pair-v2"


def test_several_files_and_globs_are_read_together(tmp_path, data_dir):
    models = ("alpaca-7b", "claude-2.1", "gpt-3.5-turbo-1106")
    for model in models:
        (tmp_path / model).mkdir()
        (tmp_path / model / "annotations.json").write_text((data_dir / ANNOTATIONS.format(model)).read_text())
    files = sorted(str(p) for p in tmp_path.glob("*/annotations.json"))
    out = tmp_path / "out"
    # what a shell makes of `--judgments DIR/*/annotations.json`: one option value, then extra arguments
    proc = run_cli("bias", "--judgments", files[0], *files[1:], "--resamples", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    section = json.loads((out / "bias.json").read_text())["judge_bias"]
    judge = section["weighted_alpaca_eval_gpt4_turbo"]
    assert judge["n_judgments"] == 3 * 805
    # the three candidates are kept apart: each match-up has its own win rates, equal to its file's alone
    assert judge["length"]["raw_win_rate"]["n"] == 3 * 805  # the pooled figure
    for model in models:
        single = run_cli("bias", "--judgments", str(tmp_path / model / "annotations.json"), "--resamples", "0",
                         "--out", str(tmp_path / f"alone-{model}"))
        assert single.returncode == 0, single.stderr
        alone = json.loads((tmp_path / f"alone-{model}" / "bias.json").read_text())["judge_bias"]
        mine = judge["by_matchup"][f"{model} vs gpt4_1106_preview"]
        assert mine["length"] == alone["weighted_alpaca_eval_gpt4_turbo"]["length"]
        assert mine["style"] == alone["weighted_alpaca_eval_gpt4_turbo"]["style"]
    assert "per match-up" in proc.stdout
    pattern = str(tmp_path / "*" / "annotations.json")
    again = run_cli("bias", "--judgments", pattern, "--resamples", "0", "--out", str(tmp_path / "quoted"))
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "quoted" / "bias.json").read_text())["judge_bias"] == section
    repeated = run_cli("bias", *[a for f in files for a in ("--judgments", f)], "--resamples", "0",
                       "--out", str(tmp_path / "repeated"))
    assert repeated.returncode == 0, repeated.stderr
    assert json.loads((tmp_path / "repeated" / "bias.json").read_text())["judge_bias"] == section
    assert "matches no file" in _exit2("--judgments", str(tmp_path / "nothing-*.json"))
    assert "extra files go with --judgments" in _exit2(files[0])
