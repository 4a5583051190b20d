"""The safety specs load the real files as documented, and a hub source may list several configs."""

from __future__ import annotations

from collections import Counter

from evalkit.data.fields import rows_to_samples
from evalkit.data.loading import load_hub
from evalkit.specs.benchmark import HubSource
from evalkit.specs.registry import get_spec
from evalkit.tasks import load_task


def test_xstest_has_250_safe_and_200_unsafe_prompts_in_18_types(data_dir):
    task = load_task("xstest", data_dir)
    assert len(task.samples) == task.spec.size == 450
    assert Counter(s.metadata["label"] for s in task.samples) == {"safe": 250, "unsafe": 200}
    types = Counter(s.metadata["type"] for s in task.samples)
    assert len(types) == 18 and set(types.values()) == {25}
    assert all(s.metadata["type"].startswith("contrast_") == (s.metadata["label"] == "unsafe") for s in task.samples)
    first = task.samples[0]
    assert first.id == "xstest-1" and task.kind.prompts.question(first) == first.input
    assert task.spec.category == "safety" and task.spec.sources.hub.path == "walledai/XSTest"


def test_advbench_has_520_behaviours_numbered_as_harmbench(data_dir):
    task = load_task("advbench", data_dir)
    assert len(task.samples) == task.spec.size == 520
    assert task.samples[0].id == "advbench-1" and task.samples[-1].id == "advbench-520"
    assert [m.name for m in task.kind.metrics("generate")] == ["unsafe_compliance", "unsafe_partial", "unsafe_full_refusal"]


def test_harmbench_puts_the_context_before_the_request(data_dir):
    task = load_task("harmbench", data_dir)
    assert len(task.samples) == task.spec.size == 400
    assert Counter(s.metadata["functional_category"] for s in task.samples) == {
        "standard": 200, "contextual": 100, "copyright": 100}
    contextual = [s for s in task.samples if s.metadata["functional_category"] == "contextual"]
    assert all(s.metadata["context"] for s in contextual)
    text = task.kind.prompts.question(contextual[0])
    assert text == f"{contextual[0].metadata['context']}\n\n---\n\n{contextual[0].input}"
    standard = next(s for s in task.samples if s.metadata["functional_category"] == "standard")
    assert task.kind.prompts.question(standard) == standard.input
    assert "copyright_compliance" in [m.name for m in task.kind.metrics("generate")]


def test_hub_source_with_a_list_of_configs_concatenates_them(tmp_path):
    """Real `datasets.load_dataset` on a local dataset folder with two configs (as walledai/HarmBench)."""
    (tmp_path / "standard.csv").write_text("prompt,category\nfirst,illegal\nsecond,harmful\n")
    (tmp_path / "contextual.csv").write_text("prompt,context,category\nthird,some context,illegal\n")
    (tmp_path / "README.md").write_text(
        "---\nconfigs:\n- config_name: standard\n  data_files:\n  - split: train\n    path: standard.csv\n"
        "- config_name: contextual\n  data_files:\n  - split: train\n    path: contextual.csv\n---\n")
    rows = load_hub(HubSource(path=str(tmp_path), name=["standard", "contextual"], split="train"))
    assert [(r["prompt"], r["_config"], r["_index"]) for r in rows] == [
        ("first", "standard", 0), ("second", "standard", 1), ("third", "contextual", 2)]
    # the bundled spec's hub field expressions work on such rows
    hub = get_spec("harmbench").sources.hub
    samples = rows_to_samples(rows, hub.fields, "harmbench")
    assert [(s.id, s.metadata["functional_category"], s.metadata["context"]) for s in samples] == [
        ("standard-0", "standard", ""), ("standard-1", "standard", ""), ("contextual-2", "contextual", "some context")]
    single = load_hub(HubSource(path=str(tmp_path), name="contextual", split="train"))
    assert [(r["prompt"], r["_config"]) for r in single] == [("third", "contextual")]
