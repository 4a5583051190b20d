"""A Task is a benchmark made ready to run: its spec, its kind, and its loaded samples."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig
from evalkit.data.fields import rows_to_samples
from evalkit.data.loading import load_hub, load_local, local_sha256
from evalkit.errors import ConfigError, DataError
from evalkit.judging.live import pair_samples
from evalkit.judging.records import PairItem
from evalkit.kinds.base import JudgeSettings, Kind, KindContext, create_kind
from evalkit.kinds.prompting import check_templates
from evalkit.specs.benchmark import BenchmarkSpec, HubSource, LocalSource, Sources
from evalkit.specs.overrides import SpecOverrides, apply_overrides
from evalkit.specs.registry import get_spec
from evalkit.types import Sample


@dataclass
class Task:
    spec: BenchmarkSpec
    kind: Kind
    samples: list[Sample]
    source: str  # "local:<path>" or "hub:<id>", for the manifest
    data: dict[str, str] = field(default_factory=dict)  # {"revision": …} (hub) or {"data_sha256": …} (local)

    def fingerprint(self) -> dict[str, object]:
        """What the gate compares to decide two runs are comparable."""
        spec_text = self.spec.model_dump_json(exclude={"path"})
        return {
            "version": self.spec.version,
            "spec_sha256": hashlib.sha256(spec_text.encode()).hexdigest()[:16],
            "fewshot_seed": self.spec.fewshot.seed,
            "fewshot_k": self.spec.fewshot.k,
            "n_samples": len(self.samples),
            "source": self.source,
            **self.data,
        }


Loaded = tuple[list[Sample], str, dict[str, str]]  # samples, where from, what pins the data


def _samples_from(hub: HubSource | None, local: LocalSource | None, fields: dict[str, str],
                  data_dir: Path | None, where: str) -> Loaded:
    if data_dir is not None and local is not None:
        rows = load_local(local, data_dir)
        return (rows_to_samples(rows, local.fields or fields, where), f"local:{data_dir / local.files}",
                {"data_sha256": local_sha256(local, data_dir)})
    if hub is not None:
        return (rows_to_samples(load_hub(hub), hub.fields or fields, where), f"hub:{hub.path}",
                {"revision": hub.revision or "unpinned"})
    if local is not None:
        raise DataError(f"{where}: this benchmark has no hub source; pass --data-dir with {local.files}")
    raise ConfigError(f"{where}: the spec names no data source")


def load_samples(spec: BenchmarkSpec, data_dir: Path | None) -> Loaded:
    return _samples_from(spec.sources.hub, spec.sources.local, spec.fields, data_dir, spec.where)


def load_fewshot_pool(spec: BenchmarkSpec, data_dir: Path | None, test: list[Sample]) -> list[Sample]:
    fewshot = spec.fewshot
    if fewshot.k <= 0:
        return []
    if fewshot.fixed is not None:
        rows = [dict(row, _index=i, _file="fixed") for i, row in enumerate(fewshot.fixed)]
        return rows_to_samples(rows, spec.fields, f"{spec.where} few-shot")
    if fewshot.split == "same":
        return test
    samples, _, _ = _samples_from(fewshot.hub, fewshot.local, spec.fields, data_dir, f"{spec.where} few-shot")
    return samples


def kind_context(config: RunConfig | None, fewshot_pool: list[Sample], data_dir: Path | None) -> KindContext:
    """What a kind may know of the run (``config`` None: built outside a run, no environment checks)."""
    if config is None:
        return KindContext(fewshot_pool=fewshot_pool, data_dir=data_dir)
    judge = JudgeSettings(judges=tuple(config.judges), swap=config.judge_swap, policy=config.judge_policy,
                          jury=config.jury, template=config.judge_template, criteria=config.judge_criteria,
                          candidate=config.candidate_name or config.model or "model")
    return KindContext(fewshot_pool=fewshot_pool, data_dir=data_dir, seed=config.seed,
                       samples_per_task=config.samples_per_task, allow_code_execution=config.allow_code_execution,
                       temperature=config.backend.temperature,
                       replayed=(config.model or "").startswith("predictions:"), judge=judge, preflight=True,
                       ray_cluster=(config.ray_address or "auto") if config.executor == "ray" else None)



def stratified(samples: list[Sample], limit: int, group_by: str | None) -> list[Sample]:
    """The first ``limit`` samples taken one group at a time (group order as in the data), so ``--limit 20``
    on MMLU covers 20 subjects rather than the first subject's first 20 items; without groups, the first."""
    if group_by is None:
        return samples[:limit]
    groups: dict[object, list[Sample]] = {}
    for sample in samples:
        key = sample.metadata.get(group_by)
        groups.setdefault(key if isinstance(key, (str, int, float, bool, type(None))) else str(key), []).append(sample)
    picked: list[Sample] = []
    for depth in range(max(len(g) for g in groups.values()) if groups else 0):
        for members in groups.values():
            if depth < len(members):
                picked.append(members[depth])
                if len(picked) == limit:
                    break
        if len(picked) == limit:
            break
    order = {id(s): i for i, s in enumerate(samples)}
    return sorted(picked, key=lambda s: order[id(s)])



def load_task(name: str, data_dir: Path | None, limit: int | None = None,
              overrides: SpecOverrides | None = None, config: RunConfig | None = None) -> Task:
    spec = get_spec(name)
    if overrides is not None:
        spec = apply_overrides(spec, overrides)
    samples, source, data = load_samples(spec, data_dir)
    pool = load_fewshot_pool(spec, data_dir, samples)
    kind = create_kind(spec, kind_context(config, pool, data_dir))
    samples = kind.select_samples(samples)  # a kind may keep only the test rows (MBPP ids 11–510)
    if limit is not None:
        samples = stratified(samples, limit, kind.options.group_by)
    if samples:  # a template naming a field the data lacks fails here, before any model call
        check_templates(spec, kind.options, samples[0], pool[0] if pool else None)
    return Task(spec=spec, kind=kind, samples=samples, source=source, data=data)


def pair_tasks(name: str, items: list[PairItem], padding: list[PairItem], config: RunConfig) -> list[Task]:
    """A live judge audit as ordinary jobs: the pairs (and the padding probe, always in both orders)
    judged by every --judge; the model is asked nothing (``mode: pairs``)."""
    jobs: list[tuple[str, list[PairItem], dict[str, Any], RunConfig]] = [(name, items, {}, config)]
    if padding:
        jobs.append((f"{name}-padding", padding, {"probe": "padding"}, dataclasses.replace(config, judge_swap=True)))
    tasks = []
    for job_name, batch, extra, job_config in jobs:
        spec = BenchmarkSpec(name=job_name, category="general", kind="judged", sources=Sources(),
                             options={"mode": "pairs", **extra})
        kind = create_kind(spec, kind_context(job_config, [], None))
        tasks.append(Task(spec=spec, kind=kind, samples=pair_samples(batch), source=f"pairs:{name}"))
    return tasks


def prompt_hash(prompts: list[str]) -> str:
    return hashlib.sha256(json.dumps(prompts).encode()).hexdigest()[:16]
