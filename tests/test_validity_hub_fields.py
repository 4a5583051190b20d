"""The specs' hub field mappings give the same samples as their local ones.

Hub ids cannot load here, so rows in each hub dataset's schema are rebuilt from the local files
(cais/mmlu: question, subject, choices, answer as int; truthfulqa/truthful_qa multiple_choice:
mc1_targets/mc2_targets as {choices, labels}; HuggingFaceH4/MATH-500: the same columns as the file).
"""

from __future__ import annotations

import json

from evalkit.data.fields import rows_to_samples
from evalkit.data.loading import load_local
from evalkit.specs.registry import get_spec


def _content(samples):
    return [(s.input, s.target, s.choices, s.metadata) for s in samples]


def _local_and_hub(name, data_dir, to_hub_row):
    spec = get_spec(name)
    local_rows = load_local(spec.sources.local, data_dir)
    local = rows_to_samples([dict(r) for r in local_rows], spec.sources.local.fields or spec.fields, name)
    hub_rows = [dict(to_hub_row(r), _file=spec.sources.hub.split, _index=i) for i, r in enumerate(local_rows)]
    hub = rows_to_samples(hub_rows, spec.sources.hub.fields or spec.fields, name)
    return local, hub


def test_mmlu_hub_mapping(data_dir):
    def to_hub(row):
        return {"question": row["question"], "subject": row["_file"].removesuffix("_test"),
                "choices": [row[f"choice{i}"] for i in range(4)], "answer": int(row["answer"])}

    local, hub = _local_and_hub("mmlu", data_dir, to_hub)
    assert _content(local) == _content(hub)
    assert [s.id for s in local] == [s.id for s in hub]  # same order → same ids


def test_mmlu_hub_fewshot_mapping(data_dir):
    spec = get_spec("mmlu")
    rows = load_local(spec.fewshot.local, data_dir)
    local = rows_to_samples([dict(r) for r in rows], spec.fields, "dev")
    hub_rows = [{"question": r["question"], "subject": r["_file"].removesuffix("_dev"),
                 "choices": [r[f"choice{i}"] for i in range(4)], "answer": int(r["answer"]), "_file": "dev",
                 "_index": i} for i, r in enumerate(rows)]
    hub = rows_to_samples(hub_rows, spec.fewshot.hub.fields, "dev")
    assert _content(local) == _content(hub) and [s.id for s in local] == [s.id for s in hub]


def _truthfulqa_hub(row):
    return {"question": row["question"],
            "mc1_targets": {"choices": list(row["mc1_targets"]), "labels": list(row["mc1_targets"].values())},
            "mc2_targets": {"choices": list(row["mc2_targets"]), "labels": list(row["mc2_targets"].values())}}


def test_truthfulqa_hub_mappings(data_dir):
    for name in ("truthfulqa_mc1", "truthfulqa_mc2"):
        local, hub = _local_and_hub(name, data_dir, _truthfulqa_hub)
        assert _content(local) == _content(hub), name
    mc1 = _local_and_hub("truthfulqa_mc1", data_dir, _truthfulqa_hub)[1]
    rows = json.loads((data_dir / "truthfulqa" / "mc_task.json").read_text(encoding="utf-8-sig"))
    # the target is the upstream-first (true) answer, wherever sorting put it
    assert all(s.choices[s.target] == next(iter(r["mc1_targets"])) for s, r in zip(mc1, rows))
    assert sum(s.target == 0 for s in mc1) < len(mc1) / 2  # no longer always option A


def test_math500_hub_mapping(data_dir):
    local, hub = _local_and_hub("math500", data_dir, lambda r: {k: v for k, v in r.items() if not k.startswith("_")})
    assert _content(local) == _content(hub) and [s.id for s in local] == [s.id for s in hub]
