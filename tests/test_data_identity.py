"""Reproducible sources: hub specs pin a dataset commit, the loader passes it on, the manifest records what
pinned the data (revision or local sha256), and the gate refuses to compare runs on different data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import gsm8k_answers, run_cli

from evalkit.errors import ConfigError
from evalkit.specs.benchmark import HubSource
from evalkit.specs.registry import available_specs, get_spec

# hub datasets whose commit could not be verified from public sources offline (docs/benchmark-spec.md):
# they stay unpinned rather than pinned to a guessed commit, and the gate warns when comparing them
UNPINNED = {"alpaca_eval", "harmbench", "mt_bench"}


def _hubs(name: str) -> list[HubSource]:
    spec = get_spec(name)
    return [h for h in (spec.sources.hub, spec.fewshot.hub) if h is not None]


def test_every_hub_source_pins_a_commit():
    pinned, unpinned = set(), set()
    for name in available_specs():
        for hub in _hubs(name):
            (pinned if hub.revision else unpinned).add(name)
    assert unpinned == UNPINNED  # a newly pinned spec leaves this list; a new spec must pin or say why
    assert {"gsm8k", "mmlu", "arc_challenge", "humaneval", "xstest"} <= pinned


def test_a_branch_name_is_not_a_revision(tmp_path):
    text = (Path(get_spec("gsm8k").path)).read_text(encoding="utf-8")
    spec = tmp_path / "copy.yaml"
    spec.write_text(text.replace("revision: cc7b047b6e5bb11b4f1af84efc572db110a51b3c", "revision: main"))
    with pytest.raises(ConfigError, match=r"copy.yaml: sources.hub.revision: String should match pattern"):
        get_spec(str(spec))


def test_the_loader_passes_the_revision(monkeypatch):
    """The hub cannot be reached here: ``datasets.load_dataset`` is replaced by a recorder of its arguments."""
    import datasets

    from evalkit.data.loading import load_hub

    calls = []
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda *args, **kwargs: calls.append((args, kwargs)) or [{"question": "q", "answer": "1"}])
    hub = get_spec("gsm8k").sources.hub
    rows = load_hub(hub)
    assert calls == [(("openai/gsm8k", "main"), {"split": "test", "revision": hub.revision})]
    assert rows[0]["question"] == "q"


def test_different_local_data_is_not_comparable_in_the_gate(tmp_path, data_dir, fake_server):
    """Two copies of GSM8K that differ only in a column no field reads: every prompt and target is the
    same, yet the data is not, and the manifest's sha256 makes the gate say so."""
    other = tmp_path / "other"
    (other / "gsm8k").mkdir(parents=True)
    shutil.copy(data_dir / "gsm8k" / "test.jsonl", other / "gsm8k" / "test.jsonl")
    lines = (other / "gsm8k" / "test.jsonl").read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "note": "edited copy"})
    (other / "gsm8k" / "test.jsonl").write_text("\n".join(lines) + "\n")
    server = fake_server("--answers", str(gsm8k_answers(data_dir, tmp_path / "answers.jsonl")))
    runs = {}
    for name, root in (("base", data_dir), ("same", data_dir), ("edited", other)):
        runs[name] = tmp_path / name
        proc = run_cli("run", "--model", "openai:fake", "--base-url", server.base_url, "--benchmark", "gsm8k",
                       "--limit", "20", "--data-dir", str(root), "--out", str(runs[name]), "-q")
        assert proc.returncode == 0, proc.stderr
    fingerprints = {n: json.loads((p / "manifest.json").read_text())["benchmarks"]["gsm8k"] for n, p in runs.items()}
    assert len(fingerprints["base"]["data_sha256"]) == 64
    assert fingerprints["base"]["data_sha256"] == fingerprints["same"]["data_sha256"]
    assert fingerprints["base"]["data_sha256"] != fingerprints["edited"]["data_sha256"]
    ok = run_cli("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["same"]))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("gate", "--baseline", str(runs["base"]), "--candidate", str(runs["edited"]))
    assert bad.returncode == 1 and "data differs: data_sha256" in bad.stdout, bad.stdout + bad.stderr
