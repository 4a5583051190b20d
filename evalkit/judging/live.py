"""Audit a judge live: judge pairs (and their padding probes) through the runner's judge stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig
from evalkit.judging.padding import pad
from evalkit.judging.records import PairItem
from evalkit.kinds.base import Scored
from evalkit.kinds.judged import JudgedKind
from evalkit.specs.benchmark import BenchmarkSpec, Sources
from evalkit.types import Sample


def _scored(items: list[PairItem]) -> list[Scored]:
    samples = [Sample(id=i.id, input=i.prompt, target=i.gold, metadata={
        "response_a": i.response_a, "response_b": i.response_b, "model_a": i.model_a, "model_b": i.model_b,
        "gold": i.gold, "reference": i.reference, "category": i.category}) for i in items]
    return [Scored(sample=s, prompt=s.input, output=None, scores={}) for s in samples]


def padding_items(items: list[PairItem], n: int) -> list[PairItem]:
    """The first ``n`` items' first responses against their padded copies (model_b = the padded one)."""
    return [PairItem(id=i.id, prompt=i.prompt, response_a=i.response_a, response_b=pad(i.response_a),
                     model_a=i.model_a, model_b=f"{i.model_a}+padding", reference=i.reference, category=i.category)
            for i in items[:n]]


async def judge_pairs(config: RunConfig, name: str, items: list[PairItem], padding: int) -> list[dict[str, Any]]:
    """Judgment rows for ``items`` (and ``padding`` probe pairs, always in both orders) from every judge."""
    from evalkit.runner import Runner

    runner = Runner(config)
    runner.rundir.create()
    stats: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    jobs = [(items, {}, config)]
    if padding:
        jobs.append((padding_items(items, padding), {"probe": "padding"}, dataclasses.replace(config, judge_swap=True)))
    for batch, extra, job_config in jobs:
        spec = BenchmarkSpec(name=name, category="general", kind="judged", sources=Sources(),
                             options={"mode": "pairs", **extra})
        kind = JudgedKind(spec, config=job_config)
        await runner.judge(kind, _scored(batch), stats)
        rows.extend(kind.judgment_rows())
    return rows


def output_dir(path: Path | None, default: str) -> Path:
    if path is not None:
        return path
    from datetime import datetime

    return Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{default}"
