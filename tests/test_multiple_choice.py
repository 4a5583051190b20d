"""The multiple-choice kind: ARC loading, lm-eval's acc/acc_norm, letter extraction, end to end on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import create_kind
from evalkit.kinds.multiple_choice import MultipleChoiceKind, acc, acc_bytes, acc_norm
from evalkit.scoring.choice import extract_choice
from evalkit.specs.registry import get_spec
from evalkit.tasks import load_task
from evalkit.types import GenerateResult, LoglikelihoodRequest, LoglikelihoodResult, Sample


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evalkit.testing.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


# --- letter extraction ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("B", 1), ("(c)", 2), ("D.", 3), ("[a]", 0),
    ("The answer is C.", 2), ("**Answer:** (d)", 3), ("answer: b", 1), ("Final answer: [B]", 1),
    ("A plant needs light, so the answer is B", 1), ("B. London", 1), ("C) Rome", 2), ("I choose D because", 3),
    ("The correct option is C) Rome", 2), ("Option A is wrong. The answer is D", 3),
])
def test_letter_is_found(text: str, expected: int) -> None:
    assert extract_choice(text, 4) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "I am not sure.", "The answer is a plant.", "Option E", "E", "Between (A) and (C), (C) is right",
    "A plant needs light.",
])
def test_no_valid_letter_is_none(text: str) -> None:
    assert extract_choice(text, 4) is None


def test_option_text_counts_when_it_matches_one_choice_exactly() -> None:
    choices = ["Paris", "London", "Rome", "Berlin"]
    assert extract_choice("rome.", 4, choices) == 2
    assert extract_choice("Rome is nice", 4, choices) is None
    assert extract_choice("E", 5) == 4  # five options: E is valid


# --- metrics as lm-evaluation-harness defines them -------------------------------------------------
def test_acc_norm_divides_by_characters_and_acc_bytes_by_utf8_bytes() -> None:
    texts = ["a", "bbbbbbbbbb", "ééééé"]  # 1 char, 10 chars, 5 chars = 10 bytes
    logliks = [-2.0, -10.0, -6.0]
    assert acc(logliks, texts, 0) == 1.0  # raw: -2 is the largest
    assert acc_norm(logliks, texts, 1) == 1.0  # per char: -2, -1, -1.2
    assert acc_bytes(logliks, texts, 2) == 1.0  # per byte: -2, -1, -0.6


def test_ties_go_to_the_first_choice_as_numpy_argmax() -> None:
    assert acc([-1.0, -1.0], ["x", "y"], 0) == 1.0
    assert acc([-1.0, -1.0], ["x", "y"], 1) == 0.0


# --- the ARC spec on the real file ------------------------------------------------------------------
def test_arc_local_file_loads_all_items_with_numeric_labels_and_odd_choice_counts(data_dir: Path) -> None:
    task = load_task("arc_challenge", data_dir)
    assert len(task.samples) == 1172
    rows = {json.loads(line)["id"]: json.loads(line)
            for line in (data_dir / "arc_challenge" / "ARC-Challenge-Test.jsonl").read_text().splitlines()}
    numeric = 0
    for sample in task.samples:
        row = rows[sample.id]
        labels = [c["label"] for c in row["question"]["choices"]]
        numeric += labels[0] == "1"
        assert sample.choices == tuple(c["text"] for c in row["question"]["choices"])
        assert labels[sample.target] == row["answerKey"]
    assert numeric == 22
    assert sorted({len(s.choices or ()) for s in task.samples}) == [3, 4, 5]


def test_arc_prompt_is_lm_eval_default(data_dir: Path) -> None:
    task = load_task("arc_challenge", data_dir, limit=1)
    requests = task.kind.requests(task.samples[0], "loglikelihood")
    question = task.samples[0].input
    assert [r.context for r in requests] == [f"Question: {question}\nAnswer:"] * 4
    assert [r.continuation for r in requests] == [" " + c for c in task.samples[0].choices or ()]


def test_hub_rows_map_like_local_rows() -> None:
    """The hub layout (choices: {text, label}) goes through the spec's hub fields."""
    from evalkit.data.fields import rows_to_samples

    spec = get_spec("arc_challenge")
    assert spec.sources.hub is not None and spec.sources.hub.fields is not None
    row = {"id": "x", "question": "Which?", "choices": {"text": ["p", "q", "r"], "label": ["1", "2", "3"]},
           "answerKey": "3", "_index": 0}
    (sample,) = rows_to_samples([row], spec.sources.hub.fields, "test")
    assert sample.choices == ("p", "q", "r") and sample.target == 2 and sample.input == "Which?"


# --- scoring ----------------------------------------------------------------------------------------
def _kind(**options: object) -> MultipleChoiceKind:
    spec = get_spec("arc_challenge").model_copy(update={"options": {**get_spec("arc_challenge").options, **options}})
    kind = create_kind(spec)
    assert isinstance(kind, MultipleChoiceKind)
    return kind


SAMPLE = Sample(id="s1", input="Which city is in Italy?", target=2, choices=("Paris", "London", "Rome"))


