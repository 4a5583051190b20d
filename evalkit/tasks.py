"""A Task is a benchmark made ready to run: its spec, its kind, and its loaded samples."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.data.fields import rows_to_samples
from evalkit.data.loading import load_hub, load_local, local_sha256
from evalkit.errors import ConfigError, DataError
from evalkit.kinds.base import Kind, create_kind
from evalkit.kinds.prompting import check_templates
from evalkit.specs.benchmark import BenchmarkSpec, HubSource, LocalSource
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


def load_task(name: str, data_dir: Path | None, limit: int | None = None, **kind_context: object) -> Task:
    spec = get_spec(name)
    samples, source, data = load_samples(spec, data_dir)
    pool = load_fewshot_pool(spec, data_dir, samples)
    kind = create_kind(spec, fewshot_pool=pool, data_dir=data_dir, **kind_context)
    select = getattr(kind, "select_samples", None)  # a kind may keep only the test rows (MBPP ids 11–510)
    if select is not None:
        samples = select(samples)
    if limit is not None:
        samples = samples[:limit]
    if samples:  # a template naming a field the data lacks fails here, before any model call
        check_templates(spec, kind.options, samples[0], pool[0] if pool else None)
    return Task(spec=spec, kind=kind, samples=samples, source=source, data=data)


def prompt_hash(prompts: list[str]) -> str:
    return hashlib.sha256(json.dumps(prompts).encode()).hexdigest()[:16]
