"""Strict specs: a typo anywhere in a spec is one line naming the key or field and the file, exit 2, and
no model call (a real local server counts the calls)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_cli

from evalkit.errors import ConfigError
from evalkit.gate.config import load_gate_config
from evalkit.judging.templates import load_template
from evalkit.paths import bundled_dir

GSM8K = (bundled_dir("benchmarks") / "gsm8k.yaml").read_text(encoding="utf-8")


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    assert old in GSM8K
    path = tmp_path / "copy.yaml"
    path.write_text(GSM8K.replace(old, new, 1), encoding="utf-8")
    return path


CASES = {
    "template field": ("{{ input }}", "{{ questoin }}", ["prompt.template", "unknown field 'questoin'", "input"]),
    "options key": ("  extractors:", "  extractor:", ["unknown key 'extractor'", "did you mean 'extractors'",
                                                     "allowed: compare, extractors"]),
    "top-level key": ("generation:", "generaton:\n  max_tokens: 5\ngeneration:",
                      ["unknown key 'generaton'", "did you mean 'generation'"]),
    "field expression": ("  input: question", "  input: questoin", ["field 'input' names 'questoin'",
                                                                   "did you mean 'question'", "the row has: answer, question"]),
    "nested options key": ("select: first", "selcet: first", ["options.extractors.0", "unknown key 'selcet'",
                                                            "did you mean 'select'"]),
    "options value": ("compare: number", "compare: numbers", ["options.compare", "'numbers'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spec_typo_is_one_line_exit_2_before_any_model_call(case, tmp_path, data_dir, fake_server):
    old, new, needles = CASES[case]
    spec = _copy(tmp_path, old, new)
    server = fake_server()
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(data_dir), "--limit", "2", "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in [str(spec), *needles]:
        assert needle in lines[0], lines[0]
    assert server.stats()["requests"] == 0
    assert not (tmp_path / "run").exists()


def test_the_unmodified_copy_runs(tmp_path, data_dir, fake_server):
    """The control: the same copy without a typo is accepted and answered."""
    spec = _copy(tmp_path, "{{ input }}", "{{ input }}")
    server = fake_server()
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(data_dir), "--limit", "2", "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode in (0, 1), proc.stderr  # 1: the fake's answers may be wrong; never a spec error
    assert "error:" not in proc.stderr and server.stats()["requests"] == 2


def test_judge_template_slot_typo_is_named(tmp_path):
    text = (bundled_dir("judges") / "pointwise.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "mine.yaml"
    bad.write_text(text.replace("{{ response }}", "{{ respnse }}", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine.yaml: template: unknown field 'respnse' \(did you mean 'response'\?\)"):
        load_template(str(bad))
    bad.write_text(text + "temprature: 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'temprature' \(did you mean 'temperature'\?\)"):
        load_template(str(bad))


def test_refusal_judge_uses_the_one_schema_and_the_judges_path(tmp_path, monkeypatch):
    text = (bundled_dir("judges") / "refusal.yaml").read_text(encoding="utf-8")
    (tmp_path / "refusal.yaml").write_text(text.replace("{{ prompt }}", "{{ promt }}", 1), encoding="utf-8")
    monkeypatch.setenv("EVALKIT_JUDGES_PATH", str(tmp_path))
    from evalkit.kinds.refusal import load_refusal_template

    with pytest.raises(ConfigError, match=r"unknown field 'promt' \(did you mean 'prompt'\?\)"):
        load_refusal_template("refusal")  # the user's copy wins over the bundled one, and is checked the same way
    assert load_template("pairwise").kind == "pairwise"


def test_gate_config_unknown_key_is_named(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("max_drop: 0.01\nbenchmarks:\n  gsm8k: {max_dorp: 0.02}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gate.yaml: benchmarks.gsm8k: unknown key 'max_dorp' "
                                          r"\(did you mean 'max_drop'\?\); allowed: floor, max_drop, metrics, skip"):
        load_gate_config(path)
    path.write_text("alhpa: 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'alhpa' \(did you mean 'alpha'\?\)"):
        load_gate_config(path)


def test_run_config_unknown_option_is_named():
    from evalkit.config import RunConfig

    with pytest.raises(ConfigError, match=r"unknown key 'concurency' \(did you mean 'concurrency'\?\)"):
        RunConfig.from_options({"concurency": 4})
    assert RunConfig.from_options({"concurrency": 4, "limit": 2}).concurrency == 4


def test_few_shot_example_template_typo_is_named_before_any_call(tmp_path, data_dir, fake_server):
    text = (bundled_dir("benchmarks") / "gsm8k_cot.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "cot.yaml"
    spec.write_text(text.replace('example_template: " {{ target }}"', 'example_template: " {{ traget }}"'))
    server = fake_server()
    proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", str(spec),
                   "--data-dir", str(data_dir), "--limit", "2", "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"{spec}: prompt.example_template: unknown field 'traget' (did you mean 'target'?)" in proc.stderr
    assert server.stats()["requests"] == 0