def test_loglikelihood_scores_and_choice_logliks_column() -> None:
    kind = _kind()
    results = [LoglikelihoodResult(logprob=lp, is_greedy=False) for lp in (-3.0, -4.0, -5.5)]
    (scored,) = kind.score([SAMPLE], [results], "loglikelihood")
    # raw: Paris wins; per character (5, 6, 4 chars): -0.6, -0.667, -1.375 → Paris too
    assert scored.scores == {"acc": 0.0, "acc_norm": 0.0}
    assert scored.extra == {"choice_logliks": [-3.0, -4.0, -5.5]}
    london = Sample(id="s2", input=SAMPLE.input, target=1, choices=SAMPLE.choices)
    results = [LoglikelihoodResult(logprob=lp, is_greedy=False) for lp in (-3.0, -3.3, -5.0)]
    (scored,) = kind.score([london], [results], "loglikelihood")
    # raw: Paris; per character: -0.6, -0.55, -1.25 → London
    assert scored.scores == {"acc": 0.0, "acc_norm": 1.0} and scored.output == "Paris"
    assert [m.name for m in kind.metrics("loglikelihood")] == ["acc", "acc_norm"]


def test_choice_text_template_and_delimiter_shape_the_continuations() -> None:
    kind = _kind(choice_text="{{ letter }}", target_delimiter=":")
    requests = kind.requests(SAMPLE, "loglikelihood")
    assert all(isinstance(r, LoglikelihoodRequest) for r in requests)
    assert [r.continuation for r in requests] == [":A", ":B", ":C"]  # type: ignore[union-attr]


def test_generate_mode_counts_invalid_answers_apart() -> None:
    kind = _kind()
    (request,) = kind.requests(SAMPLE, "generate")
    assert "C. Rome" in request.prompt_text()
    samples = [SAMPLE, SAMPLE, SAMPLE]
    replies = [[GenerateResult(text="The answer is C.")], [GenerateResult(text="(a)")], [GenerateResult(text="hmm")]]
    scored = kind.score(samples, replies, "generate")
    assert [s.scores for s in scored] == [{"acc": 1.0, "invalid": 0.0, "truncated": 0.0},
                                         {"acc": 0.0, "invalid": 0.0, "truncated": 0.0},
                                         {"acc": 0.0, "invalid": 1.0, "truncated": 0.0}]
    assert [s.extracted for s in scored] == ["C", "A", None]
    assert [m.name for m in kind.metrics("generate")] == ["acc", "invalid", "truncated"]
    assert kind.summarize(scored, "generate") == {"n_invalid": 1, "n_truncated": 0}


@pytest.mark.parametrize("target", [3, -1, "C", None, True])
def test_bad_target_is_a_data_error(target: object) -> None:
    bad = Sample(id="b", input="q", target=target, choices=("x", "y", "z"))
    with pytest.raises(DataError, match="target must be a choice index"):
        _kind().requests(bad, "loglikelihood")


def test_unknown_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown multiple-choice metric"):
        _kind(metrics=["acc", "mc9"])


# --- end to end ---------------------------------------------------------------------------------------
def test_run_arc_on_tiny_model_matches_reference_argmax(tmp_path: Path, data_dir: Path, tiny_model: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli("run", "--model", f"hf:{tiny_model}", "--benchmark", "arc_challenge", "--limit", "30",
                   "--data-dir", str(data_dir), "--out", str(out), "--batch-size", "7", "-q")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 30
    accs, norms = [], []
    for row in rows:
        sample = next(s for s in load_task("arc_challenge", data_dir, limit=30).samples if s.id == row["id"])
        lls = np.array(row["choice_logliks"])
        lengths = np.array([float(len(c)) for c in sample.choices or ()])
        assert len(lls) == len(lengths)
        accs.append(float(np.argmax(lls) == row["target"]))  # lm-eval's formulas, written with numpy
        norms.append(float(np.argmax(lls / lengths) == row["target"]))
        assert row["scores"] == {"acc": accs[-1], "acc_norm": norms[-1]}
    metrics = json.loads((out / "results.json").read_text())["benchmarks"]["arc_challenge"]["metrics"]
    assert metrics["acc"]["value"] == pytest.approx(np.mean(accs))
    assert metrics["acc_norm"]["value"] == pytest.approx(np.mean(norms))


def test_generate_mode_end_to_end_reports_invalid(tmp_path: Path, data_dir: Path, tiny_model: Path) -> None:
    out = tmp_path / "gen"
    proc = run_cli("run", "--model", f"hf:{tiny_model}", "--benchmark", "arc_challenge", "--limit", "6",
                   "--mode", "generate", "--data-dir", str(data_dir), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["arc_challenge"]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    # no letter found: invalid, or truncated when the reply ran into the token limit (scoring/reasoning.py)
    invalid = sum(1 for r in rows if r["extracted"] is None and r["finish_reason"] != "length")
    cut = sum(1 for r in rows if r["extracted"] is None and r["finish_reason"] == "length")
    assert entry["mode"] == "generate" and entry["n_invalid"] == invalid and entry["n_truncated"] == cut
    assert entry["metrics"]["invalid"]["value"] == pytest.approx(invalid / 6)
    assert entry["metrics"]["truncated"]["value"] == pytest.approx(cut / 6)
    assert all("A. " in r["input"] for r in rows)
