"""A live judge audit's inputs: pairs of given responses as samples, and the padding probe's pairs.

The audit itself runs through the runner as an ordinary job (``evalkit.tasks.pair_tasks``): a judged
kind in ``mode: pairs`` asks the model nothing and every ``--judge`` judges the pairs.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.judging.padding import pad
from evalkit.judging.records import PairItem
from evalkit.types import Sample


def pair_samples(items: list[PairItem]) -> list[Sample]:
    """Each pair as a sample whose metadata holds both responses (what a ``mode: pairs`` kind reads)."""
    return [Sample(id=i.id, input=i.prompt, target=i.gold, metadata={
        "response_a": i.response_a, "response_b": i.response_b, "model_a": i.model_a, "model_b": i.model_b,
        "gold": i.gold, "reference": i.reference, "category": i.category}) for i in items]


def padding_items(items: list[PairItem], n: int) -> list[PairItem]:
    """The first ``n`` items' first responses against their padded copies (model_b = the padded one)."""
    return [PairItem(id=i.id, prompt=i.prompt, response_a=i.response_a, response_b=pad(i.response_a),
                     model_a=i.model_a, model_b=f"{i.model_a}+padding", reference=i.reference, category=i.category)
            for i in items[:n]]


def output_dir(path: Path | None, default: str) -> Path:
    if path is not None:
        return path
    from datetime import datetime

    return Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{default}"
